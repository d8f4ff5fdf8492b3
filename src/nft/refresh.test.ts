import { describe, expect, it } from 'vitest';
import type { Config, Rule, TriggerTable } from '../domain/types.js';
import { DEFAULT_CONNTRACK_TIMEOUTS, parseConntrackListing } from './conntrack-state.js';
import { planConfig, sharedSetName } from './plan.js';
import { planRefresh } from './refresh.js';

const rule = (over: Partial<Rule> & { name: string }): Rule => ({
  enabled: true,
  family: 'both',
  trigger: [{ protocol: 'tcp', ports: '6970' }],
  open: [{ protocol: 'udp', ports: '7000-7010' }],
  idleTimeout: 10,
  lanHosts: 'any',
  remote: 'any',
  onExpire: 'keep',
  ...over,
});
const config = (rules: Rule[]): Config => ({
  interfaces: { lan: ['br-lan'], wan: ['wan0'] },
  mode: 'standalone',
  enabled: true,
  ipv6: true,
  rules,
});
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
