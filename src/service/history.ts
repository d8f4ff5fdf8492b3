/**
 * The event history as the service uses it: opened at start and again after a failure (the disk may come
 * back), every failure counted and logged but never thrown at triggering, retention updated on reload.
 */
import { DEFAULT_EVENT_SETTINGS } from '../domain/config.js';
import { PorttriggerError } from '../domain/errors.js';
import type { EventPage, EventQuery } from '../domain/event-history.js';
import type { Logger } from '../domain/logger.js';
import type { Config, EventSettings } from '../domain/types.js';
import { describeError } from './context.js';
import type { ServiceEvent } from './events.js';
import type { ServiceMetrics } from './metrics.js';
import type { EventHistory, OpenHistory } from './ports.js';
import type { TableTracker } from './tracker.js';

// After a failure the history is opened again at most this often.
const HISTORY_RETRY_MS = 30_000;
// Records stay in the table for 60 s: events for them from before a restart must not be emitted twice.
const RECORD_LOOKBACK_MS = 75_000;

/** The event-history part of the service's health. */
export interface HistoryStatus {
  /** Why the history fails; undefined when it works. */
  readonly error: string | undefined;
  readonly path: string;
  /** When the database was last found deleted or replaced and opened again. */
  readonly reopenedAt?: number;
}

/** The service's event history with its retries. */
export class ServiceHistory {
  readonly #open: OpenHistory;
  readonly #log: Logger;
  readonly #metrics: ServiceMetrics;
  readonly #clock: () => number;
  readonly #stopping: () => boolean;
  #history: EventHistory | undefined;
  #settings: EventSettings;
  #error: string | undefined;
  #retryAt = 0;
  #reopenedAt: number | undefined;

  constructor(options: {
    open: OpenHistory;
    settings: EventSettings;
    log: Logger;
    metrics: ServiceMetrics;
    clock: () => number;
    stopping: () => boolean;
  }) {
    this.#open = options.open;
    this.#settings = options.settings;
    this.#log = options.log;
    this.#metrics = options.metrics;
    this.#clock = options.clock;
    this.#stopping = options.stopping;
  }

  /** Opens the history; a failure is logged and retried later, never thrown. */
  open(): void {
    try {
      this.#history = this.#open(this.#settings, this.#clock);
      if (this.#error !== undefined) this.#log.info('the event history is open again');
      this.#error = undefined;
    } catch (error) {
      this.#retryAt = this.#clock() + HISTORY_RETRY_MS;
      if (this.#error === undefined) {
        this.#log.error('the event history cannot be opened: events go to the stream and the logs only', {
          error,
        });
      }
      this.#error = describeError(error);
    }
  }

  /** Stores an event; resolves its id, or undefined when the history failed (counted and logged). */
  store(event: ServiceEvent): number | undefined {
    this.#reopenIfReplaced();
    const history = this.#available();
    if (!history) {
      this.#metrics.eventStoreErrors++;
      return undefined;
    }
    try {
      const id = history.insert(event);
      if (this.#error !== undefined) this.#log.info('the event history accepts writes again');
      this.#error = undefined;
      return id;
    } catch (error) {
      this.#metrics.eventStoreErrors++;
      if (this.#error === undefined) {
        this.#log.error('the event history cannot be written: events go to the stream and the logs only', {
          error,
        });
      }
      this.#error = describeError(error);
      return undefined;
    }
  }

  /** A page of the history; EVENT_STORE_FAILED when it is unavailable or cannot be read. */
  query(query: EventQuery): EventPage<ServiceEvent> {
    const history = this.#available();
    if (!history) {
      throw new PorttriggerError(
        'EVENT_STORE_FAILED',
        `the event history is unavailable: ${this.#error ?? 'not open'}`,
      );
    }
    try {
      return history.query(query);
    } catch (error) {
      if (error instanceof PorttriggerError) throw error;
      throw new PorttriggerError(
        'EVENT_STORE_FAILED',
        `the event history cannot be read: ${describeError(error)}`,
        { cause: error },
      );
    }
  }

  /** Takes the retention of a reloaded config; a new database path waits for a restart. */
  updateSettings(config: Config): void {
    const next = config.events ?? DEFAULT_EVENT_SETTINGS;
    if (next.database !== this.#settings.database) {
      this.#log.warn('a new event database path takes effect on restart', { database: next.database });
    }
    this.#settings = { ...next, database: this.#settings.database };
    try {
      this.#history?.setRetention?.(next);
    } catch (error) {
      this.#log.warn('trimming the event history failed', { error });
    }
  }

  /** Records already in the history (from before a restart) are not events again. */
  rememberRecentRecords(tracker: TableTracker): void {
    if (!this.#history) return;
    const since = this.#clock() - RECORD_LOOKBACK_MS;
    try {
      for (const type of ['conflict', 'blocked'] as const) {
        for (const e of this.#history.query({ type, since, limit: 1_000 }).events) {
          if (e.type === 'conflict') {
            tracker.rememberRecord({ ...e, who: e.contender });
          } else if (e.type === 'blocked') {
            tracker.rememberRecord({ ...e, who: e.host });
          }
        }
      }
    } catch (error) {
      this.#log.warn('reading recent records from the event history failed', { error });
    }
  }

  status(): HistoryStatus {
    this.#reopenIfReplaced();
    return {
      error: this.#history ? this.#error : (this.#error ?? 'not open'),
      path: this.#settings.database,
      ...(this.#reopenedAt !== undefined ? { reopenedAt: this.#reopenedAt } : {}),
    };
  }

  /**
   * A database deleted or replaced under the running service would swallow every later event: it is closed
   * and opened again at its path (a new, empty one when it was deleted), logged once per replacement.
   */
  #reopenIfReplaced(): void {
    if (!this.#history || this.#stopping()) return;
    let replaced: boolean;
    try {
      replaced = this.#history.replaced?.() ?? false;
    } catch {
      replaced = false;
    }
    if (!replaced) return;
    this.#log.warn('the event database was deleted or replaced: opening it again', {
      path: this.#settings.database,
    });
    this.#history.close();
    this.#history = undefined;
    this.#reopenedAt = this.#clock();
    this.open();
  }

  close(): void {
    this.#history?.close();
    this.#history = undefined;
  }

  #available(): EventHistory | undefined {
    if (!this.#history && !this.#stopping() && this.#clock() >= this.#retryAt) this.open();
    return this.#history;
  }
}
