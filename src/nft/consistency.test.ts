import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rule as baseRule, config } from '../../test/factories.js';
import type { Config, Rule } from '../domain/types.js';
import { findInconsistencies, planRepair } from './consistency.js';
import { planConfig, sharedSetName } from './plan.js';
import { parseKernelState } from './state.js';

const rule = (over: Partial<Rule> & { name: string }): Rule =>
  baseRule({ family: 'ipv4', idleTimeout: 600, ...over });
const CONFIG: Config = config([
  rule({ name: 'game' }),
  rule({ name: 'p2p', remote: 'contacted', open: [{ protocol: 'udp', ports: '9' }] }),
]);
const PLAN = planConfig(CONFIG);
const [GAME, P2P] = PLAN.rules;
const HOLDER = '192.168.1.10';
const REMOTE = '203.0.113.7';

type Kind = 'held4' | 'hold4' | 'target4' | 'taken4' | 'pair4' | 'rtarget4';
const ANY_KINDS: Kind[] = ['held4', 'hold4', 'target4'];
const CONTACTED_KINDS: Kind[] = ['taken4', 'pair4', 'rtarget4'];
/** The kernel's name of a kind: the DNAT maps are split by rule number. */
const setName = (kind: Kind): string =>
  kind === 'target4'
    ? sharedSetName('target', 'ipv4', GAME!.id)!
    : kind === 'rtarget4'
      ? sharedSetName('rtarget', 'ipv4', P2P!.id)!
      : kind;

/** The elements of one whole entry of `game` and one of `p2p`, as `nft -j list table` prints them. */
function elementsOf(leftS: number, holder = HOLDER): Record<Kind, unknown[]> {
  const el = (parts: (string | number)[]) => ({
    elem: { val: parts.length === 1 ? parts[0] : { concat: parts }, expires: leftS, timeout: 600 },
  });
  return {
    held4: [el([GAME!.id])],
    hold4: [el([GAME!.id, holder])],
    target4: [[el([GAME!.id]), holder]],
    taken4: [el([P2P!.id, REMOTE])],
    pair4: [el([P2P!.id, REMOTE, holder])],
    rtarget4: [[el([P2P!.id, REMOTE]), holder]],
  };
}

function state(elements: Partial<Record<Kind, unknown[]>>) {
  const doc = {
    nftables: (Object.keys(elementsOf(1)) as Kind[]).map((name) =>
      /target/.test(name)
        ? {
            map: {
              family: 'inet',
              table: 'porttrigger',
              name: setName(name),
              type: 'integer',
              map: 'ipv4_addr',
              elem: elements[name] ?? [],
            },
          }
        : { set: { family: 'inet', table: 'porttrigger', name, elem: elements[name] ?? [] } },
    ),
  };
  return parseKernelState({ sets: doc, maps: doc, chains: doc });
}

describe('findInconsistencies', () => {
  it('finds nothing wrong with whole entries', () => {
    expect(findInconsistencies(PLAN, state(elementsOf(100)))).toEqual([]);
    expect(findInconsistencies(PLAN, state({}))).toEqual([]);
  });

  it('names the missing set of an entry whose other elements are there', () => {
    fc.assert(
      fc.property(fc.subarray([...ANY_KINDS, ...CONTACTED_KINDS], { minLength: 1 }), (flushed) => {
        const all = elementsOf(100);
        for (const k of flushed) all[k] = [];
        const problems = findInconsistencies(PLAN, state(all));
        const broken = [ANY_KINDS, CONTACTED_KINDS].filter(
          (kinds) => kinds.some((k) => flushed.includes(k)) && !kinds.every((k) => flushed.includes(k)),
        );
        expect(problems).toHaveLength(broken.length);
        for (const k of flushed.filter((x) => broken.some((b) => b.includes(x))))
          expect(problems.join('\n')).toContain(k);
      }),
    );
  });

  it('finds a DNAT target that points at another host than the holder', () => {
    const all = elementsOf(100);
    all.target4 = elementsOf(100, '192.168.1.99').target4;
    expect(findInconsistencies(PLAN, state(all))).toEqual([
      expect.stringMatching(/rule "game".*different holders/),
    ]);
  });

  it('leaves alone a group that is only expiring on its own', () => {
    const all = elementsOf(1);
    all.hold4 = [];
    expect(findInconsistencies(PLAN, state(all))).toEqual([]);
  });
});

describe('planRepair', () => {
  it('writes an entry with one set flushed whole again: a surviving element names the holder', () => {
    for (const flushed of [...ANY_KINDS, ...CONTACTED_KINDS]) {
      const all = elementsOf(100);
      all[flushed] = [];
      const repair = planRepair(PLAN, state(all), [], 0);
      expect(repair).toMatchObject({ restored: 1, dropped: 0 });
      const adds = repair.elements.filter((e) => e.timeoutMs !== undefined);
      const kinds = ANY_KINDS.includes(flushed) ? ANY_KINDS : CONTACTED_KINDS;
      expect(adds.map((e) => e.set).sort()).toEqual(kinds.map(setName).sort());
      for (const e of adds) expect(e.expiresMs).toBe(100_000);
      expect(adds.filter((e) => e.value !== undefined).map((e) => e.value)).toEqual([HOLDER]);
    }
  });

  it('deletes an orphan that names no holder, so that nothing forwards unseen', () => {
    const all = elementsOf(100);
    all.hold4 = [];
    all.target4 = [];
    const repair = planRepair(PLAN, state(all), [], 0);
    expect(repair).toMatchObject({ restored: 0, dropped: 1 });
    expect(repair.elements).toEqual([{ set: 'held4', key: `${GAME!.id}` }]);
  });

  it('takes the holder of an orphan from the entries the service knew', () => {
    const all = elementsOf(100);
    all.hold4 = [];
    all.target4 = [];
    const known = [{ rule: 'game', family: 'ipv4' as const, holder: HOLDER, expiresAt: 50_000 }];
    const repair = planRepair(PLAN, state(all), known, 0);
    expect(repair).toMatchObject({ restored: 1, dropped: 0 });
    expect(
      repair.elements
        .filter((e) => e.timeoutMs !== undefined)
        .map((e) => e.set)
        .sort(),
    ).toEqual(ANY_KINDS.map(setName).sort());
  });

  it('replaces a DNAT target that points elsewhere: deleted first, then written with the holder', () => {
    const all = elementsOf(100);
    all.target4 = elementsOf(100, '192.168.1.99').target4;
    const known = [{ rule: 'game', family: 'ipv4' as const, holder: HOLDER, expiresAt: 100_000 }];
    const repair = planRepair(PLAN, state(all), known, 0);
    const firstAdd = repair.elements.findIndex((e) => e.timeoutMs !== undefined);
    expect(
      repair.elements
        .slice(0, firstAdd)
        .map((e) => e.set)
        .sort(),
    ).toEqual(ANY_KINDS.map(setName).sort());
    expect(repair.elements.find((e) => e.set === setName('target4') && e.value)?.value).toBe(HOLDER);
  });
});
