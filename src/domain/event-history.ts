import type { EventSettings } from './types.js';

/** What the history needs to know of an event to index it; the rest is stored as JSON. */
export interface EventRecord {
  readonly type: string;
  /** Milliseconds since the epoch. */
  readonly at: number;
  /** The rule of the event; gateway events (the WAN's) have none. */
  readonly rule?: string;
  readonly host?: string;
  readonly contender?: string;
  readonly holder?: string;
}

/** A stored event: the event and its id (ids only grow; they are the paging cursor). */
export type StoredEvent<E extends EventRecord> = E & { readonly id: number };

import { MAX_PAGE } from './paging.js';

/** The largest page a query returns (src/domain/paging.ts). */
export { MAX_PAGE };

/** Filters and paging of a query; every filter is optional. */
export interface EventQuery {
  readonly rule?: string;
  /** Matches the event's host, contender or holder. */
  readonly host?: string;
  readonly type?: string;
  /** Events at or after this time (ms). */
  readonly since?: number;
  /** Events before this time (ms). */
  readonly until?: number;
  /** At most this many events (default 100, at most {@link MAX_PAGE}). */
  readonly limit?: number;
  /** Continue after this id: older ids for `desc`, newer ones for `asc`. */
  readonly cursor?: number;
  /** `desc` (default): newest first. */
  readonly order?: 'asc' | 'desc';
}

/** One page of events; `nextCursor` is there when more match. */
export interface EventPage<E extends EventRecord> {
  readonly events: readonly StoredEvent<E>[];
  readonly nextCursor?: number;
}

/** How much history to keep. */
export interface RetentionSettings {
  readonly retentionDays: number;
  readonly maxEvents: number;
}

/** The event-history port: what the service stores its events in (the SQLite store implements it). */
export interface EventHistory<E extends EventRecord> {
  /** Stores an event; resolves its id. Throws when the history cannot be written. */
  insert(event: E): number;
  query(query: EventQuery): EventPage<E>;
  /** Applies new retention settings and trims what falls outside them (a history that cannot, leaves it out). */
  setRetention?(retention: RetentionSettings): void;
  /**
   * Whether the file behind the history was deleted or replaced since it was opened (writes would go to a file
   * nobody sees): the service then opens the history again. Cheap enough to ask before every write.
   */
  replaced?(): boolean;
  close(): void;
}

/**
 * Opens the history for the service's event settings. The service calls it at start and again after a
 * failure (the disk may come back), so it receives the opener rather than an open history.
 */
export type OpenEventHistory<E extends EventRecord> = (
  settings: EventSettings,
  clock: () => number,
) => EventHistory<E>;
