/** What the parts of the running service share: the datapath, the queue, the tracker, the metrics, the log. */
import type { Clock } from '../domain/clock.js';
import type { Datapath } from '../domain/datapath.js';
import type { Logger } from '../domain/logger.js';
import type { SerialQueue } from '../domain/serial-queue.js';
import type { ServiceEvent } from './events.js';
import type { ServiceMetrics } from './metrics.js';
import type { TableTracker } from './tracker.js';

/** The state and collaborators every part of the service works with; built once by `startService`. */
export interface ServiceContext {
  readonly datapath: Datapath;
  readonly log: Logger;
  readonly clock: Clock;
  /** Every change (and every read of the datapath) waits its turn here. */
  readonly queue: SerialQueue;
  readonly tracker: TableTracker;
  readonly metrics: ServiceMetrics;
  /** Counts, stores, logs and streams events. */
  publish(events: readonly ServiceEvent[]): void;
  /** True once stop was called. */
  stopping(): boolean;
}

/** The message of an error of any kind. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
