import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatPortList,
  mergeRanges,
  parsePortList,
  portInRanges,
  protocolsOf,
  rangesByProtocol,
  rangesOverlap,
} from './ports.js';
import type { PortRange } from './types.js';

const port = fc.integer({ min: 1, max: 65535 });
const range = fc.tuple(port, port).map(([a, b]): PortRange => ({ from: Math.min(a, b), to: Math.max(a, b) }));
const ranges = fc.array(range, { minLength: 1, maxLength: 12 });

/** Every port of the ranges, for comparing sets of ports by brute force on small ranges. */
function portsOf(list: readonly PortRange[]): Set<number> {
  const out = new Set<number>();
  for (const r of list) for (let p = r.from; p <= r.to; p++) out.add(p);
  return out;
}

describe('mergeRanges', () => {
  it('keeps the same ports in sorted ranges that neither overlap nor touch', () => {
    const small = fc.array(
      fc
        .tuple(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 40 }))
        .map(([from, len]) => ({ from, to: from + len })),
      { maxLength: 10 },
    );
    fc.assert(
      fc.property(small, (list) => {
        const merged = mergeRanges(list);
        expect(portsOf(merged)).toEqual(portsOf(list));
        for (let i = 1; i < merged.length; i++)
          expect(merged[i]!.from).toBeGreaterThan(merged[i - 1]!.to + 1);
      }),
    );
  });
});

describe('parsePortList and formatPortList', () => {
  it('read back what they write, merged', () => {
    fc.assert(
      fc.property(ranges, (list) => {
        const merged = mergeRanges(list);
        expect(parsePortList(formatPortList(list))).toEqual({ ranges: merged });
        expect(parsePortList(formatPortList(merged))).toEqual({ ranges: merged });
      }),
    );
  });

  it('accepts spaces around items and merges adjacent ones', () => {
    expect(parsePortList(' 7000-7010 , 7011,7020 ')).toEqual({
      ranges: [
        { from: 7000, to: 7011 },
        { from: 7020, to: 7020 },
      ],
    });
  });

  it.each([
    ['', 'empty port in list'],
    ['7000,', 'empty port in list'],
    ['0', '"0": ports are 1-65535'],
    ['65536', '"65536": ports are 1-65535'],
    ['7010-7000', '"7010-7000": range goes backwards'],
    ['70a', '"70a" is not a port or a range N-M'],
    ['1-2-3', '"1-2-3" is not a port or a range N-M'],
    ['-5', '"-5" is not a port or a range N-M'],
  ])('refuses %j: %s', (text, error) => {
    expect(parsePortList(text)).toEqual({ error });
  });
});

describe('portInRanges and rangesOverlap', () => {
  it('agree with the ports the ranges hold', () => {
    const small = fc.array(
      fc
        .tuple(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 0, max: 20 }))
        .map(([from, len]) => ({ from, to: from + len })),
      { maxLength: 6 },
    );
    fc.assert(
      fc.property(small, small, fc.integer({ min: 1, max: 230 }), (a, b, p) => {
        const pa = portsOf(a);
        expect(portInRanges(p, a)).toBe(pa.has(p));
        expect(rangesOverlap(a, b)).toBe([...portsOf(b)].some((x) => pa.has(x)));
      }),
    );
  });
});

describe('protocolsOf and rangesByProtocol', () => {
  it('spreads `both` over tcp and udp and merges per protocol', () => {
    expect(protocolsOf('both')).toEqual(['tcp', 'udp']);
    expect(protocolsOf('udp')).toEqual(['udp']);
    expect(
      rangesByProtocol([
        { protocol: 'both', ports: '7000-7005' },
        { protocol: 'udp', ports: '7006,9000' },
      ]),
    ).toEqual({
      tcp: [{ from: 7000, to: 7005 }],
      udp: [
        { from: 7000, to: 7006 },
        { from: 9000, to: 9000 },
      ],
    });
  });

  it('refuses a port list that was never validated', () => {
    expect(() => rangesByProtocol([{ protocol: 'tcp', ports: 'x' }])).toThrow(/unvalidated port list: x/);
  });
});
