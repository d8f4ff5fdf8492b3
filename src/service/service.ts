/**
 * The porttrigger service: it applies the config, reads the trigger table back every second, turns what
 * changed into events (history, live stream, logs), keeps the table in place when another tool removes it,
 * and makes every change (API, reload, release, stop) one at a time.
 */
import { performance } from 'node:perf_hooks';
import { readConfigFile, renderConfigText, stableJson, writeConfigFile } from '../adapters/config-file.js';
import {
  type EventPage,
  type EventQuery,
  EventStore,
  type RetentionSettings,
} from '../adapters/event-store.js';
import { KernelDatapath } from '../adapters/kernel-datapath.js';
import type { Logger } from '../adapters/logger.js';
import { createNftRunner } from '../adapters/nft.js';
import { canonicalAddress } from '../domain/address.js';
import { parseConfigText, validateConfig, validateRule } from '../domain/config.js';
import type { ApplyReport, Datapath, ReleaseSelector } from '../domain/datapath.js';
import { InvalidInputError, type Issue, PorttriggerError } from '../domain/errors.js';
import type { Config, EventSettings, Protocol, Rule, TriggerTable } from '../domain/types.js';
import {
  findRule,
  issuesForRule,
  withRuleAdded,
  withRuleEnabled,
  withRuleRemoved,
  withRuleReplaced,
} from './config-edit.js';
import type { PublishedEvent, TriggerEvent } from './events.js';
import { renderMetrics, ServiceMetrics } from './metrics.js';
import { checkPort, type PortCheck } from './port-check.js';
import { SerialQueue } from './queue.js';
import { type ObserveCause, TableTracker } from './tracker.js';

/** A datapath the service can drive: the port, plus the kernel's restore and intact check when it has them. */
export type ServiceDatapath = Datapath & {
  /** `remembered`: entries to seed back if the datapath lost them (the kernel datapath supports it). */
  apply(config: Config, remembered?: TriggerTable): Promise<ApplyReport>;
  /** False when another tool removed or flushed what the last apply installed. */
  isIntact?(): Promise<boolean>;
  /** The table and the intact check from one read (the kernel datapath); polls use it when present. */
  readTableChecked?(): Promise<{ table: TriggerTable; intact: boolean }>;
};

/** What the service needs of the event history ({@link EventStore} provides it). */
export interface EventHistory {
  insert(event: TriggerEvent): number;
  query(query: EventQuery): EventPage<TriggerEvent>;
  setRetention?(retention: RetentionSettings): void;
  close(): void;
}

/** Options for {@link startService}. */
export interface ServiceOptions {
  /** The YAML config file; API rule changes are written back to it. */
  readonly configPath: string;
  readonly logger: Logger;
  /** Run nft inside this network namespace (the lab and the tests). */
  readonly netns?: string;
  /** Defaults to the kernel datapath; tests pass the reference model. */
  readonly datapath?: ServiceDatapath;
  /** Milliseconds since the epoch (default Date.now). */
  readonly clock?: () => number;
  /** How often the trigger table is read back (default 1000 ms). */
  readonly pollIntervalMs?: number;
  /** Leave the nftables table (and its entries) in place on stop, for a restart that adopts them. */
  readonly keepTableOnStop?: boolean;
  /** Opens the event history (default: the SQLite store at `config.events.database`). */
  readonly openHistory?: (settings: EventSettings, clock: () => number) => EventHistory;
}

import { DEFAULT_EVENT_SETTINGS } from '../domain/config.js';

export { DEFAULT_EVENT_SETTINGS };

/** The result of a config change through the API. */
export interface ConfigChange {
  readonly config: Config;
  /** The rule created or changed (absent for a deletion). */
  readonly rule?: Rule;
  readonly warnings: readonly Issue[];
  readonly applied: ApplyReport;
}

/** The result of a reload: applied, or refused with every issue (the running config is unchanged then). */
export type ReloadResult =
  | { readonly ok: true; readonly warnings: readonly Issue[]; readonly applied: ApplyReport }
  | { readonly ok: false; readonly issues: readonly Issue[]; readonly warnings: readonly Issue[] };

/** The state of one part of the service. */
export interface ComponentHealth {
  readonly status: 'ok' | 'failing';
  readonly error?: string;
}

