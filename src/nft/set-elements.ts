import { PorttriggerError } from '../domain/errors.js';
import type { Family } from '../domain/types.js';
import { SHARED_SETS, type SharedSetKind, sharedSetNames } from './plan.js';
import type { KernelElement, KernelSet, KernelState } from './state.js';

/**
 * Decodes what the set reader (native/set-reader, docs/architecture.md "Reading the sets") prints: the raw
 * bytes of each element's key and data, as the kernel holds them. The bytes become the same
 * {@link KernelElement} values the `nft -j` listing gives, so read-back cannot tell the two apart.
 */

/**
 * One part of a key or a map's data. `rule`: the rule's number (`numgen inc mod 1`, a 32-bit integer in host
 * byte order); `port`: an `inet_service` (16 bits, network order); addresses in network order.
 */
export type ElementPart = 'rule' | 'port' | 'ipv4' | 'ipv6';

/** The layout of a set's elements: the parts of its key (a concatenation when more than one), a map's data. */
export interface SetLayout {
  readonly key: readonly ElementPart[];
  readonly data?: ElementPart;
}

const PART_BYTES: Readonly<Record<ElementPart, number>> = { rule: 4, port: 2, ipv4: 4, ipv6: 16 };

/** Each part of a concatenation takes whole 4-byte registers in the kernel: a port is followed by 2 bytes. */
function registerBytes(part: ElementPart): number {
  return Math.ceil(PART_BYTES[part] / 4) * 4;
}

/** How many bytes a key of this layout has in the kernel. */
export function keyBytes(layout: SetLayout): number {
  return layout.key.length === 1
    ? PART_BYTES[layout.key[0]!]
    : layout.key.reduce((n, p) => n + registerBytes(p), 0);
}

/**
 * The layout of a shared set from its key description in {@link SHARED_SETS} (`rule . remote : holder`): the
 * rule's number, then addresses of the set's family; after ` : ` a map's data.
 */
export function sharedSetLayout(kind: SharedSetKind, family: Family): SetLayout {
  const [key, data] = SHARED_SETS[kind].key.split(' : ');
  const part = (name: string): ElementPart => (name === 'rule' ? 'rule' : family);
  return { key: key!.split(' . ').map(part), ...(data ? { data: part(data) } : {}) };
}

/** The layout of every shared set and map by name, each part of a split map. */
export function sharedSetLayouts(): ReadonlyMap<string, SetLayout> {
  const out = new Map<string, SetLayout>();
  for (const kind of Object.keys(SHARED_SETS) as SharedSetKind[]) {
    for (const family of ['ipv4', 'ipv6'] as const) {
      for (const name of sharedSetNames(kind, family)) out.set(name, sharedSetLayout(kind, family));
    }
  }
  return out;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function byteAt(hex: string, i: number): number {
  return Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
}

function hextet(hex: string, i: number): number {
  return Number.parseInt(hex.slice(i * 4, i * 4 + 4), 16);
}

function formatIpv4(hex: string): string {
  return `${byteAt(hex, 0)}.${byteAt(hex, 1)}.${byteAt(hex, 2)}.${byteAt(hex, 3)}`;
}

/** An IPv6 address as nft prints it (glibc's inet_ntop): RFC 5952, and `::ffff:a.b.c.d` for a mapped one. */
function formatIpv6(hex: string): string {
  const words = Array.from({ length: 8 }, (_, i) => hextet(hex, i));
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { start: i, len: j - i };
    i = j;
  }
  // inet_ntop keeps IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses dotted.
  const embedded = best.start === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff));
  const tailWords = embedded ? 6 : 8;
  const text = words.slice(0, tailWords).map((w) => w.toString(16));
  const dotted = embedded ? formatIpv4(hex.slice(24)) : undefined;
  let out: string;
  if (best.start < 0 || best.start >= tailWords) out = text.join(':');
  else {
    const end = Math.min(best.start + best.len, tailWords);
    out = `${text.slice(0, best.start).join(':')}::${text.slice(end).join(':')}`;
  }
  if (dotted === undefined) return out;
  return out.endsWith(':') ? `${out}${dotted}` : `${out}:${dotted}`;
}

function formatRule(hex: string): string {
  const b = [0, 1, 2, 3].map((i) => byteAt(hex, i));
  const [b0, b1, b2, b3] = HOST_LITTLE_ENDIAN ? [b[3]!, b[2]!, b[1]!, b[0]!] : [b[0]!, b[1]!, b[2]!, b[3]!];
  return String(((b0 << 24) >>> 0) + (b1 << 16) + (b2 << 8) + b3);
}

function formatPart(part: ElementPart, hex: string): string {
  switch (part) {
    case 'rule':
      return formatRule(hex);
    case 'port':
      return String((byteAt(hex, 0) << 8) + byteAt(hex, 1));
    case 'ipv4':
      return formatIpv4(hex);
    case 'ipv6':
      return formatIpv6(hex);
  }
}

function unreadable(line: number, why: string): PorttriggerError {
  return new PorttriggerError(
    'NFT_LIST_FAILED',
    `the set reader printed something unreadable (line ${line}): ${why}`,
  );
}

const HEX = /^(?:[0-9a-f]{2})+$/;

