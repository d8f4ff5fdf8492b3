/** The service's health and metrics text, from the state of the datapath and of the event history. */
import type { DatapathSignalsStatus } from '../domain/datapath-signals.js';
import type { HistoryStatus } from './history.js';
import { renderMetrics, type ServiceMetrics } from './metrics.js';
import type { DatapathStatus } from './observer.js';

/** The state of one part of the service. */
export interface ComponentHealth {
  readonly status: 'ok' | 'failing';
  readonly error?: string;
}

/**
 * What `/health` reports. `degraded`: triggering may work but a part fails (history, read-back) or the trigger
 * table the service shows is older than it should be; `reasons` says which, one sentence each.
 */
export interface Health {
  readonly status: 'ok' | 'degraded';
  /** Why the status is `degraded`; empty when it is `ok`. */
  readonly reasons: readonly string[];
  readonly datapath: ComponentHealth & {
    readonly entries: number;
    readonly lastReadAt?: number;
    /**
     * The kernel signals the service reads on: a stream that is not `running` leaves changes to the slow
     * reconciliation, and `detail` says why.
     */
    readonly signals?: DatapathSignalsStatus;
  };
  /** `reopenedAt`: when the database was last found deleted or replaced and opened again. */
  readonly eventStore: ComponentHealth & { readonly path: string; readonly reopenedAt?: number };
  /** Seconds since start. */
  readonly uptime: number;
}

/** The default bound on the age of the last successful read: a few reconciliation intervals, at least 10 s. */
export function defaultStaleReadAfterMs(intervalMs: number): number {
  return Math.max(3 * intervalMs, 10_000);
}

/** When the report is made, and how old a successful read may be before the datapath counts as failing. */
export interface HealthClock {
  readonly now: number;
  readonly uptimeMs: number;
  readonly staleReadAfterMs: number;
  /** The state of the kernel signal streams, when the service has them. */
  readonly signals?: DatapathSignalsStatus;
}

/** The health report: degraded when the datapath read or the history fails, or the last read is too old. */
export function healthOf(
  datapath: DatapathStatus,
  history: HistoryStatus,
  entries: number,
  clock: HealthClock,
): Health {
  const age = datapath.lastReadAt === undefined ? undefined : clock.now - datapath.lastReadAt;
  const stale =
    age !== undefined && age > clock.staleReadAfterMs
      ? `the trigger table was last read ${Math.round(age / 1_000)} s ago (more than ${Math.round(clock.staleReadAfterMs / 1_000)} s)`
      : undefined;
  const datapathError = [datapath.error, stale].filter((e) => e !== undefined).join('; ') || undefined;
  const reasons = [
    ...(datapathError !== undefined ? [`datapath: ${datapathError}`] : []),
    ...(history.error !== undefined ? [`event history: ${history.error}`] : []),
  ];
  return {
    status: reasons.length === 0 ? 'ok' : 'degraded',
    reasons,
    datapath: {
      status: datapathError === undefined ? 'ok' : 'failing',
      ...(datapathError !== undefined ? { error: datapathError } : {}),
      entries,
      ...(datapath.lastReadAt !== undefined ? { lastReadAt: datapath.lastReadAt } : {}),
      ...(clock.signals ? { signals: clock.signals } : {}),
    },
    eventStore: {
      status: history.error === undefined ? 'ok' : 'failing',
      ...(history.error !== undefined ? { error: history.error } : {}),
      path: history.path,
      ...(history.reopenedAt !== undefined ? { reopenedAt: history.reopenedAt } : {}),
    },
    uptime: Math.max(0, Math.round(clock.uptimeMs / 1_000)),
  };
}

/** The metrics in the Prometheus text format, with the up gauges taken from `health`. */
export function metricsTextOf(
  metrics: ServiceMetrics,
  health: Health,
  reconcile: {
    readonly intervalMs: number;
    readonly lastFullReadMs?: number | undefined;
    readonly count: number;
  },
): string {
  return renderMetrics(metrics, {
    eventStoreUp: health.eventStore.status === 'ok',
    datapathUp: health.datapath.status === 'ok',
    uptimeSeconds: health.uptime,
    reconcileIntervalSeconds: reconcile.intervalMs / 1_000,
    reconciles: reconcile.count,
    ...(reconcile.lastFullReadMs !== undefined
      ? { lastFullReadSeconds: reconcile.lastFullReadMs / 1_000 }
      : {}),
  });
}