/** What `/health` reports. `degraded`: triggering may work but a part fails (history, read-back). */
export interface Health {
  readonly status: 'ok' | 'degraded';
  readonly datapath: ComponentHealth & { readonly entries: number; readonly lastReadAt?: number };
  readonly eventStore: ComponentHealth & { readonly path: string };
  /** Seconds since start. */
  readonly uptime: number;
}

/** Receives live events. */
export type EventListener = (event: PublishedEvent) => void;

/** The running service. Every method that changes something waits its turn in one queue. */
export interface Service {
  readonly configPath: string;
  /** The running config. */
  readonly config: Config;
  /** The trigger table now, with `openedAt` filled in (reads the datapath, emitting what changed). */
  table(): Promise<TriggerTable>;
  /** Reads the datapath now and emits events for what changed (the timer does this every poll interval). */
  poll(): Promise<TriggerTable>;
  /** Adds a rule (body validated with `validateRule`, then the whole config); RULE_EXISTS if the name is taken. */
  createRule(input: unknown): Promise<ConfigChange>;
  /** Replaces rule `name` (the body may rename it); RULE_NOT_FOUND if there is none. */
  replaceRule(name: string, input: unknown): Promise<ConfigChange>;
  /** Deletes rule `name`; its entries close with reason `rule-removed`. */
  deleteRule(name: string): Promise<ConfigChange>;
  /** Enables or disables rule `name`; disabling closes its entries with reason `rule-disabled`. */
  setRuleEnabled(name: string, enabled: boolean): Promise<ConfigChange>;
  /** Releases entries of a rule now; resolves with how many. */
  release(selector: ReleaseSelector): Promise<number>;
  /** Reads the config file again and applies it; an invalid file changes nothing. */
  reload(): Promise<ReloadResult>;
  /** Is `port` open now, for which rule, to which host. */
  checkPort(port: number, protocol: Protocol): Promise<PortCheck>;
  /** A page of the event history; EVENT_STORE_FAILED when the history is unavailable. */
  queryEvents(query: EventQuery): EventPage<TriggerEvent>;
  /** Live events from now on; `onClose` runs when the service stops. Returns the unsubscribe function. */
  subscribe(listener: EventListener, onClose?: () => void): () => void;
  health(): Health;
  /** The metrics in the Prometheus text format. */
  metricsText(): string;
  /** Stops polling, removes the table (unless `keepTableOnStop`) and closes the history. */
  stop(): Promise<void>;
}

// After a failure the history is opened again at most this often (the disk may come back).
const HISTORY_RETRY_MS = 30_000;
// Records stay in the table for 60 s: events for them from before a restart must not be emitted twice.
const RECORD_LOOKBACK_MS = 75_000;

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function defaultHistory(settings: EventSettings, clock: () => number): EventHistory {
  return EventStore.open<TriggerEvent>({
    path: settings.database,
    retentionDays: settings.retentionDays,
    maxEvents: settings.maxEvents,
    clock,
  });
}

