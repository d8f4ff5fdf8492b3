import { PorttriggerError } from '../domain/errors.js';
import { TABLE_NAME } from '../domain/types.js';

/** One element of a dynamic set as nft reports it. */
export interface KernelElement {
  /** The key: one address, or the parts of a concatenation. */
  readonly key: readonly string[];
  /** Seconds until it expires, as nft -j reports them (whole seconds, rounded down). */
  readonly expiresS: number;
  /** Milliseconds until it expires, when the listing tells them (the set reader does; nft -j does not). */
  readonly expiresMs?: number;
  readonly timeoutS?: number;
  /** A map element's value (the DNAT target of `target4`, `rtarget4`). */
  readonly value?: string;
}

/** One named set of our table with its elements. */
export interface KernelSet {
  readonly name: string;
  readonly timeoutS?: number;
  readonly elements: readonly KernelElement[];
}

/** What the kernel holds of our table, from `nft -j list` output. */
export interface KernelState {
  readonly table: boolean;
  readonly sets: ReadonlyMap<string, KernelSet>;
  readonly maps: ReadonlySet<string>;
  readonly chains: ReadonlySet<string>;
}

type Json = unknown;

/**
 * Every object of one kind (`set`, `map`, `chain`, `rule`…) in `nft -j list` output, of every table.
 * Throws NFT_LIST_FAILED when the document is not nft JSON output.
 */
export function nftObjects(doc: Json, kind: string): Record<string, Json>[] {
  const list = (doc as { nftables?: Json[] } | null)?.nftables;
  if (!Array.isArray(list))
    throw new PorttriggerError('NFT_LIST_FAILED', 'nft listed something unreadable: no "nftables" array');
  return list
    .map((o) => (o as Record<string, Json>)[kind])
    .filter((o): o is Record<string, Json> => typeof o === 'object' && o !== null);
}

function objects(doc: Json, kind: string): Record<string, Json>[] {
  return nftObjects(doc, kind).filter((o) => o.family === 'inet' && o.table === TABLE_NAME);
}

function keyParts(val: Json): string[] {
  if (typeof val === 'string' || typeof val === 'number') return [String(val)];
  const concat = (val as { concat?: Json[] } | null)?.concat;
  if (Array.isArray(concat)) return concat.map((v) => String(v));
  throw new PorttriggerError(
    'NFT_LIST_FAILED',
    `nft listed something unreadable: a set element of value ${JSON.stringify(val)}`,
  );
}

function parseElement(raw: Json): KernelElement {
  // A map element is [key, value]; only address values are ours (dispatch maps hold verdicts, not parsed).
  if (Array.isArray(raw)) {
    const [key, value] = raw as [Json, Json];
    return { ...parseElement(key), ...(typeof value === 'string' ? { value } : {}) };
  }
  // A plain element is the value itself; one with a timeout is {elem: {val, timeout?, expires}}.
  const inner = (raw as { elem?: Record<string, Json> } | null)?.elem;
  if (!inner) return { key: keyParts(raw), expiresS: Number.POSITIVE_INFINITY };
  const expires = typeof inner.expires === 'number' ? inner.expires : Number.POSITIVE_INFINITY;
  return {
    key: keyParts(inner.val),
    expiresS: expires,
    ...(typeof inner.timeout === 'number' ? { timeoutS: inner.timeout } : {}),
  };
}

/**
 * One `nft -j list sets` document from a terse listing of every set (names, no elements) and full listings
 * of some of them: each full listing replaces its set in the terse one.
 */
export function mergeSetListings(terse: Json, full: readonly Json[]): Json {
  const byName = new Map<string, Record<string, Json>>();
  for (const doc of full) for (const s of objects(doc, 'set')) byName.set(String(s.name), s);
  const merged = nftObjects(terse, 'set').map((s) => ({
    set: (s.family === 'inet' && s.table === TABLE_NAME && byName.get(String(s.name))) || s,
  }));
  return { nftables: merged };
}

/**
 * Reads the listings the datapath takes: `nft -j list sets table inet porttrigger` (with elements),
 * `nft -j list maps inet` and `nft -j list chains inet` (names only), or one `nft -j list table inet porttrigger`
 * passed as all three. Maps with address values (the DNAT targets) are listed with the sets, elements and
 * all. Pass null for a table that does not exist.
 */
export function parseKernelState(listings: { sets: Json; maps: Json; chains: Json } | null): KernelState {
  if (!listings) return { table: false, sets: new Map(), maps: new Set(), chains: new Set() };
  const sets = new Map<string, KernelSet>();
  for (const s of objects(listings.sets, 'set')) {
    const name = String(s.name);
    const elems = Array.isArray(s.elem) ? s.elem : [];
    sets.set(name, {
      name,
      ...(typeof s.timeout === 'number' ? { timeoutS: s.timeout } : {}),
      elements: elems.map(parseElement),
    });
  }
  for (const m of objects(listings.maps, 'map')) {
    if (typeof m.map !== 'string' || !/_addr$/.test(m.map)) continue;
    const name = String(m.name);
    const elems = Array.isArray(m.elem) ? m.elem : [];
    sets.set(name, { name, elements: elems.map(parseElement) });
  }
  return {
    table: true,
    sets,
    maps: new Set(objects(listings.maps, 'map').map((m) => String(m.name))),
    chains: new Set(objects(listings.chains, 'chain').map((c) => String(c.name))),
  };
}
