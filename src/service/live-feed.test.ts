import { describe, expect, it, vi } from 'vitest';
import type { PublishedEvent } from './events.js';
import { DEFAULT_FEED_LIMITS, type FeedSink, runLiveFeed, sseMessage } from './live-feed.js';

/** A service's subscription the test drives: `emit` publishes, `close` stops the service. */
function source() {
  const listeners = new Map<(e: PublishedEvent) => void, (() => void) | undefined>();
  return {
    listeners,
    subscribe: (listener: (e: PublishedEvent) => void, onClose?: () => void) => {
      listeners.set(listener, onClose);
      return () => {
        listeners.delete(listener);
      };
    },
    emit(event: PublishedEvent) {
      for (const l of [...listeners.keys()]) l(event);
    },
    close() {
      for (const onClose of [...listeners.values()]) onClose?.();
    },
  };
}

/** A sink whose writes complete only while `reading` is true, like a socket whose client may stop reading. */
function sink() {
  const written: string[] = [];
  const aborts: (() => void)[] = [];
  const blocked: (() => void)[] = [];
  const s = {
    written,
    reading: true,
    hungUp: 0,
    write(text: string): Promise<unknown> {
      written.push(text);
      return s.reading ? Promise.resolve() : new Promise<void>((resolve) => blocked.push(resolve));
    },
    onAbort: (listener: () => void) => aborts.push(listener),
    hangUp() {
      s.hungUp++;
    },
    abort() {
      for (const a of aborts) a();
    },
  };
  return s satisfies FeedSink & Record<string, unknown>;
}

const blockedEvent = (n: number): PublishedEvent => ({
  type: 'blocked',
  at: n,
  rule: 'game',
  family: 'ipv4',
  host: '192.168.1.10',
  id: n,
});

const json = (events: readonly PublishedEvent[]) =>
  events.map((e) => sseMessage({ event: e.type, data: JSON.stringify(e), id: String(e.id) })).join('');

describe('runLiveFeed', () => {
  it('writes the events, then ends and unsubscribes when the client goes away', async () => {
    const src = source();
    const out = sink();
    const feed = runLiveFeed(out, { ...DEFAULT_FEED_LIMITS, subscribe: src.subscribe, render: json });
    await vi.waitFor(() => expect(out.written).toEqual([': live\n\n']));
    src.emit(blockedEvent(1));
    await vi.waitFor(() => expect(out.written[1]).toMatch(/^event: blocked\ndata: \{.*\}\nid: 1\n\n$/));
    out.abort();
    expect(await feed).toBe('ended');
    expect(src.listeners.size).toBe(0);
    expect(out.hungUp).toBe(0);
  });

  it('ends when the service stops', async () => {
    const src = source();
    const feed = runLiveFeed(sink(), { ...DEFAULT_FEED_LIMITS, subscribe: src.subscribe, render: json });
    await vi.waitFor(() => expect(src.listeners.size).toBe(1));
    src.close();
    expect(await feed).toBe('ended');
  });

  it('drops a client that stopped reading once more events wait than the backlog allows', async () => {
    const src = source();
    const out = sink();
    const why: string[] = [];
    const feed = runLiveFeed(out, {
      ...DEFAULT_FEED_LIMITS,
      writeTimeoutMs: 3_600_000,
      maxBacklog: 10,
      subscribe: src.subscribe,
      render: json,
      onDrop: (w) => why.push(w),
    });
    await vi.waitFor(() => expect(out.written).toHaveLength(1));
    out.reading = false;
    src.emit(blockedEvent(1));
    await vi.waitFor(() => expect(out.written).toHaveLength(2));
    for (let i = 2; i <= 12; i++) src.emit(blockedEvent(i));
    expect(await feed).toBe('dropped');
    expect(out.hungUp).toBe(1);
    expect(why).toEqual(['more than 10 events were waiting for it']);
    expect(src.listeners.size).toBe(0);
  });

  it('drops a client whose write waits longer than the write timeout, even with no events', async () => {
    const src = source();
    const out = sink();
    out.reading = false;
    const why: string[] = [];
    const feed = runLiveFeed(out, {
      heartbeatMs: 10,
      maxBacklog: 1_000,
      writeTimeoutMs: 50,
      subscribe: src.subscribe,
      render: json,
      onDrop: (w) => why.push(w),
    });
    expect(await feed).toBe('dropped');
    expect(out.hungUp).toBe(1);
    expect(why).toEqual(['a write waited more than 50 ms']);
  });

  it('turns any number of waiting events into one message where the renderer merges them', async () => {
    const src = source();
    const out = sink();
    const feed = runLiveFeed(out, {
      ...DEFAULT_FEED_LIMITS,
      subscribe: src.subscribe,
      render: (events) => sseMessage({ event: 'changed', data: String(events.length) }),
    });
    await vi.waitFor(() => expect(out.written).toHaveLength(1));
    for (let i = 1; i <= 5; i++) src.emit(blockedEvent(i));
    await vi.waitFor(() => expect(out.written).toEqual([': live\n\n', 'event: changed\ndata: 5\n\n']));
    out.abort();
    await feed;
  });
  it('does not hold events up while a snapshot is made, writes them again after it, and makes it again when due', async () => {
    const src = source();
    const out = sink();
    let snapshots = 0;
    let finishSnapshot: (() => void) | undefined;
    const feed = runLiveFeed(out, {
      ...DEFAULT_FEED_LIMITS,
      heartbeatMs: 3_600_000,
      subscribe: src.subscribe,
      render: async (events) => `events ${events.map((e) => e.id).join(',')}\n`,
      snapshot: async () => {
        const n = ++snapshots;
        // The first snapshot waits, like a slow read: events arrive meanwhile.
        if (n === 1) await new Promise<void>((resolve) => (finishSnapshot = resolve));
        return `snapshot ${n}\n`;
      },
      snapshotEveryMs: 100,
    });
    await vi.waitFor(() => expect(finishSnapshot).toBeDefined());
    src.emit(blockedEvent(1));
    await vi.waitFor(() => expect(out.written).toEqual([': live\n\n', 'events 1\n']));
    src.emit(blockedEvent(2));
    await vi.waitFor(() => expect(out.written).toHaveLength(3));
    finishSnapshot!();
    await vi.waitFor(() =>
      expect(out.written.slice(2, 5)).toEqual(['events 2\n', 'snapshot 1\n', 'events 1,2\n']),
    );
    await vi.waitFor(() => expect(out.written).toContain('snapshot 2\n'), { timeout: 5_000 });
    src.emit(blockedEvent(3));
    await vi.waitFor(() => expect(out.written).toContain('events 3\n'));
    expect(out.written.filter((w) => w.startsWith(': heartbeat'))).toEqual([]);
    out.abort();
    expect(await feed).toBe('ended');
  });

  it('writes data of several lines as several data lines', () => {
    expect(sseMessage({ event: 'live', data: '<p>a</p>\n<p>b</p>' })).toBe(
      'event: live\ndata: <p>a</p>\ndata: <p>b</p>\n\n',
    );
  });
});
