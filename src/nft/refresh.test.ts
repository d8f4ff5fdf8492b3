import { describe, expect, it } from 'vitest';
import { config as baseConfig, rule as baseRule } from '../../test/factories.js';
import type { Config, Rule, TriggerTable } from '../domain/types.js';
import { DEFAULT_CONNTRACK_TIMEOUTS, parseConntrackListing } from './conntrack-state.js';
import { planConfig, sharedSetName } from './plan.js';
import { entriesFromConnections, planRefresh } from './refresh.js';

const rule = (over: Partial<Rule> & { name: string }): Rule =>
  baseRule({ open: [{ protocol: 'udp', ports: '7000-7010' }], idleTimeout: 10, ...over });
const config = (rules: Rule[]): Config => baseConfig(rules, { mode: 'standalone' });
const NOW = 1_000_000;
const H1 = '192.168.1.10';
const R1 = '203.0.113.10';
const inbound = (timeout: number, holder = H1, dport = 7000) =>
  `ipv4 2 udp 17 ${timeout} src=${R1} dst=198.51.100.1 sport=40000 dport=${dport} src=${holder} dst=${R1} sport=${dport} dport=40000 [ASSURED] mark=201326592 use=1 id=1`;
const tableWith = (expiresInMs: number, holder = H1): TriggerTable => ({
  at: NOW,
  entries: [{ rule: 'game', family: 'ipv4', holder, expiresAt: NOW + expiresInMs }],
  conflicts: [],
  blocked: [],
});

describe('planRefresh', () => {
  const plan = planConfig(config([rule({ name: 'game' })]));

  it('moves the expiry to the last packet + idleTimeout, counting the last packet up to a second late', () => {
    const refresh = planRefresh(
      plan,
      tableWith(2000),
      parseConntrackListing(inbound(118)),
      DEFAULT_CONNTRACK_TIMEOUTS,
      NOW,
    );
    // Age 2 s (120 - 118), counted as 1 s: the entry closes 9 s from now.
    expect(refresh.extensions.map((x) => x.expiresAt - NOW)).toEqual([9000]);
    expect(refresh.elements.map((e) => `${e.set} ${e.key} ${e.expiresMs}`)).toEqual([
      `${sharedSetName('target', 'ipv4', plan.rules[0]!.id)} ${plan.rules[0]!.id} 9000`,
      `hold4 ${plan.rules[0]!.id} . ${H1} 9000`,
      `held4 ${plan.rules[0]!.id} 9000`,
    ]);
  });

  it('leaves an entry alone when its connections were silent for longer than it has left', () => {
    const refresh = planRefresh(
      plan,
      tableWith(5000),
      parseConntrackListing(inbound(100)),
      DEFAULT_CONNTRACK_TIMEOUTS,
      NOW,
    );
    expect(refresh.extensions).toEqual([]);
  });

  it('never moves an expiry back below what an earlier refresh set', () => {
    const known = new Map([[`game\u0000ipv4\u0000${H1}\u0000`, NOW + 9500]]);
    const refresh = planRefresh(
      plan,
      tableWith(8000),
      parseConntrackListing(inbound(118)),
      DEFAULT_CONNTRACK_TIMEOUTS,
      NOW,
      known,
    );
    expect(refresh.extensions).toEqual([]);
  });

  it('ignores connections of another holder, port or an entry that is gone', () => {
    const others = [inbound(120, '192.168.1.20'), inbound(120, H1, 7100)].join('\n');
    expect(
      planRefresh(plan, tableWith(1000), parseConntrackListing(others), DEFAULT_CONNTRACK_TIMEOUTS, NOW)
        .extensions,
    ).toEqual([]);
    const empty = { ...tableWith(0), entries: [] };
    expect(
      planRefresh(plan, empty, parseConntrackListing(inbound(120)), DEFAULT_CONNTRACK_TIMEOUTS, NOW).elements,
    ).toEqual([]);
  });
});

describe('entriesFromConnections', () => {
  const plan = planConfig(
    config([
      rule({ name: 'game' }),
      rule({
        name: 'call',
        remote: 'contacted',
        trigger: [{ protocol: 'udp', ports: '5060' }],
        open: [{ protocol: 'udp', ports: '8000' }],
      }),
    ]),
  );
  // A trigger connection: marked ours and notify, not inbound. TCP in SYN_SENT (120 s), UDP unreplied (30 s).
  const tcpTrigger = (timeout: number, holder = H1, dport = 6970) =>
    `ipv4 2 tcp 6 ${timeout} SYN_SENT src=${holder} dst=${R1} sport=40000 dport=${dport} [UNREPLIED] src=${R1} dst=198.51.100.1 sport=${dport} dport=40000 mark=150994944 use=1 id=2`;
  const udpTrigger = (timeout: number, holder = H1) =>
    `ipv4 2 udp 17 ${timeout} src=${holder} dst=${R1} sport=40001 dport=5060 [UNREPLIED] src=${R1} dst=198.51.100.1 sport=5060 dport=40001 mark=150994944 use=1 id=3`;

  it('re-derives the entries that fresh trigger connections show, with the expiry the refresh rule gives', () => {
    const entries = entriesFromConnections(
      plan,
      parseConntrackListing([tcpTrigger(118), udpTrigger(29)].join('\n')),
      DEFAULT_CONNTRACK_TIMEOUTS,
      NOW,
    );
    expect(entries).toEqual([
      { rule: 'game', family: 'ipv4', holder: H1, expiresAt: NOW - 1000 + 10_000 },
      { rule: 'call', family: 'ipv4', holder: H1, remote: R1, expiresAt: NOW + 10_000 },
    ]);
  });

  it('ignores inbound connections, stale triggers, and gives a rule the holder that sent last', () => {
    const H2 = '192.168.1.20';
    const entries = entriesFromConnections(
      plan,
      parseConntrackListing(
        [inbound(118), tcpTrigger(100), tcpTrigger(115, H2), tcpTrigger(119, H1, 6971)].join('\n'),
      ),
      DEFAULT_CONNTRACK_TIMEOUTS,
      NOW,
    );
    // H1's trigger is 20 s old (past the 10 s idle timeout); H2's 5 s; port 6971 is no trigger port.
    expect(entries).toEqual([{ rule: 'game', family: 'ipv4', holder: H2, expiresAt: NOW - 4000 + 10_000 }]);
  });
});
