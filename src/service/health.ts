/** The service's health and metrics text, from the state of the datapath and of the event history. */
import type { HistoryStatus } from './history.js';
import { renderMetrics, type ServiceMetrics } from './metrics.js';
import type { DatapathStatus } from './observer.js';

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

/** The health report: degraded when the datapath read or the history fails. */
export function healthOf(
  datapath: DatapathStatus,
  history: HistoryStatus,
  entries: number,
  uptimeMs: number,
): Health {
  return {
    status: datapath.error === undefined && history.error === undefined ? 'ok' : 'degraded',
    datapath: {
      status: datapath.error === undefined ? 'ok' : 'failing',
      ...(datapath.error !== undefined ? { error: datapath.error } : {}),
      entries,
      ...(datapath.lastReadAt !== undefined ? { lastReadAt: datapath.lastReadAt } : {}),
    },
    eventStore: {
      status: history.error === undefined ? 'ok' : 'failing',
      ...(history.error !== undefined ? { error: history.error } : {}),
      path: history.path,
    },
    uptime: Math.max(0, Math.round(uptimeMs / 1_000)),
  };
}

/** The metrics in the Prometheus text format, with the up gauges taken from `health`. */
export function metricsTextOf(metrics: ServiceMetrics, health: Health): string {
  return renderMetrics(metrics, {
    eventStoreUp: health.eventStore.status === 'ok',
    datapathUp: health.datapath.status === 'ok',
    uptimeSeconds: health.uptime,
  });
}
