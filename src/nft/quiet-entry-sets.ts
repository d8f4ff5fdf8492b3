/**
 * What a listing of the entry sets still says some time later, when no kernel signal came since: a one-rule
 * change then needs no listing of its own (each listing is an nft process that loads nft's cache of the whole
 * table). Pure: the datapath decides when to ask (docs/architecture.md, "One change").
 */
import { type SharedSetKind, sharedSetNames } from './plan.js';
import type { KernelSet, KernelState } from './state.js';

/** Sets whose elements the kernel adds or refreshes while it forwards: an entry and its gate and target. */
const ENTRY_KINDS: readonly SharedSetKind[] = ['hold', 'held', 'target', 'taken', 'pair', 'rtarget'];
/** Records: added once by a packet (which signals), never refreshed, gone after their window. */
const RECORD_KINDS: readonly SharedSetKind[] = ['conflict', 'rconflict', 'blocked'];

function namesOf(kinds: readonly SharedSetKind[]): Set<string> {
  return new Set(kinds.flatMap((k) => [...sharedSetNames(k, 'ipv4'), ...sharedSetNames(k, 'ipv6')]));
}

const ENTRY_SETS = namesOf(ENTRY_KINDS);
const RECORD_SETS = namesOf(RECORD_KINDS);

/**
 * The entry sets `ageMs` after `listed` was taken, provided no kernel signal came in between (the caller's
 * part): nothing was added then, since every new entry, conflict and blocked record marks a connection that
 * the connection tracker reports. Records age by the time passed and leave at the end of their window. With
 * an entry in the listing, undefined: an entry's remaining time is only a lower bound (the first packet of
 * an inbound connection refreshes it without a signal), so whether it is still there, and for how long, takes
 * a listing.
 * @example quietEntrySets(state, 5_000) // the state 5 s on, or undefined when an entry is open
 */
export function quietEntrySets(listed: KernelState, ageMs: number): KernelState | undefined {
  const sets = new Map<string, KernelSet>();
  for (const [name, set] of listed.sets) {
    if (ENTRY_SETS.has(name) && set.elements.length > 0) return undefined;
    if (!RECORD_SETS.has(name) || set.elements.length === 0) {
      sets.set(name, set);
      continue;
    }
    const elements = set.elements
      .map((e) => ({ ...e, expiresS: e.expiresS - ageMs / 1000 }))
      .filter((e) => e.expiresS > 0);
    sets.set(name, { ...set, elements });
  }
  return { ...listed, sets };
}
