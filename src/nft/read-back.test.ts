import { describe, expect, it } from 'vitest';
import { config as baseConfig, rule as baseRule } from '../../test/factories.js';
import type { Config, Rule } from '../domain/types.js';
import { planConfig, sharedSetName } from './plan.js';
import { readBackSetNames, readTriggerTable } from './read-back.js';
import { planEntryChanges } from './seeds.js';
import { parseKernelState } from './state.js';

const rule = (over: Partial<Rule> & { name: string }): Rule =>
  baseRule({ family: 'ipv4', idleTimeout: 600, ...over });
const config = (rules: Rule[]): Config => baseConfig(rules);

// The shapes nft 1.0.6 prints for `nft -j list sets table inet porttrigger`.
function listing(sets: { name: string; elem?: unknown[] }[]) {
  return {
    nftables: [
      { metainfo: { version: '1.0.6', json_schema_version: 1 } },
      ...sets.map((s) => ({ set: { family: 'inet', table: 'porttrigger', type: 'integer', ...s } })),
      {
        set: {
          family: 'inet',
          table: 'other',
          name: 'hold4',
          elem: [{ elem: { val: { concat: [1, '1.1.1.1'] } } }],
        },
      },
    ],
  };
}
const state = (sets: { name: string; elem?: unknown[] }[]) =>
  parseKernelState({ sets: listing(sets), maps: { nftables: [] }, chains: { nftables: [] } });
const el = (val: unknown, expires: number) => ({ elem: { val, expires } });
const cat = (...parts: unknown[]) => ({ concat: parts });

describe('readTriggerTable', () => {
  const plan = planConfig(
    config([
      rule({ name: 'game' }),
      rule({ name: 'p2p', remote: 'contacted', open: [{ protocol: 'udp', ports: '9' }] }),
    ]),
  );
  const [game, p2p] = plan.rules;

  it('turns the shared entry and record sets into the trigger table', () => {
    const kernel = state([
      { name: 'hold4', elem: [el(cat(game!.id, '192.168.1.10'), 499)] },
      { name: 'pair4', elem: [el(cat(p2p!.id, '203.0.113.10', '192.168.1.20'), 30)] },
      { name: 'conflict4', elem: [el(cat(game!.id, '192.168.1.20'), 50)] },
      { name: 'blocked4', elem: [el(cat(p2p!.id, '192.168.1.30'), 60)] },
    ]);
    const table = readTriggerTable(plan, kernel, 1_000_000);
    expect(table.entries).toEqual([
      { rule: 'game', family: 'ipv4', holder: '192.168.1.10', expiresAt: 1_499_000 },
      { rule: 'p2p', family: 'ipv4', holder: '192.168.1.20', remote: '203.0.113.10', expiresAt: 1_030_000 },
    ]);
    expect(table.conflicts).toEqual([
      { rule: 'game', family: 'ipv4', contender: '192.168.1.20', holder: '192.168.1.10', at: 990_000 },
    ]);
    expect(table.blocked).toEqual([{ rule: 'p2p', family: 'ipv4', host: '192.168.1.30', at: 1_000_000 }]);
  });

  it('ignores other tables and numbers of rules the plan does not have', () => {
    const kernel = state([{ name: 'hold4', elem: [el(cat(12345, '10.0.0.1'), 5)] }]);
    expect(readTriggerTable(plan, kernel, 0).entries).toEqual([]);
  });

  it('reads the same table from the sets readBackSetNames names alone', () => {
    const wide = planConfig({
      ...config([
        rule({ name: 'game', family: 'both', lanHosts: ['192.168.1.0/24', '2001:db8::/64'] }),
        rule({ name: 'p2p', family: 'both', remote: 'contacted', open: [{ protocol: 'udp', ports: '9' }] }),
      ]),
    });
    const id = (name: string, family: string) =>
      wide.rules.find((r) => r.rule.name === name && r.family === family)!.id;
    const sets = [
      { name: 'held4', elem: [el(id('game', 'ipv4'), 100)] },
      { name: 'hold4', elem: [el(cat(id('game', 'ipv4'), '192.168.1.10'), 100)] },
      { name: 'hold6', elem: [el(cat(id('game', 'ipv6'), '2001:0db8:0:0::0010'), 100)] },
      { name: 'pair4', elem: [el(cat(id('p2p', 'ipv4'), '203.0.113.10', '192.168.1.20'), 30)] },
      { name: 'taken4', elem: [el(cat(id('p2p', 'ipv4'), '203.0.113.10'), 30)] },
      { name: 'pair6', elem: [el(cat(id('p2p', 'ipv6'), '2001:db8:99::1', '2001:db8::20'), 30)] },
      { name: 'conflict4', elem: [el(cat(id('game', 'ipv4'), '192.168.1.30'), 50)] },
      { name: 'rconflict6', elem: [el(cat(id('p2p', 'ipv6'), '2001:db8::30', '2001:db8:99::1'), 50)] },
      { name: 'blocked4', elem: [el(cat(id('game', 'ipv4'), '10.0.0.1'), 50)] },
      { name: 'blocked6', elem: [el(cat(id('game', 'ipv6'), '2001:db8:5::1'), 50)] },
    ];
    const names = readBackSetNames(wide);
    expect(names).toEqual(
      ['blocked4', 'blocked6', 'conflict4', 'conflict6', 'hold4', 'hold6', 'pair4', 'pair6'].concat([
        'rconflict4',
        'rconflict6',
      ]),
    );
    const all = readTriggerTable(wide, state(sets), 1_000_000);
    const only = readTriggerTable(wide, state(sets.filter((x) => names.includes(x.name))), 1_000_000);
    expect(only).toEqual(all);
    expect(all.entries.map((e) => e.holder)).toEqual([
      '192.168.1.10',
      '2001:db8::10',
      '192.168.1.20',
      '2001:db8::20',
    ]);
    expect(all.conflicts.map((c) => c.holder)).toEqual(['192.168.1.10', '2001:db8::20']);
    expect(all.blocked).toHaveLength(2);
  });

  it('refuses output that is not nft JSON', () => {
    expect(() => parseKernelState({ sets: { rules: [] }, maps: {}, chains: {} })).toThrow(/nftables/);
  });
});

