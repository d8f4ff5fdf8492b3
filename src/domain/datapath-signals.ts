/**
 * The port through which the datapath tells the service that something changed, so that the service reads
 * the table when it must instead of on a timer. The kernel adapter listens to the connection tracker and to
 * the ruleset monitor; unit tests hand the service a fake.
 */

/** What changed, as far as the signal tells. */
export type DatapathSignalKind =
  /** A connection that may change the trigger table started: a trigger, a conflict, a blocked trigger. */
  | 'connection'
  /** Another tool changed our table, its sets or the ruleset: the whole datapath is read and repaired. */
  | 'ruleset'
  /** A signal stream broke and may have missed changes: read everything. */
  | 'lost';

/** One signal. */
export interface DatapathSignal {
  readonly kind: DatapathSignalKind;
  /** When the kernel reported it, in milliseconds since the epoch. */
  readonly at: number;
}

/** Whether each stream of signals runs; `unavailable` streams leave the service to its slow reconciliation. */
export interface DatapathSignalsStatus {
  readonly connections: SignalStreamState;
  readonly ruleset: SignalStreamState;
  /** Why a stream does not run, for the log and `/health`. */
  readonly detail?: string;
}

/** The state of one stream: running, restarting after a break, or not available on this system. */
export type SignalStreamState = 'running' | 'restarting' | 'unavailable';

/** A source of {@link DatapathSignal}s. */
export interface DatapathSignals {
  /** Starts listening; `listener` receives every signal until `close`. Resolves once the streams started. */
  start(listener: (signal: DatapathSignal) => void): Promise<void>;
  status(): DatapathSignalsStatus;
  close(): Promise<void>;
}
