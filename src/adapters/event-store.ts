/**
 * The event history: an SQLite database (WAL) of the service's events, queried by page and filter, trimmed by
 * age and count. Every failure is an EventStoreError: the service catches it and goes on triggering.
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { PorttriggerError } from '../domain/errors.js';
import type {
  EventHistory,
  EventPage,
  EventQuery,
  EventRecord,
  RetentionSettings,
} from '../domain/event-history.js';
import { DEFAULT_PAGE, MAX_PAGE } from '../domain/paging.js';

/** The history port's types, re-exported for the callers of the store. */
export type {
  EventPage,
  EventQuery,
  EventRecord,
  RetentionSettings,
  StoredEvent,
} from '../domain/event-history.js';
/** The largest page a query returns. */
export { MAX_PAGE };

/** Options for {@link EventStore.open}. */
export interface EventStoreOptions extends RetentionSettings {
  /** The database file (created with its directory). */
  readonly path: string;
  readonly clock?: () => number;
}

/** Thrown when the history cannot be opened, written or read. */
export class EventStoreError extends PorttriggerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('EVENT_STORE_FAILED', message, options);
  }
}

const DAY_MS = 86_400_000;
// Trimming costs a delete per table scan of the index: often enough to bound growth, rarely enough to be free.
const PRUNE_EVERY_INSERTS = 100;
const PRUNE_EVERY_MS = 60_000;

/**
 * The schema's version, kept in SQLite's `user_version`. 0: a database of before versions were kept (`rule`
 * NOT NULL); 1: `rule` may be NULL, for the gateway's own events.
 */
export const SCHEMA_VERSION = 1;

const TABLE = (name: string) => `
CREATE TABLE ${name} (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  rule TEXT,
  host TEXT,
  holder TEXT,
  data TEXT NOT NULL
);`;

const INDEXES = `
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE INDEX IF NOT EXISTS events_rule ON events (rule, id);
CREATE INDEX IF NOT EXISTS events_host ON events (host, id);
CREATE INDEX IF NOT EXISTS events_holder ON events (holder, id);
`;

/**
 * Brings the database to {@link SCHEMA_VERSION} in one transaction: a new file gets the table; a version-0 table
 * is copied into one whose `rule` may be NULL (SQLite cannot drop NOT NULL in place), ids and the id sequence
 * kept, so cursors and `Last-Event-ID` of clients stay valid. A newer version than this code knows is refused.
 */
function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === SCHEMA_VERSION) return;
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `its schema version ${version} is newer than this porttrigger knows (${SCHEMA_VERSION}): it was written by a newer version`,
    );
  }
  db.transaction(() => {
    const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'").get();
    if (exists) {
      const seq = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as
        | { seq: number }
        | undefined;
      db.exec(TABLE('events_v1'));
      db.exec(
        'INSERT INTO events_v1 (id, at, type, rule, host, holder, data) SELECT id, at, type, rule, host, holder, data FROM events',
      );
      db.exec('DROP TABLE events');
      db.exec('ALTER TABLE events_v1 RENAME TO events');
      // Ids only grow, even past the newest event trimmed away: the sequence comes along.
      if (seq) {
        const kept = db
          .prepare("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'events'")
          .run(seq.seq);
        if (kept.changes === 0) {
          db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)").run(seq.seq);
        }
      }
    } else {
      db.exec(TABLE('events'));
    }
    db.exec(INDEXES);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}

function fail(what: string, path: string, error: unknown): EventStoreError {
  return new EventStoreError(`event history ${path}: ${what} failed: ${(error as Error).message}`, {
    cause: error,
  });
}

/** The SQLite event history. Synchronous (better-sqlite3): each call takes microseconds to milliseconds. */
export class EventStore<E extends EventRecord> implements EventHistory<E> {
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #clock: () => number;
  readonly #insert: Database.Statement;
  /** The file the connection has open, to notice a file deleted or put in its place. */
  readonly #identity: { readonly dev: bigint; readonly ino: bigint };
  #retention: RetentionSettings;
  #sincePrune = 0;
  #lastPrune = 0;

