import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServiceEvent, TriggerEvent } from '../service/events.js';
import { EventStore, EventStoreError, SCHEMA_VERSION } from './event-store.js';

const DAY = 86_400_000;
const NOW = 1_900_000_000_000;
let dir: string;
let now: number;
const stores: EventStore<TriggerEvent>[] = [];

function open(
  options: { retentionDays?: number; maxEvents?: number; path?: string } = {},
): EventStore<TriggerEvent> {
  const store = EventStore.open<TriggerEvent>({
    path: options.path ?? join(dir, 'events.db'),
    retentionDays: options.retentionDays ?? 30,
    maxEvents: options.maxEvents ?? 1_000,
    clock: () => now,
  });
  stores.push(store);
  return store;
}

const opened = (at: number, rule = 'game', host = '192.168.1.10'): TriggerEvent => ({
  type: 'opened',
  at,
  rule,
  family: 'ipv4',
  host,
  expiresAt: at + 30_000,
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pt-events-'));
  now = NOW;
});
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('EventStore', () => {
  it('stores events in WAL mode and returns them newest first with their ids', () => {
    const store = open();
    const a = store.insert(opened(NOW - 2));
    const b = store.insert(opened(NOW - 1));
    expect(b).toBeGreaterThan(a);
    expect(store.query().events).toEqual([
      { ...opened(NOW - 1), id: b },
      { ...opened(NOW - 2), id: a },
    ]);
    const db = new Database(join(dir, 'events.db'), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('pages by cursor in both orders', () => {
    const store = open();
    const ids = [1, 2, 3, 4, 5].map((i) => store.insert(opened(NOW + i)));
    const first = store.query({ limit: 2 });
    expect(first.events.map((e) => e.id)).toEqual([ids[4], ids[3]]);
    const second = store.query({ limit: 2, cursor: first.nextCursor! });
    expect(second.events.map((e) => e.id)).toEqual([ids[2], ids[1]]);
    const last = store.query({ limit: 2, cursor: second.nextCursor! });
    expect(last.events.map((e) => e.id)).toEqual([ids[0]]);
    expect(last.nextCursor).toBeUndefined();
    expect(store.query({ order: 'asc', cursor: ids[2]! }).events.map((e) => e.id)).toEqual([ids[3], ids[4]]);
  });

  it('filters by rule, host (holder and contender too), type and time', () => {
    const store = open();
    store.insert(opened(NOW + 1, 'game', '192.168.1.10'));
    store.insert(opened(NOW + 2, 'voice', '192.168.1.20'));
    store.insert({
      type: 'conflict',
      at: NOW + 3,
      rule: 'game',
      family: 'ipv4',
      contender: '192.168.1.30',
      holder: '192.168.1.10',
    });
    store.insert({ type: 'blocked', at: NOW + 4, rule: 'voice', family: 'ipv4', host: '192.168.1.40' });
    const types = (q: Parameters<typeof store.query>[0]) =>
      store.query(q).events.map((e) => `${e.type}@${e.at - NOW}`);
    expect(types({ rule: 'game' })).toEqual(['conflict@3', 'opened@1']);
    expect(types({ host: '192.168.1.10' })).toEqual(['conflict@3', 'opened@1']);
    expect(types({ host: '192.168.1.30' })).toEqual(['conflict@3']);
    expect(types({ type: 'blocked' })).toEqual(['blocked@4']);
    expect(types({ since: NOW + 2, until: NOW + 4 })).toEqual(['conflict@3', 'opened@2']);
  });

  it('drops events older than the retention age', () => {
    const store = open({ retentionDays: 7 });
    store.insert(opened(NOW - 8 * DAY));
    store.insert(opened(NOW - 6 * DAY));
    expect(store.prune()).toBe(1);
    expect(store.query().events.map((e) => e.at)).toEqual([NOW - 6 * DAY]);
  });

  it('keeps at most maxEvents, the newest, trimming as it writes', () => {
    const store = open({ maxEvents: 100 });
    for (let i = 0; i < 250; i++) store.insert(opened(NOW + i));
    store.prune();
    const kept = store.query({ limit: 1000 }).events;
    expect(kept).toHaveLength(100);
    expect(kept[0]?.at).toBe(NOW + 249);
    expect(kept[99]?.at).toBe(NOW + 150);
  });

  it('applies new retention settings at once', () => {
    const store = open();
    for (let i = 0; i < 150; i++) store.insert(opened(NOW + i));
    store.setRetention({ retentionDays: 30, maxEvents: 100 });
    expect(store.query({ limit: 1000 }).events).toHaveLength(100);
  });

  it('creates the database 0600 in a new 0700 directory, its WAL files too, and tightens an existing one', () => {
    const umask = process.umask(0o022);
    try {
      const path = join(dir, 'var', 'lib', 'events.db');
      const store = open({ path });
      store.insert(opened(NOW));
      expect(statSync(join(dir, 'var')).mode & 0o777).toBe(0o700);
      expect(statSync(join(dir, 'var', 'lib')).mode & 0o777).toBe(0o700);
      for (const file of [path, `${path}-wal`, `${path}-shm`])
        expect(statSync(file).mode & 0o777).toBe(0o600);
      const existing = join(dir, 'existing.db');
      writeFileSync(existing, '', { mode: 0o644 });
      open({ path: existing });
      expect(statSync(existing).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(umask);
    }
  });

  it('reports a database it cannot open as an EventStoreError', () => {
    const path = join(dir, 'is-a-directory');
    mkdirSync(path);
    expect(() => open({ path })).toThrow(EventStoreError);
    expect(() => open({ path })).toThrow(/event history .*is-a-directory: open failed/);
  });

  it('reports a database it cannot write (locked by another writer) as an EventStoreError', () => {
    const store = open();
    store.insert(opened(NOW));
    const other = new Database(join(dir, 'events.db'));
    other.exec('BEGIN EXCLUSIVE');
    try {
      expect(() => store.insert(opened(NOW + 1))).toThrow(EventStoreError);
      // Reading still works in WAL mode.
      expect(store.query().events).toHaveLength(1);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(store.insert(opened(NOW + 2))).toBeGreaterThan(0);
  });
});

/** The table as versions before the schema version created it (user_version 0, `rule` NOT NULL). */
const SCHEMA_V0 = `
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  type TEXT NOT NULL,
  rule TEXT NOT NULL,
  host TEXT,
  holder TEXT,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE INDEX IF NOT EXISTS events_rule ON events (rule, id);
CREATE INDEX IF NOT EXISTS events_host ON events (host, id);
CREATE INDEX IF NOT EXISTS events_holder ON events (holder, id);
`;

/** An events.db as the previous version left it: WAL, version 0, these events stored (then `deleted` trimmed). */
function oldDatabase(path: string, events: readonly TriggerEvent[], deleted: readonly number[] = []): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(SCHEMA_V0);
  const insert = db.prepare(
    'INSERT INTO events (at, type, rule, host, holder, data) VALUES (@at, @type, @rule, @host, @holder, @data)',
  );
  for (const e of events) {
    insert.run({
      at: e.at,
      type: e.type,
      rule: e.rule,
      host: 'host' in e ? e.host : null,
      holder: null,
      data: JSON.stringify(e),
    });
  }
  for (const id of deleted) db.prepare('DELETE FROM events WHERE id = ?').run(id);
  db.close();
}

const wanChanged = (at: number): ServiceEvent => ({
  type: 'wan-changed',
  at,
  interface: 'eth0',
  previous: ['203.0.113.7'],
  addresses: ['203.0.113.9'],
});

function columnsOf(path: string): { name: string; notnull: number }[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma('table_info(events)') as { name: string; notnull: number }[];
  } finally {
    db.close();
  }
}

describe('EventStore schema versions', () => {
  function openAny(path = join(dir, 'events.db')): EventStore<ServiceEvent> {
    const store = EventStore.open<ServiceEvent>({
      path,
      retentionDays: 30,
      maxEvents: 1_000,
      clock: () => now,
    });
    stores.push(store as unknown as EventStore<TriggerEvent>);
    return store;
  }

  it('creates a new database at the current version, with a rule column that may be empty', () => {
    const store = openAny();
    const id = store.insert(wanChanged(NOW));
    expect(store.query({ type: 'wan-changed' }).events).toEqual([{ ...wanChanged(NOW), id }]);
    const db = new Database(join(dir, 'events.db'), { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
    expect(columnsOf(join(dir, 'events.db')).find((c) => c.name === 'rule')?.notnull).toBe(0);
  });

  it('upgrades a database of the previous version: its events, ids and id sequence stay, gateway events fit', () => {
    const path = join(dir, 'events.db');
    // Three events of an old run, the newest trimmed away: the next id must still be after it.
    oldDatabase(path, [opened(NOW - 3, 'game'), opened(NOW - 2, 'voice'), opened(NOW - 1, 'game')], [3]);
    expect(columnsOf(path).find((c) => c.name === 'rule')?.notnull).toBe(1);

    const store = openAny(path);
    expect(store.query({ order: 'asc' }).events).toEqual([
      { ...opened(NOW - 3, 'game'), id: 1 },
      { ...opened(NOW - 2, 'voice'), id: 2 },
    ]);
    const id = store.insert(wanChanged(NOW));
    expect(id).toBe(4);
    expect(store.query({ rule: 'game' }).events.map((e) => e.id)).toEqual([1]);
    expect(store.query({ type: 'wan-changed' }).events).toEqual([{ ...wanChanged(NOW), id: 4 }]);
    expect(store.query({ cursor: 4 }).events.map((e) => e.id)).toEqual([2, 1]);
    store.close();

    expect(columnsOf(path).find((c) => c.name === 'rule')?.notnull).toBe(0);
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const indexes = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name")
      .all();
    expect(indexes).toEqual([
      { name: 'events_at' },
      { name: 'events_holder' },
      { name: 'events_host' },
      { name: 'events_rule' },
    ]);
    db.close();
    // Opening the upgraded file again changes nothing.
    expect(
      openAny(path)
        .query({ order: 'asc' })
        .events.map((e) => e.id),
    ).toEqual([1, 2, 4]);
  });

  it('upgrades an old database that retention had emptied without reusing its ids', () => {
    const path = join(dir, 'events.db');
    oldDatabase(path, [opened(NOW - 2), opened(NOW - 1)], [1, 2]);
    expect(openAny(path).insert(wanChanged(NOW))).toBe(3);
  });

  it('refuses a database of a newer schema version and leaves it as it is', () => {
    const path = join(dir, 'events.db');
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openAny(path)).toThrow(EventStoreError);
    expect(() => openAny(path)).toThrow(/schema version 2 is newer than this porttrigger knows \(1\)/);
    const after = new Database(path, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 1);
    expect(after.prepare("SELECT name FROM sqlite_master WHERE name = 'events'").get()).toBeUndefined();
    after.close();
  });
});
