/**
 * One client's live feed of the service's events (the API's event stream and the panel's refresh signal): it
 * waits for events, writes heartbeats while nothing happens, and drops a client that stopped reading, so that
 * a stalled client costs a bounded backlog and a bounded wait, never memory or a connection for ever.
 */
import type { PublishedEvent } from './events.js';

/** Where a feed writes: an event stream of the API or of the panel. */
export interface FeedSink {
  /** Writes text; resolves once the connection took it (it waits while the client does not read). */
  write(text: string): Promise<unknown>;
  /** Runs `listener` when the client goes away. */
  onAbort(listener: () => void): void;
  /** Ends the connection at once, with whatever is still unsent: the client stopped reading. */
  hangUp(): void;
}

/** How a feed is bounded. */
export interface FeedLimits {
  /** An idle feed gets a comment line this often, so that proxies and clients see it is alive. */
  readonly heartbeatMs: number;
  /** More events than this waiting for one client: it stopped reading and is dropped. */
  readonly maxBacklog: number;
  /** A write that waits longer than this for the client: it stopped reading and is dropped. */
  readonly writeTimeoutMs: number;
}

/** The default bounds: a heartbeat every 15 s, 1,000 waiting events, 10 s for one write. */
export const DEFAULT_FEED_LIMITS: FeedLimits = {
  heartbeatMs: 15_000,
  maxBacklog: 1_000,
  writeTimeoutMs: 10_000,
};

/** How a feed ended: the client or the service went away, or the client stopped reading and was dropped. */
export type FeedEnd = 'ended' | 'dropped';

/** What a feed needs besides its sink. */
export interface FeedOptions extends FeedLimits {
  /** The service's subscription (`Service.subscribe`); `onClose` runs when the service stops. */
  readonly subscribe: (listener: (event: PublishedEvent) => void, onClose?: () => void) => () => void;
  /** Which events this client wants (default: all). */
  readonly accept?: (event: PublishedEvent) => boolean;
  /**
   * The text for the events waiting, all taken at once (the panel turns them into one refresh signal and the
   * rows that changed); an empty text writes nothing.
   */
  readonly render: (waiting: readonly PublishedEvent[]) => string | Promise<string>;
  /** Written after subscribing and before the live events (the API's replay of the history). */
  readonly prelude?: (write: (text: string) => Promise<void>) => Promise<void>;
  /**
   * The whole state as text (the panel's live table), made when the feed starts and every `snapshotEveryMs`,
   * for what changes without an event (an expiry that traffic moved on). Events are not held up while it is
   * made (it may read the kernel): they are written as they come, and written again after it, so that a
   * snapshot older than some of them does not undo them; `render` must therefore be idempotent. Its wait must
   * be bounded (the service's `table()` is).
   */
  readonly snapshot?: () => Promise<string>;
  readonly snapshotEveryMs?: number;
  /** Told once when the client is dropped, with why. */
  readonly onDrop?: (why: string) => void;
}

class Dropped extends Error {}

/**
 * Runs one client's feed until the client or the service goes away, or the client is dropped.
 * @example await runLiveFeed(sink, { ...DEFAULT_FEED_LIMITS, subscribe: (l, c) => service.subscribe(l, c), render })
 */
