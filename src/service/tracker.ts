/**
 * The pure heart of the service: it compares each trigger table read from the datapath with what it saw
 * before and turns the differences into events. The kernel does not record when an entry opened, so the
 * tracker remembers it (first sight, or an estimate from the expiry) and fills `openedAt` in.
 */
import type { ReleaseSelector } from '../domain/datapath.js';
import {
  type Config,
  type ConflictRecord,
  RECORD_WINDOW_SECONDS,
  type TriggerEntry,
  type TriggerTable,
} from '../domain/types.js';
import type { CloseReason, TriggerEvent } from './events.js';

/** What caused the change being observed, when the service made it (otherwise entries that vanish expired). */
export type ObserveCause =
  | { readonly kind: 'released'; readonly selector: ReleaseSelector }
  | { readonly kind: 'applied' };

/** The context of one observation. */
export interface ObserveContext {
  /** The config in force when the table was read. */
  readonly config: Config;
  /** Entries seen for the first time were in the kernel before the service started. */
  readonly adopted?: boolean;
  readonly cause?: ObserveCause;
}

/** The table with `openedAt` filled in, and the events since the previous observation. */
export interface Observation {
  readonly table: TriggerTable;
  readonly events: readonly TriggerEvent[];
}

/** Kernel record times are read with whole-second resolution; two reads of one record differ by up to ~1 s. */
const RECORD_TOLERANCE_MS = 3_000;
/** A record leaves the table after the window; remember it a little longer so a late read is not "new". */
const RECORD_MEMORY_MS = (RECORD_WINDOW_SECONDS + 15) * 1_000;
const TYPE_ORDER: Record<TriggerEvent['type'], number> = { closed: 0, opened: 1, conflict: 2, blocked: 3 };

interface KnownEntry {
  readonly entry: TriggerEntry;
  readonly openedAt: number;
}

/** The identity of an entry: (rule, family, holder, remote). */
export function entryKey(e: Pick<TriggerEntry, 'rule' | 'family' | 'holder' | 'remote'>): string {
  return `${e.rule}\u0000${e.family}\u0000${e.holder}\u0000${e.remote ?? ''}`;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}

function selects(selector: ReleaseSelector, e: TriggerEntry): boolean {
  return (
    e.rule === selector.rule &&
    (selector.holder === undefined || selector.holder === e.holder) &&
    (selector.remote === undefined || selector.remote === e.remote) &&
    (selector.family === undefined || selector.family === e.family)
  );
}

function closeReason(e: TriggerEntry, context: ObserveContext, now: number): CloseReason {
  const rule = context.config.rules.find((r) => r.name === e.rule);
  if (!rule) return 'rule-removed';
  if (!rule.enabled || !context.config.enabled) return 'rule-disabled';
  const cause = context.cause;
  if (cause?.kind === 'released' && selects(cause.selector, e)) return 'released';
  // An apply that drops a live entry of a rule that is still there changed its open ports or scope.
  if (cause?.kind === 'applied' && e.expiresAt > now) return 'rule-changed';
  return 'expired';
}

/** Turns successive trigger tables into events; remembers entries and records between reads. */
export class TableTracker {
  readonly #entries = new Map<string, KnownEntry>();
  readonly #records = new Map<string, number[]>();
  #lastAt: number | undefined;
  #last: TriggerTable | undefined;

  /** The table of the last observation: what a read answers while a fresh one is slow. */
  get last(): TriggerTable | undefined {
    return this.#last;
  }

  /** How many entries were active at the last observation. */
  get size(): number {
    return this.#entries.size;
  }

