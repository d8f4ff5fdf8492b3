import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { config as baseConfig, rule as baseRule } from '../../test/factories.js';
import type { Config, Rule, TriggerEntry } from '../domain/types.js';
import { planConfig, sharedSetName } from './plan.js';
import { readTriggerTable } from './read-back.js';
import type { SeedElement } from './render.js';
import { renderElementScript } from './render.js';
import { planEntryChanges, releaseElements, withElementChanges } from './seeds.js';
import { parseKernelState } from './state.js';

const IDLE_S = 600;
const rule = (over: Partial<Rule> & { name: string }): Rule =>
  baseRule({ family: 'ipv4', idleTimeout: IDLE_S, ...over });
const config = (rules: Rule[]): Config => baseConfig(rules);
const PLAN = planConfig(
  config([
    rule({ name: 'game' }),
    rule({ name: 'p2p', remote: 'contacted', open: [{ protocol: 'udp', ports: '9' }] }),
  ]),
);
const [GAME, P2P] = PLAN.rules;

/** Entries as the kernel holds them: holders of `game` (one per rule) and pairs of `p2p`, seconds left. */
const kernelEntries = fc.record({
  game: fc.option(fc.record({ host: fc.integer({ min: 1, max: 254 }), leftS: fc.nat({ max: 2 * IDLE_S }) }), {
    nil: undefined,
  }),
  pairs: fc.uniqueArray(
    fc.record({
      host: fc.integer({ min: 1, max: 254 }),
      remote: fc.integer({ min: 1, max: 254 }),
      leftS: fc.nat({ max: 2 * IDLE_S }),
    }),
    { selector: (p) => p.remote, maxLength: 6 },
  ),
});
type KernelEntries = typeof kernelEntries extends fc.Arbitrary<infer T> ? T : never;

const holder = (n: number) => `192.168.1.${n}`;
const remote = (n: number) => `203.0.113.${n}`;
const el = (parts: (string | number)[], expires: number) => ({
  elem: { val: parts.length === 1 ? parts[0] : { concat: parts }, expires, timeout: IDLE_S },
});

function kernelState(k: KernelEntries) {
  const set = (name: string, elem: unknown[]) => ({
    set: { family: 'inet', table: 'porttrigger', name, elem },
  });
  const g = k.game;
  const sets = {
    nftables: [
      set('hold4', g ? [el([GAME!.id, holder(g.host)], g.leftS)] : []),
      set('held4', g ? [el([GAME!.id], g.leftS)] : []),
      set(
        'pair4',
        k.pairs.map((p) => el([P2P!.id, remote(p.remote), holder(p.host)], p.leftS)),
      ),
      set(
        'taken4',
        k.pairs.map((p) => el([P2P!.id, remote(p.remote)], p.leftS)),
      ),
    ],
  };
  return parseKernelState({ sets, maps: { nftables: [] }, chains: { nftables: [] } });
}

const count = (k: KernelEntries) => (k.game ? 1 : 0) + k.pairs.length;
const lefts = (k: KernelEntries) => [...(k.game ? [k.game.leftS] : []), ...k.pairs.map((p) => p.leftS)];
const isDelete = (e: SeedElement) => e.timeoutMs === undefined;

describe('planEntryChanges', () => {
  it('keeps every entry of an unchanged config, re-adding only those past the idle timeout', () => {
    fc.assert(
      fc.property(kernelEntries, (k) => {
        const changes = planEntryChanges(PLAN, kernelState(k));
        expect({ kept: changes.kept, dropped: changes.dropped }).toEqual({ kept: count(k), dropped: 0 });
        const capped = lefts(k).filter((s) => s > IDLE_S).length;
        expect(changes.elements.filter((e) => !isDelete(e))).toHaveLength(3 * capped);
        for (const e of changes.elements.filter((x) => !isDelete(x))) expect(e.expiresMs).toBe(IDLE_S * 1000);
      }),
    );
  });

  it('drops every entry when its rule is gone, deleting those not about to expire', () => {
    fc.assert(
      fc.property(kernelEntries, (k) => {
        const changes = planEntryChanges(planConfig(config([])), kernelState(k));
        expect({ kept: changes.kept, dropped: changes.dropped }).toEqual({ kept: 0, dropped: count(k) });
        expect(changes.elements.every(isDelete)).toBe(true);
        // An element that expires before the transaction would make nft refuse it all: those are left alone.
        expect(changes.elements).toHaveLength(3 * lefts(k).filter((s) => s >= 2).length);
      }),
    );
  });

  it('seeds back what a remembered table still had, capped at the idle timeout, when the table was lost', () => {
    fc.assert(
      fc.property(kernelEntries, fc.nat({ max: 1_000_000 }), (k, elapsed) => {
        const table = readTriggerTable(PLAN, kernelState(k), 0);
        const changes = planEntryChanges(PLAN, parseKernelState(null), table, elapsed);
        const alive = table.entries.filter((e) => e.expiresAt - elapsed > 0);
        expect(changes.kept).toBe(alive.length);
        expect(changes.elements).toHaveLength(3 * alive.length);
        for (const e of changes.elements) {
          expect(e.timeoutMs).toBe(IDLE_S * 1000);
          expect(e.expiresMs).toBeGreaterThan(0);
          expect(e.expiresMs).toBeLessThanOrEqual(IDLE_S * 1000);
        }
      }),
    );
  });

  it('ignores a remembered table while the kernel still has ours', () => {
    const k = { game: { host: 10, leftS: 100 }, pairs: [] };
    const table = readTriggerTable(PLAN, kernelState(k), 0);
    expect(planEntryChanges(PLAN, kernelState(k), table, 0)).toEqual({ elements: [], kept: 1, dropped: 0 });
  });
});

