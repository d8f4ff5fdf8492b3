import type { Family } from './types.js';

/** A parsed IP address: its family and its value as a big integer (32 or 128 bits). */
export interface IpAddress {
  readonly family: Family;
  readonly value: bigint;
}

/** A parsed CIDR prefix. */
export interface IpPrefix {
  readonly family: Family;
  readonly network: bigint;
  readonly length: number;
}

const IPV4_PART = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!IPV4_PART.test(part)) return undefined;
    value = (value << 8n) | BigInt(Number(part));
  }
  return value;
}

function parseHextets(text: string): bigint[] | undefined {
  if (text === '') return [];
  const out: bigint[] = [];
  const groups = text.split(':');
  for (const [i, group] of groups.entries()) {
    // An embedded IPv4 address may only stand last (::ffff:192.0.2.1).
    if (i === groups.length - 1 && group.includes('.')) {
      const v4 = parseIpv4(group);
      if (v4 === undefined) return undefined;
      out.push(v4 >> 16n, v4 & 0xffffn);
    } else if (HEXTET.test(group)) {
      out.push(BigInt(`0x${group}`));
    } else {
      return undefined;
    }
  }
  return out;
}

function parseIpv6(text: string): bigint | undefined {
  if (text.length > 45) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseHextets(halves[0] ?? '');
  const tail = halves.length === 2 ? parseHextets(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array<bigint>(Math.max(missing, 0)).fill(0n), ...tail];
  return all.reduce((acc, h) => (acc << 16n) | h, 0n);
}

/** Parses an IPv4 or IPv6 address; undefined when it is not one. */
export function parseAddress(text: string): IpAddress | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return { family: 'ipv4', value: v4 };
  const v6 = text.includes(':') ? parseIpv6(text) : undefined;
  return v6 === undefined ? undefined : { family: 'ipv6', value: v6 };
}

/** The number of bits of an address of this family. */
export function familyBits(family: Family): number {
  return family === 'ipv4' ? 32 : 128;
}

/** Parses "addr" or "addr/len"; host bits must be zero so that what is written is what is meant. */
export function parsePrefix(text: string): IpPrefix | { error: string } {
  const [addrText, lenText, extra] = text.split('/');
  if (extra !== undefined || addrText === undefined) return { error: 'not an address or CIDR' };
  const addr = parseAddress(addrText);
  if (!addr) return { error: `"${addrText}" is not an IPv4 or IPv6 address` };
  const bits = familyBits(addr.family);
  const length = lenText === undefined ? bits : /^\d{1,3}$/.test(lenText) ? Number(lenText) : Number.NaN;
  if (!Number.isInteger(length) || length < 0 || length > bits) {
    return { error: `prefix length must be 0-${bits}` };
  }
  const hostMask = (1n << BigInt(bits - length)) - 1n;
  if ((addr.value & hostMask) !== 0n) {
    return {
      error: `host bits are set: did you mean ${formatAddress({ ...addr, value: addr.value & ~hostMask })}/${length}?`,
    };
  }
  return { family: addr.family, network: addr.value, length };
}

/** True when the prefix contains the address. */
export function prefixContains(prefix: IpPrefix, addr: IpAddress): boolean {
  if (prefix.family !== addr.family) return false;
  const shift = BigInt(familyBits(prefix.family) - prefix.length);
  return addr.value >> shift === prefix.network >> shift;
}

/**
 * The longest run of two or more zero hextets of an IPv6 address (the first one on ties), which RFC 5952 writes
 * as "::"; `start` is -1 when there is none.
 */
export function longestZeroRun(hextets: readonly number[]): { start: number; len: number } {
  let best = { start: -1, len: 0 };
  for (let i = 0; i < hextets.length; ) {
    if (hextets[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < hextets.length && hextets[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { start: i, len: j - i };
    i = j;
  }
  return best;
}

/** Formats an address canonically (RFC 5952 for IPv6), the same way nft prints it. */
export function formatAddress(addr: IpAddress): string {
  if (addr.family === 'ipv4') {
    return [24n, 16n, 8n, 0n].map((s) => String((addr.value >> s) & 0xffn)).join('.');
  }
  const hextets = Array.from({ length: 8 }, (_, i) => Number((addr.value >> BigInt((7 - i) * 16)) & 0xffffn));
  const best = longestZeroRun(hextets);
  const hex = hextets.map((h) => h.toString(16));
  if (best.start < 0) return hex.join(':');
  const head = hex.slice(0, best.start).join(':');
  const tail = hex.slice(best.start + best.len).join(':');
  return `${head}::${tail}`;
}

/** Canonical text of an address, or undefined when the text is not an address. */
export function canonicalAddress(text: string): string | undefined {
  const addr = parseAddress(text);
  return addr ? formatAddress(addr) : undefined;
}

/** Formats a prefix canonically; a full-length prefix is the bare address. */
export function formatPrefix(prefix: IpPrefix): string {
  const addr = formatAddress({ family: prefix.family, value: prefix.network });
  return prefix.length === familyBits(prefix.family) ? addr : `${addr}/${prefix.length}`;
}