  private constructor(db: Database.Database, options: EventStoreOptions) {
    this.#db = db;
    this.#path = options.path;
    this.#clock = options.clock ?? Date.now;
    this.#retention = { retentionDays: options.retentionDays, maxEvents: options.maxEvents };
    const { dev, ino } = statSync(options.path, { bigint: true });
    this.#identity = { dev, ino };
    this.#insert = db.prepare(
      'INSERT INTO events (at, type, rule, host, holder, data) VALUES (@at, @type, @rule, @host, @holder, @data)',
    );
  }

  /**
   * Opens (creating) the database and trims it.
   * @example const store = EventStore.open<TriggerEvent>({ path: '/var/lib/porttrigger/events.db', retentionDays: 30, maxEvents: 100_000 })
   */
  static open<E extends EventRecord>(options: EventStoreOptions): EventStore<E> {
    let db: Database.Database | undefined;
    try {
      mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
      // The history names hosts and rules: readable by root only. SQLite gives its -wal and -shm files the
      // database file's mode, so creating that one 0600 (and tightening an existing one) covers all three.
      closeSync(openSync(options.path, 'a', 0o600));
      chmodSync(options.path, 0o600);
      db = new Database(options.path);
      db.pragma('journal_mode = WAL');
      // WAL with NORMAL is durable across application crashes; an OS crash may lose the last events only.
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 1000');
      migrate(db);
      const store = new EventStore<E>(db, options);
      store.prune();
      return store;
    } catch (error) {
      db?.close();
      throw error instanceof EventStoreError ? error : fail('open', options.path, error);
    }
  }

  /** The database file. */
  get path(): string {
    return this.#path;
  }

  /** Stores an event and returns its id. */
  insert(event: E): number {
    try {
      const info = this.#insert.run({
        at: Math.round(event.at),
        type: event.type,
        rule: event.rule ?? null,
        host: event.host ?? event.contender ?? null,
        holder: event.holder ?? null,
        data: JSON.stringify(event),
      });
      this.#sincePrune++;
      if (this.#sincePrune >= PRUNE_EVERY_INSERTS || this.#clock() - this.#lastPrune >= PRUNE_EVERY_MS)
        this.prune();
      return Number(info.lastInsertRowid);
    } catch (error) {
      throw error instanceof EventStoreError ? error : fail('write', this.#path, error);
    }
  }

  /** One page of events matching the filters. */
  query(query: EventQuery = {}): EventPage<E> {
    const order = query.order ?? 'desc';
    const limit = Math.min(Math.max(1, Math.floor(query.limit ?? DEFAULT_PAGE)), MAX_PAGE);
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    if (query.rule !== undefined) {
      where.push('rule = @rule');
      params.rule = query.rule;
    }
    if (query.host !== undefined) {
      where.push('(host = @host OR holder = @host)');
      params.host = query.host;
    }
    if (query.type !== undefined) {
      where.push('type = @type');
      params.type = query.type;
    }
    if (query.since !== undefined) {
      where.push('at >= @since');
      params.since = query.since;
    }
    if (query.until !== undefined) {
      where.push('at < @until');
      params.until = query.until;
    }
    if (query.cursor !== undefined) {
      where.push(order === 'desc' ? 'id < @cursor' : 'id > @cursor');
      params.cursor = query.cursor;
    }
    const sql =
      `SELECT id, data FROM events ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ` +
      `ORDER BY id ${order === 'desc' ? 'DESC' : 'ASC'} LIMIT ${limit + 1}`;
    try {
      const rows = this.#db.prepare(sql).all(params) as { id: number; data: string }[];
      const page = rows.slice(0, limit).map((r) => ({ ...(JSON.parse(r.data) as E), id: r.id }));
      const last = page[page.length - 1];
      return rows.length > limit && last ? { events: page, nextCursor: last.id } : { events: page };
    } catch (error) {
      throw fail('query', this.#path, error);
    }
  }

  /** Deletes events older than the retention age and the oldest beyond the maximum count; returns how many. */
  prune(): number {
    const now = this.#clock();
    try {
      const old = this.#db
        .prepare('DELETE FROM events WHERE at < ?')
        .run(now - this.#retention.retentionDays * DAY_MS);
      const excess = this.#db
        .prepare('DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)')
        .run(this.#retention.maxEvents);
      this.#sincePrune = 0;
      this.#lastPrune = now;
      return old.changes + excess.changes;
    } catch (error) {
      throw fail('trim', this.#path, error);
    }
  }

  /** Whether the path no longer names the file this store has open (deleted, moved away or replaced): one stat. */
  replaced(): boolean {
    try {
      const { dev, ino } = statSync(this.#path, { bigint: true });
      return dev !== this.#identity.dev || ino !== this.#identity.ino;
    } catch {
      return true;
    }
  }

  /** Changes how much history is kept (a reload); trims at once. */
  setRetention(retention: RetentionSettings): void {
    this.#retention = { retentionDays: retention.retentionDays, maxEvents: retention.maxEvents };
    this.prune();
  }

  /** Closes the database; later calls fail. */
  close(): void {
    try {
      this.#db.close();
    } catch {
      // Closing twice or after a failure: nothing left to release.
    }
  }
}
