import { longestZeroRun } from '../domain/address.js';
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

// Decoding reads the output text in place, by offsets: a large read is tens of thousands of elements, and a
// substring and a parseInt per field or byte cost more than the reader's whole run.
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) NIBBLE['0123456789abcdef'.charCodeAt(i)] = i;

/** The byte written at character `c` of `src` (two hex digits); -1 for characters that are not lowercase hex. */
function byteAt(src: string, c: number): number {
  const hi = NIBBLE[src.charCodeAt(c)] ?? -1;
  const lo = NIBBLE[src.charCodeAt(c + 1)] ?? -1;
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

function formatIpv4(src: string, c: number): string {
  return `${byteAt(src, c)}.${byteAt(src, c + 2)}.${byteAt(src, c + 4)}.${byteAt(src, c + 6)}`;
}

/** An IPv6 address as nft prints it (glibc's inet_ntop): RFC 5952, and `::ffff:a.b.c.d` for a mapped one. */
function formatIpv6(src: string, c: number): string {
  const words = Array.from(
    { length: 8 },
    (_, i) => (byteAt(src, c + i * 4) << 8) | byteAt(src, c + i * 4 + 2),
  );
  const best = longestZeroRun(words);
  // inet_ntop keeps IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses dotted.
  const embedded = best.start === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff));
  const tailWords = embedded ? 6 : 8;
  const text = words.slice(0, tailWords).map((w) => w.toString(16));
  const dotted = embedded ? formatIpv4(src, c + 24) : undefined;
  let out: string;
  if (best.start < 0 || best.start >= tailWords) out = text.join(':');
  else {
    const end = Math.min(best.start + best.len, tailWords);
    out = `${text.slice(0, best.start).join(':')}::${text.slice(end).join(':')}`;
  }
  if (dotted === undefined) return out;
  return out.endsWith(':') ? `${out}${dotted}` : `${out}:${dotted}`;
}

const RULE_BYTES = HOST_LITTLE_ENDIAN ? [6, 4, 2, 0] : [0, 2, 4, 6];

function formatRule(src: string, c: number): string {
  const [b0, b1, b2, b3] = RULE_BYTES as [number, number, number, number];
  const value =
    byteAt(src, c + b0) * 0x1000000 +
    (byteAt(src, c + b1) << 16) +
    (byteAt(src, c + b2) << 8) +
    byteAt(src, c + b3);
  return String(value);
}

function formatPart(part: ElementPart, src: string, c: number): string {
  switch (part) {
    case 'rule':
      return formatRule(src, c);
    case 'port':
      return String((byteAt(src, c) << 8) | byteAt(src, c + 2));
    case 'ipv4':
      return formatIpv4(src, c);
    case 'ipv6':
      return formatIpv6(src, c);
  }
}

function unreadable(line: number, why: string): PorttriggerError {
  return new PorttriggerError(
    'NFT_LIST_FAILED',
    `the set reader printed something unreadable (line ${line}): ${why}`,
  );
}

/** Whether characters `start` to `end` of `src` are lowercase hex digits. */
function isHex(src: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if ((NIBBLE[src.charCodeAt(i)] ?? -1) < 0) return false;
  return true;
}

/** The parts of the key (or data) of `layout` written at characters `start` to `end` of `src`. */
function decodeKey(
  src: string,
  start: number,
  end: number,
  layout: SetLayout,
  at: { line: number; set: string },
): string[] {
  const want = keyBytes(layout);
  if (end - start !== want * 2 || !isHex(src, start, end)) {
    const got = src.slice(start, end);
    throw unreadable(
      at.line,
      /^(?:[0-9a-f]{2})*$/.test(got)
        ? `a key of set ${at.set} has ${got.length / 2} bytes, its layout ${want}`
        : `a key of set ${at.set} is ${JSON.stringify(got.slice(0, 80))}, not hex`,
    );
  }
  if (layout.key.length === 1) return [formatPart(layout.key[0]!, src, start)];
  const parts: string[] = [];
  let c = start;
  for (const part of layout.key) {
    parts.push(formatPart(part, src, c));
    c += registerBytes(part) * 2;
  }
  return parts;
}

