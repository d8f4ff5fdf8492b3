import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeSetListings, nftObjects, parseKernelState } from './state.js';

const EMPTY = { nftables: [] };

/** An element as nft -j prints it: a bare value, or {elem} with timeout and expires. */
const element = fc.record({
  key: fc.array(fc.oneof(fc.nat({ max: 2 ** 31 }).map(String), fc.ipV4()), { minLength: 1, maxLength: 3 }),
  expiresS: fc.option(fc.nat({ max: 86_400 }), { nil: undefined }),
  timeoutS: fc.option(fc.nat({ max: 86_400 }), { nil: undefined }),
});

function printed(e: {
  key: string[];
  expiresS?: number | undefined;
  timeoutS?: number | undefined;
}): unknown {
  const val = e.key.length === 1 ? e.key[0] : { concat: e.key };
  if (e.expiresS === undefined) return val;
  return { elem: { val, expires: e.expiresS, ...(e.timeoutS !== undefined ? { timeout: e.timeoutS } : {}) } };
}

describe('parseKernelState', () => {
  it('reads back every set of our table with its elements, and nothing of other tables', () => {
    const sets = fc.uniqueArray(
      fc.record({
        name: fc.stringMatching(/^[a-z][a-z0-9]{0,9}$/),
        elements: fc.array(element, { maxLength: 5 }),
      }),
      { selector: (s) => s.name, maxLength: 5 },
    );
    fc.assert(
      fc.property(sets, (list) => {
        const listing = {
          nftables: [
            { metainfo: { version: '1.0.6', json_schema_version: 1 } },
            ...list.map((s) => ({
              set: { family: 'inet', table: 'porttrigger', name: s.name, elem: s.elements.map(printed) },
            })),
            ...list.map((s) => ({
              set: { family: 'inet', table: 'other', name: `${s.name}x`, elem: s.elements.map(printed) },
            })),
          ],
        };
        const state = parseKernelState({ sets: listing, maps: EMPTY, chains: EMPTY });
        expect([...state.sets.keys()].sort()).toEqual(list.map((s) => s.name).sort());
        for (const s of list) {
          expect(state.sets.get(s.name)?.elements).toEqual(
            s.elements.map((e) => ({
              key: e.key,
              expiresS: e.expiresS ?? Number.POSITIVE_INFINITY,
              ...(e.expiresS !== undefined && e.timeoutS !== undefined ? { timeoutS: e.timeoutS } : {}),
            })),
          );
        }
      }),
    );
  });

  it('reads the set timeout, and map and chain names of our table only', () => {
    const state = parseKernelState({
      sets: { nftables: [{ set: { family: 'inet', table: 'porttrigger', name: 'hold4', timeout: 600 } }] },
      maps: {
        nftables: [
          { map: { family: 'inet', table: 'porttrigger', name: 'trigger4' } },
          { map: { family: 'ip', table: 'porttrigger', name: 'elsewhere' } },
        ],
      },
      chains: {
        nftables: [
          { chain: { family: 'inet', table: 'porttrigger', name: 'forward' } },
          { chain: { family: 'inet', table: 'fw4', name: 'forward_wan' } },
        ],
      },
    });
    expect(state).toEqual({
      table: true,
      sets: new Map([['hold4', { name: 'hold4', timeoutS: 600, elements: [] }]]),
      maps: new Set(['trigger4']),
      chains: new Set(['forward']),
    });
  });

  it('says the table is absent for null', () => {
    expect(parseKernelState(null)).toEqual({
      table: false,
      sets: new Map(),
      maps: new Set(),
      chains: new Set(),
    });
  });

  it('refuses element values it does not know with NFT_LIST_FAILED', () => {
    const sets = {
      nftables: [
        { set: { family: 'inet', table: 'porttrigger', name: 's', elem: [{ prefix: { addr: 1 } }] } },
      ],
    };
    expect(() => parseKernelState({ sets, maps: EMPTY, chains: EMPTY })).toThrow(
      expect.objectContaining({
        code: 'NFT_LIST_FAILED',
        message: expect.stringMatching(/a set element of value/),
      }),
    );
  });
});

describe('mergeSetListings', () => {
  it('puts the full listings of some sets into a terse listing of every set', () => {
    const set = (name: string, extra: object = {}, table = 'porttrigger') => ({
      set: { family: 'inet', table, name, type: 'integer', ...extra },
    });
    const terse = { nftables: [{ metainfo: {} }, set('hold4'), set('held4'), set('pair4')] };
    const full = [
      { nftables: [{ metainfo: {} }, set('hold4', { elem: [{ elem: { val: 7, expires: 3 } }] })] },
      { nftables: [set('pair4', { elem: [] }), set('held4', { elem: [5] }, 'other')] },
    ];
    const state = parseKernelState({ sets: mergeSetListings(terse, full), maps: EMPTY, chains: EMPTY });
    expect([...state.sets.keys()]).toEqual(['hold4', 'held4', 'pair4']);
    expect(state.sets.get('hold4')!.elements).toEqual([{ key: ['7'], expiresS: 3 }]);
    expect(state.sets.get('held4')!.elements).toEqual([]);
    expect(() => mergeSetListings(terse, [{}])).toThrow(/no "nftables" array/);
  });
});

describe('nftObjects', () => {
  it('lists the objects of one kind across tables and refuses what is not nft output', () => {
    const doc = {
      nftables: [
        { metainfo: {} },
        { chain: { family: 'ip', table: 'a', name: 'x' } },
        { rule: { family: 'ip', table: 'a', chain: 'x' } },
        { chain: { family: 'inet', table: 'b', name: 'y' } },
      ],
    };
    expect(nftObjects(doc, 'chain').map((c) => c['name'])).toEqual(['x', 'y']);
    expect(nftObjects(doc, 'rule')).toHaveLength(1);
    expect(() => nftObjects({ chains: [] }, 'chain')).toThrow(/no "nftables" array/);
    expect(() => nftObjects(null, 'chain')).toThrow(expect.objectContaining({ code: 'NFT_LIST_FAILED' }));
  });
});
