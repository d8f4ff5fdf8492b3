/**
 * The porttrigger service: it applies the config, reads the trigger table back when the kernel signals a change
 * (and when an expiry is due, and slowly as a safety net: wake-schedule.ts), turns what changed into events (history, live stream, logs), keeps the table in place when another tool removes it,
 * and makes every change (API, reload, release, stop) one at a time. It receives its datapath, history and
 * config store (ports.ts); the parts live in observer.ts, config-changes.ts, history.ts and health.ts.
 */
import { canonicalAddress } from '../domain/address.js';
import { DEFAULT_EVENT_SETTINGS } from '../domain/config.js';
import type { ReadScope, ReleaseSelector } from '../domain/datapath.js';
import { InvalidInputError, PorttriggerError } from '../domain/errors.js';
import type { EventPage, EventQuery } from '../domain/event-history.js';
import { SerialQueue } from '../domain/serial-queue.js';
import type { Config, Protocol, TriggerTable } from '../domain/types.js';
import { type ConfigChange, ConfigChanges, type ReloadResult, type RuleCheck } from './config-changes.js';
import { findRule } from './config-edit.js';
import type { ServiceContext } from './context.js';
import { isWanEvent, type PublishedEvent, type ServiceEvent } from './events.js';
import { defaultStaleReadAfterMs, type Health, healthOf, metricsTextOf } from './health.js';
import { ServiceHistory } from './history.js';
import { type Learning, LearnSessions } from './learn-sessions.js';
import { ServiceMetrics } from './metrics.js';
import { KernelObserver } from './observer.js';
import { checkPort, type PortCheck } from './port-check.js';
import { DEFAULT_RECONCILE_INTERVAL_MS, type ServiceOptions } from './ports.js';
import { FRESH_READ_WAIT_MS, freshOrLast } from './stale-read.js';
import { TableTracker } from './tracker.js';
import { type WakeRead, WakeSchedule } from './wake-schedule.js';
import { type WanInterfaceStatus, WanMonitor } from './wan-monitor.js';

/** The results of config changes and reloads. */
export type { ConfigChange, ReloadResult, RuleCheck } from './config-changes.js';
/** What `/health` reports. */
export type { ComponentHealth, Health } from './health.js';
/** Learning sessions. */
export type { Learning, LearnStart, LearnStatus } from './learn-sessions.js';
/** What the service receives. */
export type { EventHistory, OpenHistory, ServiceOptions } from './ports.js';
/** The default of the slow reconciliation. */
export { DEFAULT_RECONCILE_INTERVAL_MS } from './ports.js';
/** A WAN interface as the service last saw it. */
export type { WanInterfaceStatus } from './wan-monitor.js';

/** Receives live events. */
export type EventListener = (event: PublishedEvent) => void;

/** The running service. Every method that changes something waits its turn in one queue. */
export interface Service {
  /** Where the running config lives. */
  readonly configPath: string;
  /** The running config. */
  readonly config: Config;
  /** Learning sessions: watch a device, propose rules from what it did. */
  readonly learn: Learning;
  /**
   * The trigger table now, with `openedAt` filled in (reads the datapath, emitting what changed). When the read
   * is slow (a hung nft, a long apply ahead of it) it answers with the last table read, marked `stale`.
   */
  table(): Promise<TriggerTable>;
  /**
   * The trigger table of the last read, without reading the datapath: every change reads after itself, so right
   * after one this says which rules are in use (undefined before the first read).
   */
  lastTable(): TriggerTable | undefined;
  /**
   * Reads the datapath now, never answering with the last table, and emits events for what changed (signals,
   * expiries and the safety net do this).
   */
  readNow(): Promise<TriggerTable>;
  /** Adds a rule (body validated with `validateRule`, then the whole config); RULE_EXISTS if the name is taken. */
  createRule(input: unknown): Promise<ConfigChange>;
  /**
   * What creating a rule (or replacing rule `replacing`) would say, without changing anything: every issue, or
   * the warnings of the config it would make, relative to the rule.
   */
  checkRule(input: unknown, replacing?: string): RuleCheck;
  /** Replaces rule `name` (the body may rename it); RULE_NOT_FOUND if there is none. */
  replaceRule(name: string, input: unknown): Promise<ConfigChange>;
  /** Deletes rule `name`; its entries close with reason `rule-removed`. */
  deleteRule(name: string): Promise<ConfigChange>;
  /** Enables or disables rule `name`; disabling closes its entries with reason `rule-disabled`. */
  setRuleEnabled(name: string, enabled: boolean): Promise<ConfigChange>;
  /** The global switch: off opens nothing (every entry closes), on applies the rules again. */
  setEnabled(enabled: boolean): Promise<ConfigChange>;
  /** Releases entries of a rule now; resolves with how many. */
  release(selector: ReleaseSelector): Promise<number>;
  /** Reads the config file again and applies it; an invalid file changes nothing. */
  reload(): Promise<ReloadResult>;
  /** Is `port` open now, for which rule, to which host. */
  checkPort(port: number, protocol: Protocol): Promise<PortCheck>;
  /** A page of the event history; EVENT_STORE_FAILED when the history is unavailable. */
  queryEvents(query: EventQuery): EventPage<ServiceEvent>;
  /** The WAN interfaces (by the config's WAN names) as last seen, with their global addresses; empty without a WAN watch. */
  wan(): readonly WanInterfaceStatus[];
  /** Live events from now on; `onClose` runs when the service stops. Returns the unsubscribe function. */
  subscribe(listener: EventListener, onClose?: () => void): () => void;
  health(): Health;
  /** The metrics in the Prometheus text format. */
  metricsText(): string;
  /** Stops listening, removes the table (unless `keepTableOnStop`) and closes the history. */
  stop(): Promise<void>;
}

