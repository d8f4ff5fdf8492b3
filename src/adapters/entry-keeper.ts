/** What one refresh reports to the keeper: when the next one is due. */
export interface KeeperRound {
  readonly nextCheckAt: number;
}

/** Options for {@link EntryKeeper}. */
export interface EntryKeeperOptions {
  /** One refresh of the entries from the connection tracker. */
  readonly refresh: () => Promise<KeeperRound>;
  readonly clock?: () => number;
  /** A failed round; the keeper retries after `retryMs`. */
  readonly onError?: (error: unknown) => void;
  readonly retryMs?: number;
}

/** The shortest pause between two rounds, so that a busy table cannot make the keeper spin. */
const MIN_PAUSE_MS = 500;

/**
 * Runs the refresh of entries from the connection tracker when it is due: shortly before the earliest entry
 * would expire. Entries the kernel opens in between are brought to it by whoever reads them first
 * ({@link EntryKeeper.dueBy}), so nothing runs while nothing is due and a quiet gateway costs nothing. The timer
 * does not keep the process alive.
 */
export class EntryKeeper {
  readonly #options: EntryKeeperOptions;
  readonly #clock: () => number;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  /** The earliest `dueBy` asked for while a round ran: the next round is no later. */
  #wantedBy = Number.POSITIVE_INFINITY;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(options: EntryKeeperOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  /** Starts the rounds (the first one at once); a second start only brings the next round forward. */
  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** A round no later than `at` (a read saw an entry that expires then): brings the next one forward only. */
  dueBy(at: number): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#wantedBy = Math.min(this.#wantedBy, at);
      return;
    }
    if (at < this.#timerAt) this.#schedule(at - this.#clock());
  }

  /** Stops the rounds; resolves once a round in progress has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    const delay = Math.max(0, delayMs);
    this.#timerAt = this.#clock() + delay;
    this.#timer = setTimeout(() => this.#round(), delay);
    this.#timer.unref();
  }

  #round(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (this.#running || this.#stopped) return;
    this.#wantedBy = Number.POSITIVE_INFINITY;
    this.#running = this.#options
      .refresh()
      .then(
        (r) =>
          this.#schedule(Math.max(MIN_PAUSE_MS, Math.min(r.nextCheckAt, this.#wantedBy) - this.#clock())),
        (error) => {
          this.#options.onError?.(error);
          this.#schedule(this.#options.retryMs ?? 1_000);
        },
      )
      .finally(() => {
        this.#running = undefined;
      });
  }
}
