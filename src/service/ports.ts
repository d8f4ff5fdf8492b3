/**
 * What the service receives from the composition root (src/main): its datapath, its event history, its config
 * store, a logger and a clock. The service builds none of them, so unit tests hand it the reference model and
 * the same production code runs on both.
 */
import type { Clock } from '../domain/clock.js';
import type { ConfigStore } from '../domain/config-store.js';
import type { Datapath } from '../domain/datapath.js';
import type { DatapathSignals } from '../domain/datapath-signals.js';
import type { EventHistory as HistoryPort, OpenEventHistory } from '../domain/event-history.js';
import type { ForeignRuleset } from '../domain/foreign-ruleset.js';
import type { LearnRecorder } from '../domain/learn/recorder.js';
import type { Logger } from '../domain/logger.js';
import type { WanWatch } from '../domain/wan.js';
import type { ServiceEvent } from './events.js';

/** The event history of the service: the history port for its events. */
export type EventHistory = HistoryPort<ServiceEvent>;

/** Opens the service's event history (again after a failure). */
export type OpenHistory = OpenEventHistory<ServiceEvent>;

/** Everything {@link startService} needs. */
export interface ServiceOptions {
  /** The kernel datapath in production, the reference model in unit tests. */
  readonly datapath: Datapath;
  /** The config file: the running config comes from it, API rule changes are written back to it. */
  readonly configStore: ConfigStore;
  /** Opens the event history at `config.events.database`. */
  readonly openHistory: OpenHistory;
  readonly logger: Logger;
  /** Milliseconds since the epoch (default Date.now). */
  readonly clock?: Clock;
  /**
   * The kernel's signals that the table changed (new trigger connections, other tools' changes): the service
   * reads when they come. Without them (the reference model, a system without conntrack) it relies on the
   * reconciliation alone.
   */
  readonly signals?: DatapathSignals;
  /**
   * Reports the gateway's links and addresses when they change: the service tells WAN address changes and WAN
   * links that go down and come back as events. Without it (the reference model) there are no WAN events.
   */
  readonly wan?: WanWatch;
  /**
   * How often the whole datapath is read and checked even without a signal: the safety net for what no signal
   * reports (default {@link DEFAULT_RECONCILE_INTERVAL_MS}). Expiries are read when they are due regardless.
   */
  readonly reconcileIntervalMs?: number;
  /**
   * How old the last successful read may be before `/health` says degraded (default: three reconciliation
   * intervals, at least 10 s).
   */
  readonly staleReadAfterMs?: number;
  /**
   * How long a read of the table waits for a fresh reading before it answers with the last one, marked
   * `stale` (default 1500 ms): a slow or hung nft, or a long apply ahead in the queue, never blocks a read.
   */
  readonly freshReadWaitMs?: number;
  /**
   * Leave the datapath (and its entries) in place on stop, for a restart that adopts them; a function is asked
   * at the stop (a package upgrade decides then).
   */
  readonly keepTableOnStop?: boolean | (() => boolean);
  /** Records connections for learning sessions; without it, learning answers LEARN_UNAVAILABLE. */
  readonly recorder?: LearnRecorder;
  /** Reads the whole ruleset so that learn proposals name other tools' static forwards they overlap. */
  readonly foreignRuleset?: ForeignRuleset;
}

/** The default of {@link ServiceOptions.reconcileIntervalMs}: 30 s. */
export const DEFAULT_RECONCILE_INTERVAL_MS = 30_000;