/**
 * Starts the service: validates the config (all issues at once; nothing applied when invalid), applies it,
 * adopts the entries the datapath already holds, then listens for the datapath's signals.
 * @example const service = await startService({ datapath, configStore, openHistory, logger })
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { text, result } = await options.configStore.read();
  if (!result.ok) {
    throw new InvalidInputError(
      `the config file ${options.configStore.path} is invalid: nothing was applied`,
      result.issues,
    );
  }
  for (const w of result.warnings) options.logger.warn(w.message, { path: w.path.join('.'), code: w.code });
  const service = new PorttriggerService(options, result.value, text);
  await service.start();
  return service;
}

class PorttriggerService implements Service {
  readonly configPath: string;
  readonly #options: ServiceOptions;
  readonly #ctx: ServiceContext;
  readonly #observer: KernelObserver;
  readonly #history: ServiceHistory;
  readonly #changes: ConfigChanges;
  readonly #learn: LearnSessions;
  readonly #listeners = new Map<EventListener, (() => void) | undefined>();
  readonly #startedAt: number;
  readonly #schedule: WakeSchedule;
  readonly #wan: WanMonitor;
  #pendingRead: Promise<TriggerTable> | undefined;
  #stopping: Promise<void> | undefined;
  /** When the last kernel signal arrived (undefined before the first: the streams' catch-up signals come). */
  #lastSignalAt: number | undefined;

  constructor(options: ServiceOptions, config: Config, text: string) {
    this.configPath = options.configStore.path;
    this.#options = options;
    const clock = options.clock ?? Date.now;
    const metrics = new ServiceMetrics();
    this.#ctx = {
      datapath: options.datapath,
      log: options.logger,
      clock,
      queue: new SerialQueue(),
      tracker: new TableTracker(),
      metrics,
      publish: (events) => this.#publish(events),
      stopping: () => this.#stopping !== undefined,
    };
    this.#startedAt = clock();
    this.#history = new ServiceHistory({
      open: options.openHistory,
      settings: config.events ?? DEFAULT_EVENT_SETTINGS,
      log: options.logger,
      metrics,
      clock,
      stopping: this.#ctx.stopping,
    });
    this.#wan = new WanMonitor(this.#ctx, () => this.#changes.config.interfaces.wan);
    this.#observer = new KernelObserver(this.#ctx, () => this.#changes.config);
    this.#changes = new ConfigChanges(
      this.#ctx,
      {
        store: options.configStore,
        observer: this.#observer,
        history: this.#history,
        quietSince: () => this.#quietSince(),
      },
      config,
      text,
    );
    this.#learn = new LearnSessions(this.#ctx, {
      recorder: options.recorder,
      config: () => this.#changes.config,
      createRule: (input) => this.createRule(input),
      lanSubnets: () => this.#wan.lanSubnets(this.#changes.config.interfaces.lan),
      ...(options.foreignRuleset ? { foreignRuleset: options.foreignRuleset } : {}),
    });
    this.#schedule = new WakeSchedule({
      read: (scope) => this.#readFor(scope),
      clock,
      reconcileIntervalMs: options.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS,
      // While both streams run, every change reaches the service as a signal and the safety net may be rare.
      canStretch: () => {
        const status = options.signals?.status();
        return status?.connections === 'running' && status.ruleset === 'running';
      },
    });
  }

  get learn(): Learning {
    return this.#learn;
  }

  get config(): Config {
    return this.#changes.config;
  }

  async start(): Promise<void> {
    this.#history.open();
    try {
      // Applying keeps the elements of sets that exist: entries of a previous run survive and are adopted.
      const applied = await this.#observer.apply(this.config);
      this.#ctx.log.info('config applied', {
        path: this.configPath,
        rules: this.config.rules.length,
        ...applied,
      });
      this.#history.rememberRecentRecords(this.#ctx.tracker);
      const first = await this.#observer.observe(undefined, true);
      await this.#listen();
      await this.#options.wan?.start((links) => this.#wan.observe(links));
      this.#schedule.start(dueOf(first));
      // After start-up, not in it: the service answers first.
      setImmediate(() => {
        this.#changes
          .prepare()
          .catch((error: unknown) => this.#ctx.log.warn('preparing for changes failed', { error }));
      });
    } catch (error) {
      await this.#options.signals?.close().catch(() => undefined);
      await this.#options.wan?.close().catch(() => undefined);
      this.#history.close();
      throw error;
    }
  }

  /** Starts the datapath's signals; a stream that cannot run is said in the log and in `/health`. */
  async #listen(): Promise<void> {
    const { signals } = this.#options;
    const { log } = this.#ctx;
    if (!signals) return;
    await signals.start((signal) => {
      this.#lastSignalAt = this.#ctx.clock();
      this.#ctx.metrics.signals++;
      this.#schedule.wake(signal.kind === 'connection' ? 'entries' : 'full');
    });
    const status = signals.status();
    if (status.detail !== undefined) {
      log.warn('the service cannot listen to every kernel signal: it reads on its slow reconciliation', {
        detail: status.detail,
        reconcileIntervalMs: this.#options.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS,
      });
    }
  }

  /**
   * The last signal's arrival, while both streams run and so report everything the kernel adds to the table
   * (a stream that restarts signals a catch-up once it runs again): a listing taken after it still holds.
   */
  #quietSince(): number | undefined {
    const status = this.#options.signals?.status();
    if (status?.connections !== 'running' || status.ruleset !== 'running') return undefined;
    return this.#lastSignalAt;
  }

  /** One read the schedule asked for; its errors are the observer's to report. */
  #readFor(scope: ReadScope): Promise<WakeRead> {
    return this.#ctx.queue.run(async () => {
      if (this.#stopping) return {};
      return dueOf(await this.#observer.observe(undefined, false, scope));
    });
  }

  // ---- reading the datapath ----

  table(): Promise<TriggerTable> {
    return freshOrLast(
      this.readNow(),
      () => this.#ctx.tracker.last,
      this.#options.freshReadWaitMs ?? FRESH_READ_WAIT_MS,
    );
  }

  lastTable(): TriggerTable | undefined {
    return this.#ctx.tracker.last;
  }

  readNow(): Promise<TriggerTable> {
    // Callers that arrive while a read waits in the queue share it.
    this.#pendingRead ??= this.#ctx.queue.run(async () => {
      this.#pendingRead = undefined;
      this.#assertRunning();
      const table = await this.#observer.observe().catch((error: unknown) => {
        this.#schedule.failed();
        throw error;
      });
      this.#schedule.seen(dueOf(table));
      return table;
    });
    return this.#pendingRead;
  }

  // ---- changes ----

  checkRule(input: unknown, replacing?: string): RuleCheck {
    return this.#changes.checkRule(input, replacing);
  }

  createRule(input: unknown): Promise<ConfigChange> {
    return this.#changes.createRule(input);
  }

  replaceRule(name: string, input: unknown): Promise<ConfigChange> {
    return this.#changes.replaceRule(name, input);
  }

  deleteRule(name: string): Promise<ConfigChange> {
    return this.#changes.deleteRule(name);
  }

  setRuleEnabled(name: string, enabled: boolean): Promise<ConfigChange> {
    return this.#changes.setRuleEnabled(name, enabled);
  }

  setEnabled(enabled: boolean): Promise<ConfigChange> {
    return this.#changes.setEnabled(enabled);
  }

  reload(): Promise<ReloadResult> {
    return this.#changes.reload();
  }

  release(selector: ReleaseSelector): Promise<number> {
    const { queue, datapath, log } = this.#ctx;
    return queue.run(async () => {
      this.#assertRunning();
      if (!findRule(this.config, selector.rule)) {
        throw new PorttriggerError('RULE_NOT_FOUND', `no rule named "${selector.rule}"`);
      }
      const canonical: ReleaseSelector = {
        rule: selector.rule,
        ...(selector.family !== undefined ? { family: selector.family } : {}),
        ...(selector.holder !== undefined ? { holder: validAddress(selector.holder, 'holder') } : {}),
        ...(selector.remote !== undefined ? { remote: validAddress(selector.remote, 'remote') } : {}),
      };
      await this.#observer.observeQuietly();
      const released = await datapath.release(canonical);
      log.info('entries released', { ...canonical, released });
      await this.#observer.observeQuietly({ kind: 'released', selector: canonical });
      return released;
    });
  }

  async checkPort(port: number, protocol: Protocol): Promise<PortCheck> {
    const table = await this.table();
    return checkPort(this.config, table, port, protocol);
  }

  // ---- events ----

  queryEvents(query: EventQuery): EventPage<ServiceEvent> {
    return this.#history.query(query);
  }

  wan(): readonly WanInterfaceStatus[] {
    return this.#wan.status();
  }

  subscribe(listener: EventListener, onClose?: () => void): () => void {
    this.#listeners.set(listener, onClose);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #publish(events: readonly ServiceEvent[]): void {
    const { metrics, log } = this.#ctx;
    for (const event of events) {
      metrics.count(event);
      const id = this.#history.store(event);
      const published: PublishedEvent = id === undefined ? event : { ...event, id };
      const { type, ...fields } = event;
      log.info(isWanEvent(event) ? type.replace('-', ' ') : `entry ${type}`, fields);
      for (const listener of this.#listeners.keys()) {
        try {
          listener(published);
        } catch (error) {
          log.warn('an event listener failed', { error });
        }
      }
    }
  }

  // ---- state ----

  health(): Health {
    const now = this.#ctx.clock();
    return healthOf(this.#observer.status(), this.#history.status(), this.#ctx.metrics.activeEntries, {
      now,
      uptimeMs: now - this.#startedAt,
      staleReadAfterMs:
        this.#options.staleReadAfterMs ?? defaultStaleReadAfterMs(this.#schedule.reconcileIntervalMs),
      ...(this.#options.signals ? { signals: this.#options.signals.status() } : {}),
    });
  }

  metricsText(): string {
    return metricsTextOf(this.#ctx.metrics, this.health(), {
      intervalMs: this.#schedule.reconcileIntervalMs,
      lastFullReadMs: this.#schedule.lastFullReadMs,
      count: this.#schedule.counts.reconcile,
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
    await this.#schedule.stop();
    await this.#options.signals?.close().catch(() => undefined);
    await this.#options.wan?.close().catch(() => undefined);
    this.#wan.close();
    const { queue, log, tracker, datapath, clock } = this.#ctx;
    try {
      // The recording rule and its listener go first: nothing of a session outlives the service.
      await this.#learn.close().catch((error: unknown) => log.error('ending learning failed', { error }));
      await queue.run(async () => {
        const keep = this.#options.keepTableOnStop;
        if (typeof keep === 'function' ? keep() : keep) {
          log.info('stopped; the porttrigger table stays in place', { entries: tracker.size });
          return;
        }
        await datapath.remove();
        this.#publish(tracker.closeAll('stopped', clock()));
        log.info('stopped; the porttrigger table is removed');
      });
    } finally {
      for (const onClose of this.#listeners.values()) onClose?.();
      this.#listeners.clear();
      this.#history.close();
    }
  }
}

/** When the next read is due by itself: the earliest expiry the table shows. */
function dueOf(table: TriggerTable): WakeRead {
  if (table.entries.length === 0) return {};
  return { nextDueAt: Math.min(...table.entries.map((e) => e.expiresAt)) };
}

function validAddress(text: string, field: string): string {
  const address = canonicalAddress(text);
  if (address === undefined) {
    throw new InvalidInputError(`${field} is not an IP address`, [
      { path: [field], code: 'bad_address', message: `"${text}" is not an IPv4 or IPv6 address` },
    ]);
  }
  return address;
}
