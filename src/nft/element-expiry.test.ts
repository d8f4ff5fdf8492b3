import { describe, expect, it } from 'vitest';
import { parseElementExpiries, parseNftDuration } from './element-expiry.js';

describe("the milliseconds an element has left, from nft's text listing", () => {
  it.each([
    ['1s234ms', 1234],
    ['980ms', 980],
    ['2m3s', 123_000],
    ['1d2h', 93_600_000],
    ['0ms', 0],
  ])('reads %s', (text, ms) => {
    expect(parseNftDuration(text)).toBe(ms);
  });

  it.each(['', '5', '1x', 'expires'])('refuses %j', (text) => {
    expect(parseNftDuration(text)).toBeUndefined();
  });

  it('reads every element of a set over several lines, IPv4 and IPv6 keys', () => {
    const listing = [
      'table inet porttrigger {',
      '\tset hold4 {',
      '\t\ttype integer . ipv4_addr',
      '\t\tflags dynamic,timeout',
      '\t\telements = { 3 . 192.168.1.10 timeout 2s expires 1s234ms,',
      '\t\t\t     12 . 192.168.1.20 timeout 10m expires 9m59s980ms }',
      '\t}',
      '\tset pair6 {',
      '\t\telements = { 4 . 2001:db8:ff::10 . 2001:db8:1::20 timeout 5s expires 4ms }',
      '\t}',
      '}',
    ].join('\n');
    expect(parseElementExpiries(listing)).toEqual(
      new Map([
        ['3 . 192.168.1.10', 1234],
        ['12 . 192.168.1.20', 599_980],
        ['4 . 2001:db8:ff::10 . 2001:db8:1::20', 4],
      ]),
    );
  });

  it('finds nothing in a set without elements', () => {
    expect(parseElementExpiries('table inet porttrigger {\n\tset hold4 {\n\t}\n}\n').size).toBe(0);
  });
});
