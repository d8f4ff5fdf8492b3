/**
 * The service's counters and timings, rendered in the Prometheus text format. Pure: the service records,
 * the API renders.
 */
import { CLOSE_REASONS, type CloseReason, type ServiceEvent, type WanEvent } from './events.js';

/** Upper bounds (seconds) of the duration histograms: nft runs take milliseconds to seconds. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** A cumulative histogram of durations in seconds. */
export class Histogram {
  readonly counts: number[] = BUCKETS.map(() => 0);
  count = 0;
  sum = 0;

  /** Records one observation. */
  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.counts[i] = (this.counts[i] ?? 0) + 1;
    });
  }
}

/** Everything `/metrics` reports. */
export class ServiceMetrics {
  activeEntries = 0;
  opens = 0;
  readonly closes: Record<CloseReason, number> = Object.fromEntries(
    CLOSE_REASONS.map((r) => [r, 0]),
  ) as Record<CloseReason, number>;
  conflicts = 0;
  blocked = 0;
  /** WAN events (address changes, links that went down and came back). */
  readonly wanEvents: Record<WanEvent['type'], number> = { 'wan-changed': 0, 'wan-down': 0, 'wan-up': 0 };
  restores = 0;
  restoreFailures = 0;
  readErrors = 0;
  /** Kernel signals received (new trigger connections, other tools' changes, broken streams). */
  signals = 0;
  eventStoreErrors = 0;
  reloads = 0;
  reloadFailures = 0;
  readonly applyDuration = new Histogram();
  readonly readbackDuration = new Histogram();

  /** Counts one event. */
  count(event: ServiceEvent): void {
    if (event.type === 'opened') this.opens++;
    else if (event.type === 'closed') this.closes[event.reason]++;
    else if (event.type === 'conflict') this.conflicts++;
    else if (event.type === 'blocked') this.blocked++;
    else this.wanEvents[event.type]++;
  }
}

/** Health inputs that are gauges rather than counters. */
export interface MetricGauges {
  readonly eventStoreUp: boolean;
  readonly datapathUp: boolean;
  readonly uptimeSeconds: number;
  /** The safety net's interval now, and how long its last full read took (it sets the interval). */
  readonly reconcileIntervalSeconds: number;
  readonly lastFullReadSeconds?: number;
  readonly reconciles: number;
}

function histogramLines(name: string, help: string, h: Histogram): string[] {
  return [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} histogram`,
    ...BUCKETS.map((le, i) => `${name}_bucket{le="${le}"} ${h.counts[i] ?? 0}`),
    `${name}_bucket{le="+Inf"} ${h.count}`,
    `${name}_sum ${h.sum}`,
    `${name}_count ${h.count}`,
  ];
}

function metric(name: string, type: 'counter' | 'gauge', help: string, value: number): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`];
}

/** Renders the metrics in the Prometheus text exposition format (version 0.0.4). */
export function renderMetrics(m: ServiceMetrics, gauges: MetricGauges): string {
  const lines = [
    ...metric(
      'porttrigger_active_entries',
      'gauge',
      'Entries active at the last read-back.',
      m.activeEntries,
    ),
    ...metric('porttrigger_opens_total', 'counter', 'Entries opened (adopted ones included).', m.opens),
    '# HELP porttrigger_closes_total Entries closed, by reason.',
    '# TYPE porttrigger_closes_total counter',
    ...CLOSE_REASONS.map((r) => `porttrigger_closes_total{reason="${r}"} ${m.closes[r]}`),
    ...metric('porttrigger_conflicts_total', 'counter', 'Conflict records seen.', m.conflicts),
    ...metric('porttrigger_blocked_total', 'counter', 'Blocked records seen.', m.blocked),
    '# HELP porttrigger_wan_events_total WAN address changes and WAN links that went down or came up, by type.',
    '# TYPE porttrigger_wan_events_total counter',
    ...Object.entries(m.wanEvents).map(([t, n]) => `porttrigger_wan_events_total{type="${t}"} ${n}`),
    ...histogramLines(
      'porttrigger_apply_duration_seconds',
      'Time to apply a config to the datapath.',
      m.applyDuration,
    ),
    ...histogramLines(
      'porttrigger_readback_duration_seconds',
      'Time to read the trigger table back from the datapath.',
      m.readbackDuration,
    ),
    ...metric(
      'porttrigger_restores_total',
      'counter',
      'Times the table was re-applied after another tool removed, flushed or changed it.',
      m.restores,
    ),
    ...metric('porttrigger_restore_failures_total', 'counter', 'Failed restore attempts.', m.restoreFailures),
    ...metric('porttrigger_read_errors_total', 'counter', 'Failed read-backs of the datapath.', m.readErrors),
    ...metric(
      'porttrigger_signals_total',
      'counter',
      'Kernel signals that woke the service to read the datapath.',
      m.signals,
    ),
    ...metric(
      'porttrigger_event_store_errors_total',
      'counter',
      'Events the history could not store (they still reach the stream and the logs).',
      m.eventStoreErrors,
    ),
    ...metric('porttrigger_reloads_total', 'counter', 'Configs applied by reload or API change.', m.reloads),
    ...metric(
      'porttrigger_reload_failures_total',
      'counter',
      'Reloads or changes refused.',
      m.reloadFailures,
    ),
    ...metric(
      'porttrigger_event_store_up',
      'gauge',
      '1 when the event history accepts writes.',
      gauges.eventStoreUp ? 1 : 0,
    ),
    ...metric(
      'porttrigger_datapath_up',
      'gauge',
      '1 when the last read-back succeeded.',
      gauges.datapathUp ? 1 : 0,
    ),
    ...metric(
      'porttrigger_uptime_seconds',
      'gauge',
      'Seconds since the service started.',
      gauges.uptimeSeconds,
    ),
    ...metric(
      'porttrigger_reconcile_interval_seconds',
      'gauge',
      'How often the whole datapath is read as a safety net now (longer for a table that is costly to read).',
      gauges.reconcileIntervalSeconds,
    ),
    ...metric(
      'porttrigger_reconciles_total',
      'counter',
      'Full reads of the safety net (not those a signal asked for).',
      gauges.reconciles,
    ),
    ...(gauges.lastFullReadSeconds !== undefined
      ? metric(
          'porttrigger_full_read_duration_seconds',
          'gauge',
          'How long the last full read of the datapath took.',
          gauges.lastFullReadSeconds,
        )
      : []),
  ];
  return `${lines.join('\n')}\n`;
}