/**
 * Starts the service: validates the config (all issues at once; nothing applied when invalid), applies it,
 * adopts the entries the kernel already holds, then polls.
 * @example const service = await startService({ configPath: '/etc/porttrigger/config.yaml', logger: createLogger() })
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { text, result } = await readConfigFile(options.configPath);
  if (!result.ok) {
    throw new InvalidInputError(
      `the config file ${options.configPath} is invalid: nothing was applied`,
      result.issues,
    );
  }
  for (const w of result.warnings) options.logger.warn(w.message, { path: w.path.join('.'), code: w.code });
  const clock = options.clock ?? Date.now;
  const datapath =
    options.datapath ??
    new KernelDatapath({ nft: createNftRunner(options.netns ? { netns: options.netns } : {}), clock });
  const service = new PorttriggerService(options, datapath, clock, result.value, text);
  await service.start();
  return service;
}

class PorttriggerService implements Service {
  readonly configPath: string;
  readonly #options: ServiceOptions;
  readonly #log: Logger;
  readonly #datapath: ServiceDatapath;
  readonly #clock: () => number;
  readonly #queue = new SerialQueue();
  readonly #tracker = new TableTracker();
  readonly #metrics = new ServiceMetrics();
  readonly #listeners = new Map<EventListener, (() => void) | undefined>();
  readonly #startedAt: number;
  #config: Config;
  #text: string;
  #history: EventHistory | undefined;
  #historySettings: EventSettings;
  #historyError: string | undefined;
  #historyRetryAt = 0;
  #datapathError: string | undefined;
  #lastReadAt: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pendingPoll: Promise<TriggerTable> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(
    options: ServiceOptions,
    datapath: ServiceDatapath,
    clock: () => number,
    config: Config,
    text: string,
  ) {
    this.configPath = options.configPath;
    this.#options = options;
    this.#log = options.logger;
    this.#datapath = datapath;
    this.#clock = clock;
    this.#config = config;
    this.#text = text;
    this.#startedAt = clock();
    this.#historySettings = config.events ?? DEFAULT_EVENT_SETTINGS;
  }

  get config(): Config {
    return this.#config;
  }

  async start(): Promise<void> {
    this.#openHistory();
    try {
      // Applying keeps the elements of sets that exist: entries of a previous run survive and are adopted.
      const applied = await this.#apply(this.#config);
      this.#log.info('config applied', {
        path: this.configPath,
        rules: this.#config.rules.length,
        ...applied,
      });
      this.#rememberRecentRecords();
      await this.#observe(undefined, true);
    } catch (error) {
      this.#history?.close();
      throw error;
    }
    this.#schedule();
  }

  // ---- reading the datapath ----

  table(): Promise<TriggerTable> {
    // Callers that arrive while a read waits in the queue share it.
    this.#pendingPoll ??= this.#queue.run(async () => {
      this.#pendingPoll = undefined;
      this.#assertRunning();
      return this.#observe();
    });
    return this.#pendingPoll;
  }

  poll(): Promise<TriggerTable> {
    return this.table();
  }

  #schedule(): void {
    if (this.#stopping) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.table()
        .catch(() => undefined)
        .finally(() => this.#schedule());
    }, this.#options.pollIntervalMs ?? 1_000);
  }

  /** Reads the table (restoring it first if another tool removed it) and emits what changed. Queue only. */
  async #observe(cause?: ObserveCause, adopted = false): Promise<TriggerTable> {
    let table: TriggerTable;
    try {
      const read = await this.#read();
      table = read.table;
      if (!read.intact) table = await this.#restore(table);
    } catch (error) {
      this.#metrics.pollErrors++;
      const message = describeError(error);
      if (this.#datapathError === undefined) this.#log.error('reading the trigger table failed', { error });
      this.#datapathError = message;
      throw error;
    }
    if (this.#datapathError !== undefined) this.#log.info('reading the trigger table works again');
    this.#datapathError = undefined;
    this.#lastReadAt = table.at;
    const observed = this.#tracker.observe(table, {
      config: this.#config,
      adopted,
      ...(cause ? { cause } : {}),
    });
    this.#metrics.activeEntries = observed.table.entries.length;
    this.#publish(observed.events);
    return observed.table;
  }

  /** Reads the table and whether the datapath still holds what was applied, in one read where it can. */
  async #read(): Promise<{ table: TriggerTable; intact: boolean }> {
    const started = performance.now();
    const dp = this.#datapath;
    const read = dp.readTableChecked
      ? await dp.readTableChecked()
      : // Checked after the read: a table deleted before it made the read partial, one deleted after it did not.
        { table: await dp.readTable(), intact: dp.isIntact ? await dp.isIntact() : true };
    this.#metrics.readbackDuration.observe((performance.now() - started) / 1_000);
    return read;
  }

  async #restore(partial: TriggerTable): Promise<TriggerTable> {
    const remembered = this.#tracker.remembered(this.#clock(), partial);
    this.#log.warn('the porttrigger table was removed or flushed by another tool: restoring it', {
      entries: remembered.entries.length,
    });
    try {
      await this.#apply(this.#config, remembered);
    } catch (error) {
      this.#metrics.restoreFailures++;
      throw error;
    }
    this.#metrics.restores++;
    const { table } = await this.#read();
    this.#log.info('the porttrigger table is restored', { entries: table.entries.length });
    return table;
  }

  async #apply(config: Config, remembered?: TriggerTable): Promise<ApplyReport> {
    const started = performance.now();
    const report = await (remembered
      ? this.#datapath.apply(config, remembered)
      : this.#datapath.apply(config));
    this.#metrics.applyDuration.observe((performance.now() - started) / 1_000);
    return report;
  }

  // ---- changes ----

  createRule(input: unknown): Promise<ConfigChange> {
    const rule = this.#validRule(input);
    return this.#change('create rule', (config) => {
      const next = withRuleAdded(config, rule);
      return { config: next, index: next.rules.length - 1, name: rule.name };
    });
  }

  replaceRule(name: string, input: unknown): Promise<ConfigChange> {
    // The name may be left out of the body: it is the one in the path then.
    const body = input && typeof input === 'object' && !('name' in input) ? { ...input, name } : input;
    const rule = this.#validRule(body);
    return this.#change('replace rule', (config) => {
      const next = withRuleReplaced(config, name, rule);
      return { config: next, index: next.rules.findIndex((r) => r.name === rule.name), name: rule.name };
    });
  }

  deleteRule(name: string): Promise<ConfigChange> {
    return this.#change('delete rule', (config) => ({ config: withRuleRemoved(config, name) }));
  }

  setRuleEnabled(name: string, enabled: boolean): Promise<ConfigChange> {
    return this.#change(enabled ? 'enable rule' : 'disable rule', (config) => ({
      config: withRuleEnabled(config, name, enabled),
      index: config.rules.findIndex((r) => r.name === name),
      name,
    }));
  }

  #validRule(input: unknown): Rule {
    const result = validateRule(input);
    if (!result.ok) throw new InvalidInputError('the rule is invalid: nothing changed', result.issues);
    return result.value;
  }

  /**
   * Validates the edited config, applies it, and only then writes the file; a refused apply writes nothing, a
   * failed write puts the previous config back into the kernel.
   */
  #change(
    what: string,
    edit: (config: Config) => { config: Config; index?: number; name?: string },
  ): Promise<ConfigChange> {
    return this.#queue.run(async () => {
      this.#assertRunning();
      const { config: candidate, index, name } = edit(this.#config);
      const result = validateConfig(candidate);
      const relative = (issues: readonly Issue[]) =>
        index === undefined ? [...issues] : issuesForRule(issues, index);
      if (!result.ok) {
        this.#metrics.reloadFailures++;
        throw new InvalidInputError(
          `${what}: the config would be invalid, nothing changed`,
          relative(result.issues),
        );
      }
      await this.#assertFileUnchanged();
      const next = result.value;
      const text = renderConfigText(this.#text, next);
      const reread = parseConfigText(text);
      if (!reread.ok || stableJson(reread.value) !== stableJson(next)) {
        throw new PorttriggerError(
          'INTERNAL',
          `${what}: the config file would not read back as the new config`,
        );
      }
      // Read first, so entries that expired before the apply are reported as expired, not as changed.
      await this.#observe().catch(() => undefined);
      const before = this.#config;
      const applied = await this.#apply(next);
      try {
        await writeConfigFile(this.configPath, text);
      } catch (error) {
        this.#log.error(`${what}: writing the config file failed, putting the previous config back`, {
          error,
        });
        await this.#apply(before, this.#tracker.remembered(this.#clock())).catch((e) =>
          this.#log.error('re-applying the previous config failed', { error: e }),
        );
        throw error;
      }
      this.#config = next;
      this.#text = text;
      this.#metrics.reloads++;
      this.#log.info(`${what}: applied and saved`, { rule: name, ...applied });
      await this.#observe({ kind: 'applied' }).catch(() => undefined);
      const rule = name === undefined ? undefined : findRule(next, name);
      return { config: next, ...(rule ? { rule } : {}), warnings: relative(result.warnings), applied };
    });
  }

  async #assertFileUnchanged(): Promise<void> {
    const { text } = await readConfigFile(this.configPath);
    if (text !== this.#text) {
      throw new PorttriggerError(
        'CONFIG_FILE_CHANGED',
        `${this.configPath} changed on disk since it was loaded: reload it first (SIGHUP or POST /api/v1/reload)`,
      );
    }
  }

  reload(): Promise<ReloadResult> {
    return this.#queue.run(async () => {
      this.#assertRunning();
      const { text, result } = await readConfigFile(this.configPath);
      if (!result.ok) {
        this.#metrics.reloadFailures++;
        this.#log.error('reload refused: the config file is invalid, the running config is unchanged', {
          path: this.configPath,
          issues: result.issues.length,
        });
        for (const issue of result.issues) {
          this.#log.error(issue.message, { path: issue.path.join('.'), code: issue.code });
        }
        return { ok: false, issues: result.issues, warnings: result.warnings };
      }
      for (const w of result.warnings) this.#log.warn(w.message, { path: w.path.join('.'), code: w.code });
      await this.#observe().catch(() => undefined);
      let applied: ApplyReport;
      try {
        applied = await this.#apply(result.value);
      } catch (error) {
        this.#metrics.reloadFailures++;
        this.#log.error('reload failed: the datapath refused the config, the running config is unchanged', {
          error,
        });
        throw error;
      }
      this.#config = result.value;
      this.#text = text;
      this.#metrics.reloads++;
      this.#updateHistorySettings();
      this.#log.info('config reloaded', {
        path: this.configPath,
        rules: result.value.rules.length,
        ...applied,
      });
      await this.#observe({ kind: 'applied' }).catch(() => undefined);
      return { ok: true, warnings: result.warnings, applied };
    });
  }

  release(selector: ReleaseSelector): Promise<number> {
    return this.#queue.run(async () => {
      this.#assertRunning();
      if (!findRule(this.#config, selector.rule)) {
        throw new PorttriggerError('RULE_NOT_FOUND', `no rule named "${selector.rule}"`);
      }
      const canonical: ReleaseSelector = {
        rule: selector.rule,
        ...(selector.family !== undefined ? { family: selector.family } : {}),
        ...(selector.holder !== undefined ? { holder: this.#address(selector.holder, 'holder') } : {}),
        ...(selector.remote !== undefined ? { remote: this.#address(selector.remote, 'remote') } : {}),
      };
      await this.#observe().catch(() => undefined);
      const released = await this.#datapath.release(canonical);
      this.#log.info('entries released', { ...canonical, released });
      await this.#observe({ kind: 'released', selector: canonical }).catch(() => undefined);
      return released;
    });
  }

  #address(text: string, field: string): string {
    const address = canonicalAddress(text);
    if (address === undefined) {
      throw new InvalidInputError(`${field} is not an IP address`, [
        { path: [field], code: 'bad_address', message: `"${text}" is not an IPv4 or IPv6 address` },
      ]);
    }
    return address;
  }

  async checkPort(port: number, protocol: Protocol): Promise<PortCheck> {
    const table = await this.table();
    return checkPort(this.#config, table, port, protocol);
  }

  // ---- events ----

  queryEvents(query: EventQuery): EventPage<TriggerEvent> {
    const history = this.#availableHistory();
    if (!history) {
      throw new PorttriggerError(
        'EVENT_STORE_FAILED',
        `the event history is unavailable: ${this.#historyError ?? 'not open'}`,
      );
    }
    try {
      return history.query(query);
    } catch (error) {
      if (error instanceof PorttriggerError) throw error;
      throw new PorttriggerError(
        'EVENT_STORE_FAILED',
        `the event history cannot be read: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  subscribe(listener: EventListener, onClose?: () => void): () => void {
    this.#listeners.set(listener, onClose);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #publish(events: readonly TriggerEvent[]): void {
    for (const event of events) {
      this.#metrics.count(event);
      const id = this.#store(event);
      const published: PublishedEvent = id === undefined ? event : { ...event, id };
      const { type, ...fields } = event;
      this.#log.info(`entry ${type}`, fields);
      for (const listener of this.#listeners.keys()) {
        try {
          listener(published);
        } catch (error) {
          this.#log.warn('an event listener failed', { error });
        }
      }
    }
  }

  /** Stores an event; a failing history is counted and logged, never thrown: triggering goes on. */
  #store(event: TriggerEvent): number | undefined {
    const history = this.#availableHistory();
    if (!history) {
      this.#metrics.eventStoreErrors++;
      return undefined;
    }
    try {
      const id = history.insert(event);
      if (this.#historyError !== undefined) this.#log.info('the event history accepts writes again');
      this.#historyError = undefined;
      return id;
    } catch (error) {
      this.#metrics.eventStoreErrors++;
      if (this.#historyError === undefined) {
        this.#log.error('the event history cannot be written: events go to the stream and the logs only', {
          error,
        });
      }
      this.#historyError = describeError(error);
      return undefined;
    }
  }

  #openHistory(): void {
    const open = this.#options.openHistory ?? defaultHistory;
    try {
      this.#history = open(this.#historySettings, this.#clock);
      if (this.#historyError !== undefined) this.#log.info('the event history is open again');
      this.#historyError = undefined;
    } catch (error) {
      this.#historyRetryAt = this.#clock() + HISTORY_RETRY_MS;
      if (this.#historyError === undefined) {
        this.#log.error('the event history cannot be opened: events go to the stream and the logs only', {
          error,
        });
      }
      this.#historyError = describeError(error);
    }
  }

  #availableHistory(): EventHistory | undefined {
    if (!this.#history && !this.#stopping && this.#clock() >= this.#historyRetryAt) this.#openHistory();
    return this.#history;
  }

  #updateHistorySettings(): void {
    const next = this.#config.events ?? DEFAULT_EVENT_SETTINGS;
    if (next.database !== this.#historySettings.database) {
      this.#log.warn('a new event database path takes effect on restart', { database: next.database });
    }
    this.#historySettings = { ...next, database: this.#historySettings.database };
    try {
      this.#history?.setRetention?.(next);
    } catch (error) {
      this.#log.warn('trimming the event history failed', { error });
    }
  }

  /** Records already in the history (from before a restart) are not events again. */
  #rememberRecentRecords(): void {
    if (!this.#history) return;
    const since = this.#clock() - RECORD_LOOKBACK_MS;
    try {
      for (const type of ['conflict', 'blocked'] as const) {
        for (const e of this.#history.query({ type, since, limit: 1_000 }).events) {
          if (e.type === 'conflict') {
            this.#tracker.rememberRecord({ ...e, who: e.contender });
          } else if (e.type === 'blocked') {
            this.#tracker.rememberRecord({ ...e, who: e.host });
          }
        }
      }
    } catch (error) {
      this.#log.warn('reading recent records from the event history failed', { error });
    }
  }

  // ---- state ----

  health(): Health {
    const datapathError = this.#datapathError;
    const historyError = this.#history ? this.#historyError : (this.#historyError ?? 'not open');
    return {
      status: datapathError === undefined && historyError === undefined ? 'ok' : 'degraded',
      datapath: {
        status: datapathError === undefined ? 'ok' : 'failing',
        ...(datapathError !== undefined ? { error: datapathError } : {}),
        entries: this.#metrics.activeEntries,
        ...(this.#lastReadAt !== undefined ? { lastReadAt: this.#lastReadAt } : {}),
      },
      eventStore: {
        status: historyError === undefined ? 'ok' : 'failing',
        ...(historyError !== undefined ? { error: historyError } : {}),
        path: this.#historySettings.database,
      },
      uptime: Math.max(0, Math.round((this.#clock() - this.#startedAt) / 1_000)),
    };
  }

  metricsText(): string {
    const health = this.health();
    return renderMetrics(this.#metrics, {
      eventStoreUp: health.eventStore.status === 'ok',
      datapathUp: health.datapath.status === 'ok',
      uptimeSeconds: health.uptime,
    });
  }

  #assertRunning(): void {
    if (this.#stopping) throw new PorttriggerError('SERVICE_STOPPED', 'the service is stopping');
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    try {
      await this.#queue.run(async () => {
        if (this.#options.keepTableOnStop) {
          this.#log.info('stopped; the porttrigger table stays in place', { entries: this.#tracker.size });
          return;
        }
        await this.#datapath.remove();
        this.#publish(this.#tracker.closeAll('stopped', this.#clock()));
        this.#log.info('stopped; the porttrigger table is removed');
      });
    } finally {
      for (const onClose of this.#listeners.values()) onClose?.();
      this.#listeners.clear();
      this.#history?.close();
      this.#history = undefined;
    }
  }
}
