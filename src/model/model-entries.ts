import type { BlockedRecord, ConflictRecord, Family } from '../domain/types.js';

/**
 * How a remote is found in an entry map: an IPv4 address as its 32 bits in a signed int (a small integer
 * for V8, compared without following a pointer), any other address as its canonical text.
 */
export type RemoteKey = number | string;

/** An entry as the model keeps it: the expiry and idle time move, the rest is fixed. */
export interface LiveEntry {
  readonly slot: RuleSlot;
  readonly family: Family;
  readonly holder: string;
  /** The remote of a `remote: contacted` entry; undefined for `remote: any`. */
  readonly remote: string | undefined;
  /** The key of `remote` in its map; undefined exactly when `remote` is. */
  readonly remoteKey: RemoteKey | undefined;
  readonly openedAt: number;
  expiresAt: number;
  idleMs: number;
  /** False once the entry left the store (expired and seen, released, closed by a reload). */
  stored: boolean;
}

/**
 * The entries and records of one rule name, reached without building keys on the hot path: one entry per
 * family for `remote: any`, a map by remote per family for `remote: contacted`; records by host (and remote).
 * Plain fields rather than per-family arrays: each array is one more pointer to chase per packet.
 */
export interface RuleSlot {
  readonly rule: string;
  anyIpv4: LiveEntry | undefined;
  anyIpv6: LiveEntry | undefined;
  readonly contactedIpv4: Map<RemoteKey, LiveEntry>;
  readonly contactedIpv6: Map<RemoteKey, LiveEntry>;
  /** The rule's conflict and blocked records, made on the first one (most rules never have any). */
  records: SlotRecords | undefined;
}

/** The records of one rule. */
export interface SlotRecords {
  /** Per family, for `remote: any`: contender → record. */
  readonly conflicts: readonly [Map<string, ConflictRecord>, Map<string, ConflictRecord>];
  /** Per family, for `remote: contacted`: contender → remote → record. */
  readonly contactedConflicts: readonly [
    Map<string, Map<string, ConflictRecord>>,
    Map<string, Map<string, ConflictRecord>>,
  ];
  /** Per family: host → record. */
  readonly blocked: readonly [Map<string, BlockedRecord>, Map<string, BlockedRecord>];
}

/** The records of a slot, made when first needed. */
export function recordsOf(slot: RuleSlot): SlotRecords {
  slot.records ??= {
    conflicts: [new Map(), new Map()],
    contactedConflicts: [new Map(), new Map()],
    blocked: [new Map(), new Map()],
  };
  return slot.records;
}

/** The record index of a family. */
export function familyIndex(family: Family): 0 | 1 {
  return family === 'ipv4' ? 0 : 1;
}

/** All entries of the model, by rule slot; an entry whose expiry is reached is deleted when it is seen. */
export class EntryStore {
  // Slots outlive their rule so that a connection admitted by an entry keeps pointing at the same place.
  private readonly slots = new Map<string, RuleSlot>();

  /** The slot of a rule name, created on first use. */
  slotOf(rule: string): RuleSlot {
    let slot = this.slots.get(rule);
    if (slot === undefined) {
      slot = {
        rule,
        anyIpv4: undefined,
        anyIpv6: undefined,
        contactedIpv4: new Map(),
        contactedIpv6: new Map(),
        records: undefined,
      };
      this.slots.set(rule, slot);
    }
    return slot;
  }

  /** The live entry of (slot, family, remote) at `now`, if any. */
  find(slot: RuleSlot, family: Family, remote: RemoteKey | undefined, now: number): LiveEntry | undefined {
    const entry =
      remote !== undefined
        ? (family === 'ipv4' ? slot.contactedIpv4 : slot.contactedIpv6).get(remote)
        : family === 'ipv4'
          ? slot.anyIpv4
          : slot.anyIpv6;
    if (entry === undefined || entry.expiresAt > now) return entry;
    this.delete(entry);
    return undefined;
  }

  /** The live entry of a remote in a `remote: contacted` map at `now`, if any. */
  findIn(byRemote: Map<RemoteKey, LiveEntry>, remote: RemoteKey, now: number): LiveEntry | undefined {
    const entry = byRemote.get(remote);
    if (entry === undefined || entry.expiresAt > now) return entry;
    this.delete(entry);
    return undefined;
  }

  /** Stores a new entry in its place (the caller has found that place empty). */
  add(entry: LiveEntry): void {
    const slot = entry.slot;
    if (entry.remoteKey !== undefined) {
      (entry.family === 'ipv4' ? slot.contactedIpv4 : slot.contactedIpv6).set(entry.remoteKey, entry);
    } else if (entry.family === 'ipv4') {
      slot.anyIpv4 = entry;
    } else {
      slot.anyIpv6 = entry;
    }
  }

  /** Deletes an entry. */
  delete(entry: LiveEntry): void {
    const slot = entry.slot;
    entry.stored = false;
    if (entry.remoteKey !== undefined) {
      const byRemote = entry.family === 'ipv4' ? slot.contactedIpv4 : slot.contactedIpv6;
      if (byRemote.get(entry.remoteKey) === entry) byRemote.delete(entry.remoteKey);
    } else if (entry.family === 'ipv4') {
      if (slot.anyIpv4 === entry) slot.anyIpv4 = undefined;
    } else if (slot.anyIpv6 === entry) {
      slot.anyIpv6 = undefined;
    }
  }

  /** Every live entry at `now` (expired ones are deleted on the way). */
  live(now: number): LiveEntry[] {
    const out: LiveEntry[] = [];
    for (const slot of this.slots.values()) {
      for (const entry of [
        slot.anyIpv4,
        slot.anyIpv6,
        ...slot.contactedIpv4.values(),
        ...slot.contactedIpv6.values(),
      ]) {
        if (entry === undefined) continue;
        if (entry.expiresAt > now) out.push(entry);
        else this.delete(entry);
      }
    }
    return out;
  }

  /** Every slot, with or without entries. */
  allSlots(): IterableIterator<RuleSlot> {
    return this.slots.values();
  }

  /** Forgets every entry, record and slot. */
  clear(): void {
    for (const entry of this.live(Number.NEGATIVE_INFINITY)) entry.stored = false;
    this.slots.clear();
  }
}
