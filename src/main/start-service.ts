/**
 * The production wiring of the service: the kernel datapath on the nft runner, the SQLite event history and the
 * config file. `run`, `lab` (through service-host.ts) and the daemon entry point start the service here.
 */
import { createConfigFileStore } from '../adapters/config-file.js';
import { EventStore } from '../adapters/event-store.js';
import { createKernelDatapath } from '../adapters/kernel-datapath.js';
import { createKernelSignals, OwnWriters } from '../adapters/kernel-signals.js';
import { createLearnRecorder } from '../adapters/learn-recorder.js';
import { createNftRunner, type NftRunnerOptions } from '../adapters/nft.js';
import { createWanWatch } from '../adapters/wan-watch.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../domain/logger.js';
import type { ServiceEvent } from '../service/events.js';
import type { OpenHistory, Service } from '../service/service.js';
import { startService } from '../service/service.js';

/** Options for {@link startKernelService}. */
export interface KernelServiceOptions {
  /** The YAML config file; API rule changes are written back to it. */
  readonly configPath: string;
  readonly logger: Logger;
  /** Run nft inside this network namespace (the lab and the tests). */
  readonly netns?: string;
  /** Leave the nftables table (and its entries) in place on stop, for a restart that adopts them. */
  readonly keepTableOnStop?: boolean | (() => boolean);
  readonly clock?: Clock;
  /**
   * The nft program and its timeouts. Only code that starts the service in-process sets it (the fault tests
   * point it at a program that hangs); neither the config file, the daemon's arguments nor the API reach it.
   */
  readonly nft?: Omit<NftRunnerOptions, 'netns'>;
  /** How old the last successful read may be before `/health` says degraded (default: the service's). */
  readonly staleReadAfterMs?: number;
  /** The slow full read of the safety net (default 30 s); signals and due expiries wake the service between. */
  readonly reconcileIntervalMs?: number;
  /** The conntrack program (tests point it at a missing one to run without the connection signals). */
  readonly conntrackBinary?: string;
}

/** Opens the SQLite event history at `settings.database`. */
export const openSqliteHistory: OpenHistory = (settings, clock) =>
  EventStore.open<ServiceEvent>({
    path: settings.database,
    retentionDays: settings.retentionDays,
    maxEvents: settings.maxEvents,
    clock,
  });

/**
 * Starts the service on nftables: validates the config file, applies it, then reads the kernel when it signals
 * a change (conntrack events of our marks, `nft monitor` for other tools' changes).
 * @example const service = await startKernelService({ configPath: '/etc/porttrigger/config.yaml', logger })
 */
export async function startKernelService(options: KernelServiceOptions): Promise<Service> {
  const clock = options.clock ?? Date.now;
  const where = options.netns ? { netns: options.netns } : {};
  const conntrack = options.conntrackBinary ? { conntrackBinary: options.conntrackBinary } : {};
  // Our own nft writes show in `nft monitor` too: the signals skip the transactions of these processes.
  const writers = new OwnWriters();
  // A contender that took a rule when an entry ended changed the table outside any call: read it again.
  let service: Service | undefined;
  const datapath = createKernelDatapath({
    ...where,
    ...conntrack,
    // The fault tests' nft options, plus the ids of our writers for the monitor.
    nft: { ...options.nft, onWrite: (pid) => writers.add(pid) },
    onRefreshError: (error) =>
      options.logger.warn('could not refresh entries from conntrack', { error: String(error) }),
    onTakeover: () => void service?.readNow().catch(() => undefined),
    onSetReaderFault: (error) =>
      options.logger.warn('the set reader cannot be used: nft lists the entry sets (slower)', {
        error: String(error),
      }),
    clock,
  });
  // Proposals wait for it at most 3 s; a hung nft is stopped soon after rather than after the usual 15 s.
  const foreign = createNftRunner({ listTimeoutMs: 5_000, ...options.nft, ...where });
  service = await startService({
    datapath,
    recorder: createLearnRecorder({ datapath, ...where }),
    // Learn proposals name other tools' static forwards; a missing ruleset (nothing listed) reads as empty.
    foreignRuleset: async () => (await foreign.listJson(['list', 'ruleset'])) ?? { nftables: [] },
    signals: createKernelSignals({ ...where, ...conntrack, writers, clock }),
    wan: createWanWatch({
      ...where,
      onError: (error) => options.logger.warn('reading the WAN links failed', { error: String(error) }),
    }),
    ...(options.reconcileIntervalMs !== undefined
      ? { reconcileIntervalMs: options.reconcileIntervalMs }
      : {}),
    configStore: createConfigFileStore(options.configPath),
    openHistory: openSqliteHistory,
    logger: options.logger,
    clock,
    ...(options.keepTableOnStop ? { keepTableOnStop: options.keepTableOnStop } : {}),
    ...(options.staleReadAfterMs !== undefined ? { staleReadAfterMs: options.staleReadAfterMs } : {}),
  });
  return service;
}