export async function runLiveFeed(sink: FeedSink, options: FeedOptions): Promise<FeedEnd> {
  const waiting: PublishedEvent[] = [];
  let state = 'open' as 'open' | FeedEnd;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  // Resolves when the feed stops for any reason: a write that waits on a stalled client stops waiting then.
  let stopped!: () => void;
  const stop = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  const end = (how: 'ended' | 'dropped', why?: string) => {
    if (state !== 'open') return;
    state = how;
    waiting.length = 0;
    if (how === 'dropped') {
      sink.hangUp();
      options.onDrop?.(why ?? 'it stopped reading');
    }
    stopped();
    notify();
  };
  // Subscribed before the prelude, so nothing falls between a replay and the live events.
  const unsubscribe = options.subscribe(
    (event) => {
      if (state !== 'open' || (options.accept && !options.accept(event))) return;
      waiting.push(event);
      if (waiting.length > options.maxBacklog) {
        end('dropped', `more than ${options.maxBacklog} events were waiting for it`);
      }
      notify();
    },
    () => end('ended'),
  );
  sink.onAbort(() => end('ended'));
  const write = async (text: string): Promise<void> => {
    if (state !== 'open') throw new Dropped();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), options.writeTimeoutMs);
    });
    try {
      const outcome = await Promise.race([sink.write(text), late, stop]);
      if (outcome === 'late') end('dropped', `a write waited more than ${options.writeTimeoutMs} ms`);
    } finally {
      clearTimeout(timer);
    }
    if (state !== 'open') throw new Dropped();
  };
  const { snapshot, snapshotEveryMs } = options;
  let snapshotDue = snapshot ? 0 : Number.POSITIVE_INFINITY;
  // While a snapshot is being made: the events written meanwhile, and its text once it is there.
  let making: { replay: PublishedEvent[]; text?: string } | undefined;
  const startSnapshot = () => {
    const current: NonNullable<typeof making> = { replay: [] };
    making = current;
    snapshotDue = Number.POSITIVE_INFINITY;
    void snapshot!().then(
      (text) => {
        current.text = text;
        notify();
      },
      () => {
        current.text = '';
        notify();
      },
    );
  };
  try {
    await options.prelude?.(write);
    await write(': live\n\n');
    while (state === 'open') {
      if (making?.text !== undefined) {
        const { text, replay } = making;
        making = undefined;
        if (text) await write(text);
        if (replay.length > 0 && state === 'open') {
          const again = await options.render(replay);
          if (again && state === 'open') await write(again);
        }
        if (snapshotEveryMs !== undefined) snapshotDue = Date.now() + snapshotEveryMs;
        continue;
      }
      if (waiting.length > 0) {
        const batch = waiting.splice(0);
        making?.replay.push(...batch);
        const text = await options.render(batch);
        if (text && state === 'open') await write(text);
        continue;
      }
      if (!making && Date.now() >= snapshotDue) {
        startSnapshot();
        continue;
      }
      const untilSnapshot = Math.max(0, snapshotDue - Date.now());
      // Which wait this is, decided now: a timer may fire a millisecond before Date.now() reaches the snapshot's
      // time, and that wait must make the snapshot, not a heartbeat.
      const heartbeatFirst = options.heartbeatMs < untilSnapshot;
      const woke = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), heartbeatFirst ? options.heartbeatMs : untilSnapshot);
        wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      if (!woke && heartbeatFirst && state === 'open') await write(': heartbeat\n\n');
    }
  } catch (error) {
    if (!(error instanceof Dropped)) throw error;
  } finally {
    unsubscribe();
    stopped();
  }
  return state === 'dropped' ? 'dropped' : 'ended';
}

/** What {@link feedSinkOf} needs of a streaming response (hono's SSE stream fits). */
export interface StreamLike {
  write(text: string): Promise<unknown>;
  onAbort(listener: () => void): void;
  abort(): void;
}

/**
 * The sink of a streaming response. `env` is what the HTTP server handed the request: the Node server's has
 * the response as `outgoing`. Hanging up resets its connection: the stream alone would wait for the socket to
 * drain for ever, and a plain close would leave the kernel holding the unsent backlog of an orphaned socket,
 * retrying with growing back-off to deliver it to a client that does not read. A reset frees both at once and
 * tells the client at once.
 * @example runLiveFeed(feedSinkOf(stream, c.env), options)
 */
export function feedSinkOf(stream: StreamLike, env: unknown): FeedSink {
  const outgoing = (env as { outgoing?: Hangable } | undefined)?.outgoing;
  return {
    write: (text) => stream.write(text),
    onAbort: (listener) => stream.onAbort(listener),
    hangUp: () => {
      const socket = outgoing?.socket;
      if (socket?.resetAndDestroy && !socket.destroyed) socket.resetAndDestroy();
      else outgoing?.destroy?.();
      stream.abort();
    },
  };
}

/** The parts of Node's `ServerResponse` that hanging up uses. */
interface Hangable {
  readonly socket?: { readonly destroyed?: boolean; resetAndDestroy?: () => void } | null;
  destroy?: () => void;
}

/** One server-sent event as text; `data` of several lines becomes several `data:` lines, which clients join. */
export function sseMessage(message: {
  readonly event: string;
  readonly data: string;
  readonly id?: string;
}): string {
  const data = message.data
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('');
  return `event: ${message.event}\n${data}${message.id !== undefined ? `id: ${message.id}\n` : ''}\n`;
}
