/**
 * When the service reads the datapath: when the kernel signals a change, when the earliest known expiry is due,
 * and, as a slow safety net, every reconciliation interval. Signals are coalesced: a short debounce gathers a
 * burst, at most one read runs at a time, and reads are at least a gap apart, so that a flood of new
 * connections costs a bounded number of reads, never a spin.
 */
import type { ReadScope } from '../domain/datapath.js';

/** The timer functions the schedule uses; tests pass fake ones. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What one read reports back: the earliest expiry of what it saw (entries), if any. */
export interface WakeRead {
  readonly nextDueAt?: number;
}

/** Options for {@link WakeSchedule}. */
export interface WakeScheduleOptions {
  /** One read of the datapath; a rejection is reported by the caller, the schedule only retries. */
  readonly read: (scope: ReadScope) => Promise<WakeRead>;
  readonly clock: () => number;
  /** The full read of the safety net, in milliseconds: the interval for a table that reads cheaply. */
  readonly reconcileIntervalMs: number;
  /**
   * The share of one core the safety net may take while the kernel signals run: a full read that took `d` ms is
   * next due `d / reconcileBudget` ms later, between `signalledReconcileIntervalMs` (or `reconcileIntervalMs`, if
   * longer) and `maxReconcileIntervalMs`.
   */
  readonly reconcileBudget?: number;
  /** The shortest interval of the safety net while the signals run (a cheap table is read this often). */
  readonly signalledReconcileIntervalMs?: number;
  /** The longest interval of the safety net. */
  readonly maxReconcileIntervalMs?: number;
  /**
   * Whether the interval may grow past `reconcileIntervalMs` now: only while the kernel signals report every
   * change; without them the safety net is the only observer and keeps its interval (the default).
   */
  readonly canStretch?: () => boolean;
  /** How long a signal waits for the rest of its burst. */
  readonly debounceMs?: number;
  /** The shortest time from the end of one read to the start of the next. */
  readonly minGapMs?: number;
  /** How long after an expiry the read runs: read-back times are whole seconds, rounded down. */
  readonly expiryMarginMs?: number;
  /** How soon a failed read is tried again. */
  readonly retryMs?: number;
  readonly timers?: Timers;
}

/** Defaults of {@link WakeScheduleOptions}. */
export const WAKE_DEFAULTS = {
  debounceMs: 10,
  minGapMs: 50,
  expiryMarginMs: 250,
  retryMs: 1_000,
  // A tenth of a per cent of a core: a 1,000-rule table that takes 2 s to list is read every 33 minutes.
  reconcileBudget: 0.001,
  signalledReconcileIntervalMs: 300_000,
  maxReconcileIntervalMs: 3_600_000,
  canStretch: () => false,
} as const;

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Decides when to read; `wake` for a signal, `stop` to end. Counts what it does for the metrics. */
export class WakeSchedule {
  readonly #o: Required<Omit<WakeScheduleOptions, 'timers'>> & { timers: Timers };
  /** What the next read must cover, once a signal asked for one. */
  #pending: ReadScope | undefined;
  #wakeTimer: unknown;
  #wakeAt: number | undefined;
  #dueTimer: unknown;
  #reconcileTimer: unknown;
  #running: Promise<void> | undefined;
  #lastEnd = Number.NEGATIVE_INFINITY;
  #stopped = false;
  /** Reads run, by cause, for the metrics and the tests. */
  readonly counts = { signal: 0, due: 0, reconcile: 0 };
  /** How long the last full read took, in milliseconds. */
  lastFullReadMs: number | undefined;
  #intervalMs: number;

  constructor(options: WakeScheduleOptions) {
    this.#o = { ...WAKE_DEFAULTS, timers: realTimers, ...options };
    this.#intervalMs = this.#o.reconcileIntervalMs;
  }

  /** The interval of the safety net now: it follows the cost of the last full read (see `reconcileBudget`). */
  get reconcileIntervalMs(): number {
    return this.#intervalMs;
  }

  /** Starts the safety net and the expiry timer from what the first read saw. */
  start(first: WakeRead = {}): void {
    this.seen(first);
    this.#armReconcile();
  }