  /** Compares a freshly read table with the previous one; returns the annotated table and the events. */
  observe(table: TriggerTable, context: ObserveContext): Observation {
    const now = table.at;
    const since = this.#lastAt ?? now;
    const events: TriggerEvent[] = [];
    const current = new Map<string, KnownEntry>();
    for (const entry of table.entries) {
      const key = entryKey(entry);
      const known = this.#entries.get(key);
      const openedAt = known?.openedAt ?? this.#openedAt(entry, context, since, now);
      current.set(key, { entry, openedAt });
      if (known) continue;
      events.push({
        type: 'opened',
        at: openedAt,
        rule: entry.rule,
        family: entry.family,
        host: entry.holder,
        ...(entry.remote !== undefined ? { remote: entry.remote } : {}),
        expiresAt: entry.expiresAt,
        ...(context.adopted ? { adopted: true as const } : {}),
      });
    }
    for (const [key, known] of this.#entries) {
      if (current.has(key)) continue;
      const reason = closeReason(known.entry, context, now);
      events.push(
        this.#closed(known, reason, reason === 'expired' ? clamp(known.entry.expiresAt, since, now) : now),
      );
    }
    this.#entries.clear();
    for (const [key, known] of current) this.#entries.set(key, known);
    events.push(...this.#newRecords(table, now));
    this.#lastAt = now;
    events.sort((a, b) => a.at - b.at || TYPE_ORDER[a.type] - TYPE_ORDER[b.type]);
    this.#last = {
      ...table,
      entries: [...current.values()].map(({ entry, openedAt }) => ({ ...entry, openedAt })),
    };
    return { table: this.#last, events };
  }

  /** Closes every known entry (the service removed its table); returns the `closed` events. */
  closeAll(reason: CloseReason, at: number): TriggerEvent[] {
    const events = [...this.#entries.values()].map((known) => this.#closed(known, reason, at));
    this.#entries.clear();
    return events;
  }

  /**
   * The entries known at the last observation, merged with those of `also` (a later read that may be partial),
   * as a table dated `at`: what a restore seeds back after another tool deleted our table.
   */
  remembered(at: number, also?: TriggerTable): TriggerTable {
    const merged = new Map<string, TriggerEntry>();
    for (const { entry } of this.#entries.values()) merged.set(entryKey(entry), entry);
    for (const entry of also?.entries ?? []) {
      const known = merged.get(entryKey(entry));
      if (!known || entry.expiresAt > known.expiresAt) merged.set(entryKey(entry), entry);
    }
    return { at, entries: [...merged.values()], conflicts: [], blocked: [] };
  }

  /** Marks a record as already reported (an event in the history from before a restart). */
  rememberRecord(record: {
    type: 'conflict' | 'blocked';
    rule: string;
    family: string;
    who: string;
    remote?: string;
    at: number;
  }): void {
    this.#seen(recordKey(record.type, record.rule, record.family, record.who, record.remote), record.at);
  }

  #openedAt(entry: TriggerEntry, context: ObserveContext, since: number, now: number): number {
    if (context.adopted) return entry.openedAt ?? now;
    if (entry.openedAt !== undefined) return entry.openedAt;
    // The expiry minus the idle timeout is the last refresh: the open itself happened after the last read.
    const rule = context.config.rules.find((r) => r.name === entry.rule);
    return rule ? clamp(entry.expiresAt - rule.idleTimeout * 1_000, since, now) : now;
  }

  #closed(known: KnownEntry, reason: CloseReason, at: number): TriggerEvent {
    const { entry } = known;
    return {
      type: 'closed',
      at,
      rule: entry.rule,
      family: entry.family,
      host: entry.holder,
      ...(entry.remote !== undefined ? { remote: entry.remote } : {}),
      reason,
      openedAt: known.openedAt,
    };
  }

  #newRecords(table: TriggerTable, now: number): TriggerEvent[] {
    for (const [key, times] of this.#records) {
      const kept = times.filter((t) => t >= now - RECORD_MEMORY_MS);
      if (kept.length > 0) this.#records.set(key, kept);
      else this.#records.delete(key);
    }
    const events: TriggerEvent[] = [];
    for (const c of table.conflicts) {
      if (this.#seen(recordKey('conflict', c.rule, c.family, c.contender, c.remote), c.at)) continue;
      events.push(conflictEvent(c));
    }
    for (const b of table.blocked) {
      if (this.#seen(recordKey('blocked', b.rule, b.family, b.host, undefined), b.at)) continue;
      events.push({ type: 'blocked', at: b.at, rule: b.rule, family: b.family, host: b.host });
    }
    return events;
  }

  /** True when a record with this key and about this time was seen; otherwise remembers it. */
  #seen(key: string, at: number): boolean {
    const times = this.#records.get(key) ?? [];
    if (times.some((t) => Math.abs(t - at) <= RECORD_TOLERANCE_MS)) return true;
    this.#records.set(key, [...times, at]);
    return false;
  }
}

function recordKey(
  type: string,
  rule: string,
  family: string,
  who: string,
  remote: string | undefined,
): string {
  return [type, rule, family, who, remote ?? ''].join('\u0000');
}

function conflictEvent(c: ConflictRecord): TriggerEvent {
  return {
    type: 'conflict',
    at: c.at,
    rule: c.rule,
    family: c.family,
    contender: c.contender,
    ...(c.holder !== undefined ? { holder: c.holder } : {}),
    ...(c.remote !== undefined ? { remote: c.remote } : {}),
  };
}