/** The parts of a key or data `hex` of `layout`; throws naming the line when its length does not fit. */
function decodeKey(hex: string, layout: SetLayout, line: number, set: string): string[] {
  const want = keyBytes(layout);
  if (!HEX.test(hex) || hex.length !== want * 2) {
    throw unreadable(line, `a key of set ${set} has ${hex.length / 2} bytes, its layout ${want}`);
  }
  if (layout.key.length === 1) return [formatPart(layout.key[0]!, hex)];
  const parts: string[] = [];
  let at = 0;
  for (const part of layout.key) {
    parts.push(formatPart(part, hex.slice(at * 2, (at + PART_BYTES[part]) * 2)));
    at += registerBytes(part);
  }
  return parts;
}

/** Milliseconds from the reader (`-` when none); throws naming the line for anything else. */
function millis(text: string, line: number, what: string): number | undefined {
  if (text === '-') return undefined;
  if (!/^\d+$/.test(text)) throw unreadable(line, `${what} is ${JSON.stringify(text)}, not milliseconds`);
  return Number(text);
}

/** What one run of the set reader listed: every set and map of the table, the elements of those asked for. */
export interface SetReaderListing {
  /** Every set and map of the table: its kind and default timeout (ms). */
  readonly sets: ReadonlyMap<string, { readonly kind: 'set' | 'map'; readonly timeoutMs?: number }>;
  /** The elements of each set whose elements were listed. */
  readonly elements: ReadonlyMap<string, readonly KernelElement[]>;
}

/**
 * Parses the set reader's output with the layouts of the sets whose elements it lists. Elements carry what
 * `nft -j` would show (whole seconds, rounded down) and, exactly, `expiresMs`. Throws NFT_LIST_FAILED naming
 * the line for a line that is cut short, a key that does not fit its layout, or a set of unknown layout.
 */
export function parseSetReaderOutput(
  text: string,
  layouts: ReadonlyMap<string, SetLayout>,
): SetReaderListing {
  const sets = new Map<string, { kind: 'set' | 'map'; timeoutMs?: number }>();
  const elements = new Map<string, KernelElement[]>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    const f = raw.split(' ');
    if (f[0] === 'set' && f.length === 6) {
      const kind = f[2];
      if (kind !== 'set' && kind !== 'map') throw unreadable(line, `a set of kind ${JSON.stringify(kind)}`);
      const timeoutMs = millis(f[5]!, line, 'a set timeout');
      sets.set(f[1]!, { kind, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
      continue;
    }
    if (f[0] !== 'elem' || f.length !== 6) {
      throw unreadable(
        line,
        `expected "set NAME KIND KEYLEN DATALEN TIMEOUT" or "elem NAME KEY DATA TIMEOUT EXPIRES", got ${JSON.stringify(raw.slice(0, 80))}`,
      );
    }
    const [, set, keyHex, dataHex, timeoutText, expiresText] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const layout = layouts.get(set);
    if (!layout) throw unreadable(line, `elements of set ${set}, whose layout is unknown`);
    const list = elements.get(set) ?? [];
    if (list.length === 0) elements.set(set, list);
    list.push(decodeElement({ set, keyHex, dataHex, timeoutText, expiresText }, layout, line));
  }
  return { sets, elements };
}

function decodeElement(
  e: { set: string; keyHex: string; dataHex: string; timeoutText: string; expiresText: string },
  layout: SetLayout,
  line: number,
): KernelElement {
  const key = decodeKey(e.keyHex, layout, line, e.set);
  let value: string | undefined;
  if (layout.data !== undefined) {
    value = decodeKey(e.dataHex, { key: [layout.data] }, line, e.set)[0];
  } else if (e.dataHex !== '-')
    throw unreadable(line, `an element of set ${e.set} has data, its layout none`);
  const timeoutMs = millis(e.timeoutText, line, 'an element timeout');
  const expiresMs = millis(e.expiresText, line, 'an element expiry');
  // As nft -j: whole seconds rounded down; an element without an expiry never expires.
  const left = expiresMs === undefined || expiresMs === 0 ? undefined : expiresMs;
  return {
    key,
    expiresS: left === undefined ? Number.POSITIVE_INFINITY : Math.floor(left / 1000),
    ...(left !== undefined ? { expiresMs: left } : {}),
    ...(timeoutMs ? { timeoutS: Math.floor(timeoutMs / 1000) } : {}),
    ...(value !== undefined ? { value } : {}),
  };
}

/**
 * The kernel state a reading of the entry sets gives, as the `nft -j` listing of the sets does: every set of
 * the table (not the maps) with its default timeout, and the elements of those that were listed (the others
 * empty); no map or chain names.
 */
export function readerKernelState(listing: SetReaderListing): KernelState {
  const sets = new Map<string, KernelSet>();
  for (const [name, s] of listing.sets) {
    const elements = listing.elements.get(name) ?? [];
    if (s.kind === 'map' && !listing.elements.has(name)) continue;
    sets.set(name, {
      name,
      ...(s.timeoutMs !== undefined ? { timeoutS: Math.floor(s.timeoutMs / 1000) } : {}),
      elements,
    });
  }
  return { table: true, sets, maps: new Set(), chains: new Set() };
}
