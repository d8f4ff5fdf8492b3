import { describe, expect, it } from 'vitest';
import type { Config, Rule } from '../core/types.js';
import { planConfig } from './plan.js';
import { readTriggerTable } from './read-back.js';
import { planSeeds } from './seeds.js';
import { parseKernelState } from './state.js';

const rule = (over: Partial<Rule> & { name: string }): Rule => ({
  enabled: true,
  family: 'ipv4',
  trigger: [{ protocol: 'tcp', ports: '6970' }],
  open: [{ protocol: 'udp', ports: '7000' }],
  idleTimeout: 600,
  lanHosts: 'any',
  remote: 'any',
  onExpire: 'keep',
  ...over,
});
const config = (rules: Rule[]): Config => ({
  interfaces: { lan: ['br-lan'], wan: ['wan0'] },
  mode: 'companion',
  enabled: true,
  ipv6: true,
  rules,
});

// The shapes nft 1.0.6 prints for `nft -j list sets table inet porttrigger`.
function listing(sets: { name: string; elem?: unknown[] }[]) {
  return {
    nftables: [
      { metainfo: { version: '1.0.6', json_schema_version: 1 } },
      ...sets.map((s) => ({
        set: { family: 'inet', table: 'porttrigger', type: 'ipv4_addr', timeout: 600, ...s },
      })),
      { set: { family: 'inet', table: 'other', name: 'h4_x', elem: ['1.1.1.1'] } },
    ],
  };
}
const state = (sets: { name: string; elem?: unknown[] }[]) =>
  parseKernelState({ sets: listing(sets), maps: { nftables: [] }, chains: { nftables: [] } });

describe('readTriggerTable', () => {
  const plan = planConfig(
    config([
      rule({ name: 'game' }),
      rule({ name: 'p2p', remote: 'contacted', open: [{ protocol: 'udp', ports: '9' }] }),
    ]),
  );
  const [game, p2p] = plan.rules;

  it('turns holder, pair and record sets into the trigger table', () => {
    const kernel = state([
      { name: game!.entrySets.h!, elem: [{ elem: { val: '192.168.1.10', expires: 499 } }] },
      {
        name: p2p!.entrySets.p!,
        elem: [{ elem: { val: { concat: ['203.0.113.10', '192.168.1.20'] }, expires: 30 } }],
      },
      { name: game!.conflictSet, elem: [{ elem: { val: '192.168.1.20', expires: 50 } }] },
      { name: p2p!.blockedSet, elem: [{ elem: { val: '192.168.1.30', expires: 60 } }] },
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

  it('ignores sets of other tables and sets the plan does not know', () => {
    const kernel = state([
      { name: 'h4_00000000_00000000', elem: [{ elem: { val: '10.0.0.1', expires: 5 } }] },
    ]);
    expect(readTriggerTable(plan, kernel, 0).entries).toEqual([]);
  });

  it('refuses output that is not nft JSON', () => {
    expect(() => parseKernelState({ sets: { rules: [] }, maps: {}, chains: {} })).toThrow(/nftables/);
  });
});

describe('planSeeds', () => {
  const before = planConfig(config([rule({ name: 'game' })])).rules[0]!;
  const kernel = state([
    { name: before.entrySets.h!, elem: [{ elem: { val: '192.168.1.10', expires: 400 } }] },
  ]);

  it('carries an entry into the re-created sets of a changed timeout, capped at the new timeout', () => {
    const plan = planConfig(config([rule({ name: 'game', idleTimeout: 300 })]));
    const r = plan.rules[0]!;
    expect(planSeeds(plan, kernel)).toEqual([
      { set: r.entrySets.h, key: '192.168.1.10', timeoutMs: 300_000, expiresMs: 300_000 },
      { set: r.entrySets.d, key: 'ipv4', value: '192.168.1.10', timeoutMs: 300_000, expiresMs: 300_000 },
    ]);
  });

  it('drops holders that lanHosts no longer allows', () => {
    const plan = planConfig(config([rule({ name: 'game', lanHosts: ['192.168.1.20'] })]));
    expect(planSeeds(plan, kernel)).toEqual([]);
  });

  it('seeds nothing when the open ports changed (a different entry identity)', () => {
    const plan = planConfig(
      config([rule({ name: 'game', idleTimeout: 300, open: [{ protocol: 'udp', ports: '7001' }] })]),
    );
    expect(planSeeds(plan, kernel)).toEqual([]);
  });

  it('seeds nothing for sets that still exist: the kernel kept their elements', () => {
    expect(planSeeds(planConfig(config([rule({ name: 'game' })])), kernel)).toEqual([]);
  });

  it('restores a remembered table when the kernel lost the table', () => {
    const plan = planConfig(config([rule({ name: 'game' })]));
    const remembered = {
      at: 0,
      entries: [{ rule: 'game', family: 'ipv4' as const, holder: '192.168.1.10', expiresAt: 5000 }],
      conflicts: [],
      blocked: [],
    };
    expect(planSeeds(plan, parseKernelState(null), remembered).map((s) => [s.key, s.expiresMs])).toEqual([
      ['192.168.1.10', 5000],
      ['ipv4', 5000],
    ]);
  });
});
