/**
 * Observing the kernel: reads the datapath, turns what changed into events, and is the watchdog that applies
 * again, with the entries it remembers, when another tool removed or flushed the table.
 */
import { performance } from 'node:perf_hooks';
import type {
  ApplyOptions,
  ApplyReport,
  DatapathReading,
  ReadOptions,
  ReadScope,
} from '../domain/datapath.js';
import type { Config, TriggerTable } from '../domain/types.js';
import { describeError, type ServiceContext } from './context.js';
import type { ObserveCause } from './tracker.js';

/** The datapath part of the service's health. */
export interface DatapathStatus {
  /** Why the last read failed; undefined when it worked. */
  readonly error: string | undefined;
  readonly lastReadAt: number | undefined;
}

/** Reads the datapath, restores it when it was removed, applies configs; call it from the service's queue only. */
export class KernelObserver {
  readonly #ctx: ServiceContext;
  readonly #config: () => Config;
  #error: string | undefined;
  #lastReadAt: number | undefined;

  constructor(ctx: ServiceContext, config: () => Config) {
    this.#ctx = ctx;
    this.#config = config;
  }

  /** Whether the last read worked, and when it was. */
  status(): DatapathStatus {
    return { error: this.#error, lastReadAt: this.#lastReadAt };
  }

  /**
   * Reads the table (restoring it first if another tool removed, flushed or broke it) and emits what changed.
   * `entries` reads only the sets; `full` also checks that everything the last apply installed is whole.
   */
  async observe(
    cause?: ObserveCause,
    adopted = false,
    scope: ReadScope = 'full',
    options?: ReadOptions,
  ): Promise<TriggerTable> {
    const { metrics, log, tracker } = this.#ctx;
    let table: TriggerTable;
    try {
      const read = await this.#read(scope, options);
      table = read.intact ? read.table : await this.#restore(read.table, read.problems ?? []);
    } catch (error) {
      metrics.readErrors++;
      if (this.#error === undefined) log.error('reading the trigger table failed', { error });
      this.#error = describeError(error);
      throw error;
    }
    if (this.#error !== undefined) log.info('reading the trigger table works again');
    this.#error = undefined;
    this.#lastReadAt = table.at;
    const observed = tracker.observe(table, {
      config: this.#config(),
      adopted,
      ...(cause ? { cause } : {}),
    });
    metrics.activeEntries = observed.table.entries.length;
    this.#ctx.publish(observed.events);
    return observed.table;
  }

  /** Reads first, so entries that expired before a change are reported as expired, not as changed by it. */
  async observeQuietly(
    cause?: ObserveCause,
    scope: ReadScope = 'full',
    options?: ReadOptions,
  ): Promise<void> {
    await this.observe(cause, false, scope, options).catch(() => undefined);
  }

  /**
   * Applies a config, timing it; `remembered` entries are seeded back where the datapath lost them, and
   * `options.change` lets the datapath apply only what one change made differ.
   */
  async apply(config: Config, remembered?: TriggerTable, options?: ApplyOptions): Promise<ApplyReport> {
    const started = performance.now();
    const report = await this.#ctx.datapath.apply(config, remembered, options);
    this.#ctx.metrics.applyDuration.observe((performance.now() - started) / 1_000);
    return report;
  }

  async #read(scope: ReadScope = 'full', options?: ReadOptions): Promise<DatapathReading> {
    const started = performance.now();
    const read = await this.#ctx.datapath.read(scope, options);
    this.#ctx.metrics.readbackDuration.observe((performance.now() - started) / 1_000);
    return read;
  }

  async #restore(partial: TriggerTable, problems: readonly string[]): Promise<TriggerTable> {
    const { tracker, log, metrics, clock } = this.#ctx;
    const remembered = tracker.remembered(clock(), partial);
    log.warn('the porttrigger table was removed, flushed or changed by another tool: restoring it', {
      entries: remembered.entries.length,
      ...(problems.length > 0 ? { problems } : {}),
    });
    try {
      await this.apply(this.#config(), remembered);
    } catch (error) {
      metrics.restoreFailures++;
      throw error;
    }
    metrics.restores++;
    const { table } = await this.#read();
    log.info('the porttrigger table is restored', { entries: table.entries.length });
    return table;
  }
}