  /** A signal: a read of `scope` soon (a full read covers an entries read). */
  wake(scope: ReadScope): void {
    if (this.#stopped) return;
    this.#pending = this.#pending === 'full' || scope === 'full' ? 'full' : 'entries';
    this.counts.signal++;
    this.#arm(this.#o.debounceMs);
  }

  /** Stops every timer; resolves when a read in progress has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const { clearTimeout } = this.#o.timers;
    for (const t of [this.#wakeTimer, this.#dueTimer, this.#reconcileTimer])
      if (t !== undefined) clearTimeout(t);
    await this.#running;
  }

  /** Arms the wake timer `delayMs` from now, or later to keep the gap after the last read. */
  #arm(delayMs: number): void {
    if (this.#running) return; // the read in progress runs the pending one when it ends
    const now = this.#o.clock();
    const at = Math.max(now + delayMs, this.#lastEnd + this.#o.minGapMs);
    if (this.#wakeAt !== undefined && this.#wakeAt <= at) return;
    if (this.#wakeTimer !== undefined) this.#o.timers.clearTimeout(this.#wakeTimer);
    this.#wakeAt = at;
    this.#wakeTimer = this.#o.timers.setTimeout(() => this.#fire(), at - now);
  }

  #fire(): void {
    this.#wakeTimer = undefined;
    this.#wakeAt = undefined;
    const scope = this.#pending;
    if (this.#stopped || scope === undefined) return;
    this.#pending = undefined;
    this.#running = this.#runRead(scope);
  }

  async #runRead(scope: ReadScope): Promise<void> {
    let failed = false;
    const started = this.#o.clock();
    try {
      const r = await this.#o.read(scope);
      this.seen(r);
      if (scope === 'full') {
        this.#fullReadTook(this.#o.clock() - started);
        this.#armReconcile();
      }
    } catch {
      // Try again, in full, after a pause: a failed read may have missed a change, and must not spin.
      failed = true;
      this.#pending = 'full';
    }
    this.#running = undefined;
    this.#lastEnd = this.#o.clock();
    if (this.#pending !== undefined) this.#arm(failed ? this.#o.retryMs : this.#o.debounceMs);
  }

  /**
   * A read the service ran for a caller failed: the schedule tries again in full after its pause, as it does for
   * its own reads. Without this, a failure seen only by callers waits for the safety net, which may be minutes
   * away while the signal streams run, and the datapath stays failing after the fault has gone.
   */
  failed(): void {
    if (this.#stopped) return;
    this.#pending = 'full';
    if (this.#running) return; // the read in progress arms the retry when it ends
    this.#arm(this.#o.retryMs);
  }

  /** What a read saw, also one the service ran for a caller: the expiry timer follows it. */
  seen(read: WakeRead): void {
    this.#armDue(read.nextDueAt);
  }

  #armDue(nextDueAt: number | undefined): void {
    if (this.#stopped) return;
    if (this.#dueTimer !== undefined) this.#o.timers.clearTimeout(this.#dueTimer);
    this.#dueTimer = undefined;
    if (nextDueAt === undefined || !Number.isFinite(nextDueAt)) return;
    const delay = Math.max(0, nextDueAt + this.#o.expiryMarginMs - this.#o.clock());
    this.#dueTimer = this.#o.timers.setTimeout(() => {
      this.#dueTimer = undefined;
      this.counts.due++;
      this.#request('entries');
    }, delay);
  }

  #fullReadTook(ms: number): void {
    this.lastFullReadMs = ms;
    const { reconcileIntervalMs: least, maxReconcileIntervalMs: most, reconcileBudget } = this.#o;
    const floor = Math.max(least, this.#o.signalledReconcileIntervalMs);
    this.#intervalMs = this.#o.canStretch()
      ? Math.min(most, Math.max(floor, Math.round(ms / reconcileBudget)))
      : least;
  }

  #armReconcile(): void {
    if (this.#stopped) return;
    if (this.#reconcileTimer !== undefined) this.#o.timers.clearTimeout(this.#reconcileTimer);
    this.#reconcileTimer = this.#o.timers.setTimeout(() => {
      this.#reconcileTimer = undefined;
      this.counts.reconcile++;
      this.#request('full');
    }, this.#intervalMs);
  }

  /** A read the schedule itself asks for (expiry, safety net): no debounce, same coalescing. */
  #request(scope: ReadScope): void {
    if (this.#stopped) return;
    this.#pending = this.#pending === 'full' || scope === 'full' ? 'full' : 'entries';
    this.#arm(0);
  }
}