describe('planEntryChanges', () => {
  const before = planConfig(config([rule({ name: 'game' })])).rules[0]!;
  const target = sharedSetName('target', 'ipv4', before.id);
  const kernel = state([{ name: 'hold4', elem: [el(cat(before.id, '192.168.1.10'), 400)] }]);
  const ops = (c: ReturnType<typeof planEntryChanges>) =>
    c.elements.map(
      (e) =>
        `${e.timeoutMs === undefined ? 'delete' : 'add'} ${e.set} ${e.key}${e.value ? ` : ${e.value}` : ''}${e.expiresMs ? ` ${e.expiresMs}` : ''}`,
    );

  it('leaves unchanged rules alone: the shared sets keep their elements', () => {
    const c = planEntryChanges(planConfig(config([rule({ name: 'game' })])), kernel);
    expect(c).toEqual({ elements: [], kept: 1, dropped: 0 });
  });

  it('caps the remaining time at a shorter new timeout', () => {
    const c = planEntryChanges(planConfig(config([rule({ name: 'game', idleTimeout: 300 })])), kernel);
    expect(ops(c)).toEqual([
      `delete ${target} ${before.id}`,
      `delete hold4 ${before.id} . 192.168.1.10`,
      `delete held4 ${before.id}`,
      `add ${target} ${before.id} : 192.168.1.10 300000`,
      `add hold4 ${before.id} . 192.168.1.10 300000`,
      `add held4 ${before.id} 300000`,
    ]);
    expect(c.kept).toBe(1);
  });

  it('moves the DNAT targets of kept entries out of the one map of an earlier layout', () => {
    const legacy = parseKernelState({
      sets: listing([{ name: 'hold4', elem: [el(cat(before.id, '192.168.1.10'), 400)] }]),
      maps: { nftables: [{ map: { family: 'inet', table: 'porttrigger', name: 'target4' } }] },
      chains: { nftables: [] },
    });
    const kept = planEntryChanges(planConfig(config([rule({ name: 'game' })])), legacy);
    expect(ops(kept)).toEqual([`add ${target} ${before.id} : 192.168.1.10 400000`]);
    const capped = planEntryChanges(planConfig(config([rule({ name: 'game', idleTimeout: 300 })])), legacy);
    expect(ops(capped).filter((o) => o.includes(target!))).toEqual([
      `add ${target} ${before.id} : 192.168.1.10 300000`,
    ]);
    expect(kept.kept + capped.kept).toBe(2);
  });

  it('drops holders that lanHosts no longer allows', () => {
    const c = planEntryChanges(
      planConfig(config([rule({ name: 'game', lanHosts: ['192.168.1.20'] })])),
      kernel,
    );
    expect(c.kept).toBe(0);
    expect(c.dropped).toBe(1);
    expect(ops(c).every((o) => o.startsWith('delete'))).toBe(true);
  });

  it('drops entries of rules whose open ports changed (a new number)', () => {
    const c = planEntryChanges(
      planConfig(config([rule({ name: 'game', open: [{ protocol: 'udp', ports: '7001' }] })])),
      kernel,
    );
    expect({ kept: c.kept, dropped: c.dropped }).toEqual({ kept: 0, dropped: 1 });
  });

  it('restores a remembered table when the kernel lost the table', () => {
    const plan = planConfig(config([rule({ name: 'game' })]));
    const remembered = {
      at: 0,
      entries: [{ rule: 'game', family: 'ipv4' as const, holder: '192.168.1.10', expiresAt: 5000 }],
      conflicts: [],
      blocked: [],
    };
    const c = planEntryChanges(plan, parseKernelState(null), remembered, 1000);
    expect(ops(c)).toEqual([
      `add ${target} ${before.id} : 192.168.1.10 4000`,
      `add hold4 ${before.id} . 192.168.1.10 4000`,
      `add held4 ${before.id} 4000`,
    ]);
  });
});
