import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TriggerEvent } from '../service/events.js';
import { EventStore, EventStoreError } from './event-store.js';

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