describe('releaseElements', () => {
  it('deletes every element of each entry read back, and only those', () => {
    fc.assert(
      fc.property(kernelEntries, (k) => {
        const state = kernelState(k);
        const entries = readTriggerTable(PLAN, state, 0).entries;
        const groups = releaseElements(PLAN, entries);
        expect(groups).toHaveLength(entries.length);
        for (const [i, group] of groups.entries()) {
          const e = entries[i]!;
          expect(group.every(isDelete)).toBe(true);
          expect(group.map((x) => x.set)).toEqual(
            e.remote === undefined
              ? [sharedSetName('target', 'ipv4', GAME!.id), 'hold4', 'held4']
              : [sharedSetName('rtarget', 'ipv4', P2P!.id), 'pair4', 'taken4'],
          );
          for (const x of group) {
            expect(x.key.startsWith(`${e.remote === undefined ? GAME!.id : P2P!.id}`)).toBe(true);
            // What the kernel holds of the entry is among what is deleted.
            const held = state.sets.get(x.set)?.elements.map((s) => s.key.join(' . '));
            if (held) expect(held).toContain(x.key);
          }
        }
      }),
    );
  });

  it('leaves out entries of rules the plan does not have', () => {
    const stray: TriggerEntry = { rule: 'gone', family: 'ipv4', holder: holder(1), expiresAt: 1 };
    expect(releaseElements(PLAN, [stray])).toEqual([]);
  });

  it('renders as one delete line per element', () => {
    const [group] = releaseElements(PLAN, [
      { rule: 'game', family: 'ipv4', holder: holder(7), expiresAt: 1 },
    ]);
    expect(renderElementScript(group!)).toBe(
      [
        `delete element inet porttrigger ${sharedSetName('target', 'ipv4', GAME!.id)} { ${GAME!.id} }`,
        `delete element inet porttrigger hold4 { ${GAME!.id} . 192.168.1.7 }`,
        `delete element inet porttrigger held4 { ${GAME!.id} }`,
        '',
      ].join('\n'),
    );
  });
});

describe('withElementChanges', () => {
  it('drops deleted elements and puts added ones with their expiry, leaving other sets as they were', () => {
    const state = {
      table: true,
      maps: new Set<string>(),
      chains: new Set<string>(),
      sets: new Map([
        [
          'hold4',
          {
            name: 'hold4',
            elements: [
              { key: ['1', '10.0.0.1'], expiresS: 50 },
              { key: ['2', '10.0.0.2'], expiresS: 50 },
            ],
          },
        ],
        ['held4', { name: 'held4', elements: [{ key: ['1'], expiresS: 50 }] }],
      ]),
    };
    const after = withElementChanges(state, [
      { set: 'hold4', key: '1 . 10.0.0.1' },
      { set: 'hold4', key: '2 . 10.0.0.2' },
      { set: 'hold4', key: '2 . 10.0.0.2', timeoutMs: 30_000, expiresMs: 30_000 },
    ]);
    expect(after.sets.get('hold4')!.elements).toEqual([
      { key: ['2', '10.0.0.2'], expiresS: 30, timeoutS: 30 },
    ]);
    expect(after.sets.get('held4')).toBe(state.sets.get('held4'));
  });
});
