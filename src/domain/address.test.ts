import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalAddress,
  familyBits,
  formatAddress,
  formatPrefix,
  parseAddress,
  parsePrefix,
  prefixContains,
} from './address.js';

const V4_MAX = (1n << 32n) - 1n;
const V6_MAX = (1n << 128n) - 1n;

/** The WHATWG URL serializer writes IPv6 hosts as RFC 5952 does: an independent oracle. */
function urlCanonical(v6: string): string {
  return new URL(`http://[${v6}]/`).hostname.slice(1, -1);
}

const v4Value = fc.bigInt({ min: 0n, max: V4_MAX });
const v6Value = fc.bigInt({ min: 0n, max: V6_MAX });

describe('parseAddress and formatAddress', () => {
  it('read back every IPv4 value they write, as dotted quads', () => {
    fc.assert(
      fc.property(v4Value, (value) => {
        const text = formatAddress({ family: 'ipv4', value });
        expect(text).toMatch(/^\d{1,3}(\.\d{1,3}){3}$/);
        expect(parseAddress(text)).toEqual({ family: 'ipv4', value });
      }),
    );
  });

  it('read back every IPv6 value they write, in the form the URL standard writes it', () => {
    fc.assert(
      fc.property(v6Value, (value) => {
        const text = formatAddress({ family: 'ipv6', value });
        expect(parseAddress(text)).toEqual({ family: 'ipv6', value });
        expect(text).toBe(urlCanonical(text));
      }),
    );
  });

  it('take any IPv6 spelling to the one canonical text', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const canonical = canonicalAddress(text);
        expect(canonical).toBeDefined();
        expect(canonicalAddress(canonical!)).toBe(canonical);
        expect(parseAddress(canonical!)?.value).toBe(parseAddress(text)?.value);
      }),
    );
  });

  it('keep IPv4 text as it is', () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        expect(canonicalAddress(text)).toBe(text);
      }),
    );
  });

  it.each([
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
  ])('writes %s as %s', (text, canonical) => {
    expect(canonicalAddress(text)).toBe(canonical);
  });

  it.each([
    '256.1.1.1',
    '1.2.3',
    '01.2.3.4',
    '1.2.3.4.5',
    '',
    ':::',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
    'g::1',
    '::1.2.3.256',
    'localhost',
  ])('refuses %j', (text) => {
    expect(parseAddress(text)).toBeUndefined();
    expect(canonicalAddress(text)).toBeUndefined();
  });
});

const prefixes = fc.oneof(
  fc.record({
    family: fc.constant('ipv4' as const),
    value: v4Value,
    length: fc.integer({ min: 0, max: 32 }),
  }),
  fc.record({
    family: fc.constant('ipv6' as const),
    value: v6Value,
    length: fc.integer({ min: 0, max: 128 }),
  }),
);

function network(family: 'ipv4' | 'ipv6', value: bigint, length: number): bigint {
  const host = (1n << BigInt(familyBits(family) - length)) - 1n;
  return value & ~host;
}

describe('parsePrefix, formatPrefix and prefixContains', () => {
  it('read back every prefix they write, and a bare address is the full-length prefix', () => {
    fc.assert(
      fc.property(prefixes, ({ family, value, length }) => {
        const prefix = { family, network: network(family, value, length), length };
        const text = formatPrefix(prefix);
        expect(parsePrefix(text)).toEqual(prefix);
        expect(text.includes('/')).toBe(length !== familyBits(family));
      }),
    );
  });

  it('contain exactly the addresses that share the prefix bits', () => {
    fc.assert(
      fc.property(prefixes, fc.bigInt({ min: 0n, max: V6_MAX }), ({ family, value, length }, other) => {
        const prefix = { family, network: network(family, value, length), length };
        const probe = family === 'ipv4' ? other & V4_MAX : other;
        const inside = network(family, probe, length) === prefix.network;
        expect(prefixContains(prefix, { family, value: probe })).toBe(inside);
        expect(prefixContains(prefix, { family, value })).toBe(true);
      }),
    );
  });

  it('never contains an address of the other family', () => {
    const v4 = parsePrefix('0.0.0.0/0');
    if ('error' in v4) throw new Error(v4.error);
    expect(prefixContains(v4, parseAddress('::')!)).toBe(false);
  });

  it('refuses host bits with the prefix that was probably meant', () => {
    expect(parsePrefix('192.168.1.10/24')).toEqual({
      error: 'host bits are set: did you mean 192.168.1.0/24?',
    });
    expect(parsePrefix('2001:db8::1/32')).toEqual({
      error: 'host bits are set: did you mean 2001:db8::/32?',
    });
  });

  it.each([
    ['10.0.0.0/33', 'prefix length must be 0-32'],
    ['::/129', 'prefix length must be 0-128'],
    ['10.0.0.0/', 'prefix length must be 0-32'],
    ['10.0.0.0/8/8', 'not an address or CIDR'],
    ['10.0.0/8', '"10.0.0" is not an IPv4 or IPv6 address'],
  ])('refuses %j: %s', (text, error) => {
    expect(parsePrefix(text)).toEqual({ error });
  });
});
