import { describe, expect, it } from 'vitest';
import { config, rule } from '../../test/factories.js';
import { planConfig } from './plan.js';
import { NO_TABLE, renderApplyScript } from './render.js';
import {
  keyBytes,
  parseSetReaderOutput,
  readerKernelState,
  type SetLayout,
  sharedSetLayouts,
} from './set-elements.js';

const layouts = sharedSetLayouts();
// Rule number 3425815274 (0xcc31caea) as the kernel holds it on this (little-endian) host.
const RULE_HEX = 'eaca31cc';

const parse = (text: string, with_: ReadonlyMap<string, SetLayout> = layouts) =>
  parseSetReaderOutput(text, with_);

describe('parseSetReaderOutput', () => {
  it('decodes an IPv4 concatenation: the rule number in host order, addresses in network order', () => {
    const out = parse(
      ['set pair4 set 12 - -', `elem pair4 ${RULE_HEX}c6120100c0a80114 - 3600000 3577421`].join('\n'),
    );
    expect(out.elements.get('pair4')).toEqual([
      {
        key: ['3425815274', '198.18.1.0', '192.168.1.20'],
        expiresS: 3577,
        expiresMs: 3577421,
        timeoutS: 3600,
      },
    ]);
  });

  it('decodes IPv6 addresses as nft prints them', () => {
    const keys = [
      ['20010db8000000000000000000000001', '2001:db8::1'],
      ['00000000000000000000ffffc0a80101', '::ffff:192.168.1.1'],
      ['00000000000000000000000000000000', '::'],
      ['20010db8000100020003000400050006', '2001:db8:1:2:3:4:5:6'],
      ['20010000000000010000000000000001', '2001:0:0:1::1'],
      ['fe800000000000000000000000000000', 'fe80::'],
    ];
    const text = keys.map(([hex]) => `elem hold6 01000000${hex} - 600000 599000`).join('\n');
    const got = parse(text)
      .elements.get('hold6')!
      .map((e) => e.key);
    expect(got).toEqual(keys.map(([, addr]) => ['1', addr]));
  });

  it("gives a map element's data as its value", () => {
    const out = parse(`elem target4_0 01000000 c0a80114 600000 1500`);
    expect(out.elements.get('target4_0')).toEqual([
      { key: ['1'], value: '192.168.1.20', expiresS: 1, expiresMs: 1500, timeoutS: 600 },
    ]);
    const rtarget = parse(`elem rtarget4_1 01000000c6120100 c0a80114 - -`).elements.get('rtarget4_1');
    expect(rtarget).toEqual([
      { key: ['1', '198.18.1.0'], value: '192.168.1.20', expiresS: Number.POSITIVE_INFINITY },
    ]);
  });

  it('pads each part of a concatenation to 4 bytes, as the kernel does', () => {
    const odd: SetLayout = { key: ['rule', 'port', 'ipv4'] };
    expect(keyBytes(odd)).toBe(12);
    const out = parse('elem odd 070000001f900000c0a80101 - - -', new Map([['odd', odd]]));
    expect(out.elements.get('odd')![0]!.key).toEqual(['7', '8080', '192.168.1.1']);
    // A lone part is not padded.
    expect(keyBytes({ key: ['port'] })).toBe(2);
    expect(
      parse('elem p 1f90 - - -', new Map([['p', { key: ['port'] }]])).elements.get('p')![0]!.key,
    ).toEqual(['8080']);
  });

  it('names the line of a key that does not fit its layout', () => {
    expect(() => parse(`set hold4 set 8 - -\nelem hold4 ${RULE_HEX}c61201 - - -`)).toThrow(
      /line 2\).*hold4 has 7 bytes, its layout 8/,
    );
    expect(() => parse(`elem hold4 ${RULE_HEX}c612010g - - -`)).toThrow(/line 1/);
  });

  it('names a line that is cut short', () => {
    expect(() => parse(`set pair4 set 12 - -\nelem pair4 ${RULE_HEX}c6120100`)).toThrow(
      /unreadable \(line 2\): expected .*got "elem pair4/,
    );
    expect(() => parse('set pair4 set 12')).toThrow(/line 1/);
  });

  it('refuses data where the layout has none, times that are not numbers, and sets of unknown layout', () => {
    expect(() => parse(`elem held4 ${RULE_HEX} c0a80114 - -`)).toThrow(/held4 has data/);
    expect(() => parse(`elem held4 ${RULE_HEX} - 1s 500`)).toThrow(/element timeout is "1s"/);
    expect(() => parse(`elem other ${RULE_HEX} - - -`)).toThrow(/set other, whose layout is unknown/);
    expect(() => parse('set x list 4 - -')).toThrow(/kind "list"/);
  });
});

describe('readerKernelState', () => {
  it('holds every set (empty unless listed) with its timeout, and only the maps that were listed', () => {
    const out = parse(
      [
        'set held4 set 4 - -',
        'set conflict4 set 8 - 60000',
        'set target4_0 map 4 4 -',
        'set target4_1 map 4 4 -',
        'set trigger4_tcp map 2 16 -',
        `elem conflict4 ${RULE_HEX}c0a80114 - 60000 59999`,
        'elem target4_1 01000000 c0a80114 600000 1000',
      ].join('\n'),
    );
    // target4_1 listed but not target4_0: the elements of the listed map alone.
    const state = readerKernelState({ ...out, elements: new Map([...out.elements]) });
    expect([...state.sets.keys()].sort()).toEqual(['conflict4', 'held4', 'target4_1']);
    expect(state.sets.get('held4')).toEqual({ name: 'held4', elements: [] });
    expect(state.sets.get('conflict4')).toMatchObject({ timeoutS: 60, elements: [{ expiresS: 59 }] });
    expect(state.table).toBe(true);
  });
});

describe('sharedSetLayouts', () => {
  it('matches the typeof of every set and map the table declares', () => {
    const plan = planConfig(config([rule({ name: 'a', family: 'both', remote: 'contacted' })]));
    const declared = [...renderApplyScript(plan, NO_TABLE).matchAll(/(?:set|map) (\w+) \{ typeof ([^;]+);/g)];
    expect(declared.length).toBeGreaterThan(20);
    const part = (expr: string) =>
      expr.startsWith('numgen')
        ? 'rule'
        : expr.startsWith('ip6 ')
          ? 'ipv6'
          : expr.startsWith('ip ')
            ? 'ipv4'
            : expr;
    for (const [, name, type] of declared) {
      if (/_(tcp|udp)$/.test(name!)) continue; // the dispatch maps: never read by the reader
      const [key, data] = type!.split(' : ');
      const want = { key: key!.split(' . ').map(part), ...(data ? { data: part(data) } : {}) };
      expect(layouts.get(name!), name).toEqual(want);
    }
  });
});