/** Milliseconds written at characters `start` to `end` (`-` when none); throws naming the line for anything else. */
function millis(
  src: string,
  start: number,
  end: number,
  at: { line: number },
  what: string,
): number | undefined {
  if (end - start === 1 && src.charCodeAt(start) === 45 /* - */) return undefined;
  let ms = 0;
  for (let i = start; i < end; i++) {
    const d = src.charCodeAt(i) - 48;
    if (d < 0 || d > 9) ms = Number.NaN;
    ms = ms * 10 + d;
  }
  if (end === start || !Number.isSafeInteger(ms)) {
    throw unreadable(at.line, `${what} is ${JSON.stringify(src.slice(start, end))}, not milliseconds`);
  }
  return ms;
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
  const at = { line: 0, set: '' };
  let layout: SetLayout | undefined;
  let list: KernelElement[] = [];
  const spaces = [0, 0, 0, 0, 0];
  for (let pos = 0; pos < text.length; ) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    at.line++;
    // The five separators of a line of six fields; a line with fewer or more is cut short or garbled.
    let found = 0;
    for (let c = text.indexOf(' ', pos); c >= 0 && c < end; c = text.indexOf(' ', c + 1)) {
      if (found === 5) {
        found = 6;
        break;
      }
      spaces[found++] = c;
    }
    const [s1, s2, s3, s4, s5] = spaces as [number, number, number, number, number];
    const head = found === 5 ? text.slice(pos, s1) : '';
    if (head === 'set') {
      const kind = text.slice(s2 + 1, s3);
      if (kind !== 'set' && kind !== 'map')
        throw unreadable(at.line, `a set of kind ${JSON.stringify(kind)}`);
      const timeoutMs = millis(text, s5 + 1, end, at, 'a set timeout');
      sets.set(text.slice(s1 + 1, s2), { kind, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
    } else if (head === 'elem') {
      // Elements of one set come together: its name and layout are looked up once.
      if (s2 - s1 - 1 !== at.set.length || !text.startsWith(at.set, s1 + 1)) {
        at.set = text.slice(s1 + 1, s2);
        layout = layouts.get(at.set);
        if (!layout) throw unreadable(at.line, `elements of set ${at.set}, whose layout is unknown`);
        list = elements.get(at.set) ?? [];
        elements.set(at.set, list);
      }
      list.push(decodeElement(text, [s2, s3, s4, s5, end], layout!, at));
    } else {
      throw unreadable(
        at.line,
        `expected "set NAME KIND KEYLEN DATALEN TIMEOUT" or "elem NAME KEY DATA TIMEOUT EXPIRES", got ${JSON.stringify(text.slice(pos, Math.min(end, pos + 80)))}`,
      );
    }
    pos = end + 1;
  }
  return { sets, elements };
}

/** The element of a line whose key, data, timeout and expiry start after the separators `s2` to `s5`. */
function decodeElement(
  src: string,
  [s2, s3, s4, s5, end]: readonly [number, number, number, number, number],
  layout: SetLayout,
  at: { line: number; set: string },
): KernelElement {
  const key = decodeKey(src, s2 + 1, s3, layout, at);
  let value: string | undefined;
  if (layout.data !== undefined) value = decodeKey(src, s3 + 1, s4, { key: [layout.data] }, at)[0];
  else if (s4 - s3 !== 2 || src.charCodeAt(s3 + 1) !== 45 /* - */) {
    throw unreadable(at.line, `an element of set ${at.set} has data, its layout none`);
  }
  const timeoutMs = millis(src, s4 + 1, s5, at, 'an element timeout');
  const expiresMs = millis(src, s5 + 1, end, at, 'an element expiry');
  // As nft -j: whole seconds rounded down; an element without an expiry never expires.
  const left = expiresMs === undefined || expiresMs === 0 ? undefined : expiresMs;
  // Built field by field: spreading optional fields costs an object each, per element.
  const element: { -readonly [K in keyof KernelElement]: KernelElement[K] } = {
    key,
    expiresS: left === undefined ? Number.POSITIVE_INFINITY : Math.floor(left / 1000),
  };
  if (left !== undefined) element.expiresMs = left;
  if (timeoutMs) element.timeoutS = Math.floor(timeoutMs / 1000);
  if (value !== undefined) element.value = value;
  return element;
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
