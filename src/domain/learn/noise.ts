/**
 * What a learning session must not take for an application: scans and sweeps of the gateway's ports, knocks on
 * commonly attacked services, and the infrastructure every device talks to (DNS, NTP, web). Pure.
 */
import { portInRanges } from '../ports.js';
import { RISKY_PORTS } from '../risky-ports.js';
import type { Protocol } from '../types.js';
import type { SeenConnection } from './recorder.js';

/** Tuning of {@link findScanners}. */
export interface ScanOptions {
  /** Distinct ports from one source within {@link ScanOptions.burstMs} that make a scan. */
  readonly burstPorts: number;
  readonly burstMs: number;
  /** Distinct ports from one source over the whole session that make a (slow) sweep. */
  readonly sessionPorts: number;
  /** Ports this close are one cluster (an application's range). */
  readonly portGap: number;
}

/** The defaults of {@link ScanOptions}. */
export const SCAN_DEFAULTS: ScanOptions = { burstPorts: 6, burstMs: 10_000, sessionPorts: 16, portGap: 16 };

/** A source whose attempts are a scan, and why. */
export interface Scanner {
  readonly source: string;
  readonly attempts: number;
  readonly ports: number;
  /** In words: "12 ports within 2 s". */
  readonly why: string;
}

const portKey = (c: Pick<SeenConnection, 'protocol' | 'port'>) => `${c.protocol} ${c.port}`;

/** Most distinct ports that one source tried within any window of `ms`, and that window's length. */
function densestBurst(attempts: readonly SeenConnection[], ms: number): { ports: number; spanMs: number } {
  const sorted = [...attempts].sort((a, b) => a.at - b.at);
  let best = { ports: 0, spanMs: 0 };
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    const last = sorted[end];
    if (!last) continue;
    while ((sorted[start]?.at ?? last.at) < last.at - ms) start++;
    const window = sorted.slice(start, end + 1);
    const ports = new Set(window.map(portKey)).size;
    if (ports > best.ports) best = { ports, spanMs: last.at - (window[0]?.at ?? last.at) };
  }
  return best;
}

/** The share of a source's attempts that falls in its largest cluster of neighbouring ports. */
function focusShare(attempts: readonly SeenConnection[], gap: number): number {
  const ports = attempts.map((a) => a.port).sort((a, b) => a - b);
  let best = 0;
  let run = 0;
  for (let i = 0; i < ports.length; i++) {
    run = i > 0 && (ports[i] ?? 0) - (ports[i - 1] ?? 0) <= gap ? run + 1 : 1;
    best = Math.max(best, run);
  }
  return ports.length === 0 ? 0 : best / ports.length;
}

function secondsText(ms: number): string {
  return ms < 1000 ? 'within a second' : `within ${Math.ceil(ms / 1000)} s`;
}

/**
 * The sources whose attempts are scans or sweeps: many distinct ports in a short window in any order (from a
 * host the device never contacted), many distinct ports over the session, or attempts spread over the port
 * space rather than aimed at one range. An application calls back on one port or a narrow range.
 * @example findScanners(inbound, new Set(['203.0.113.10']))
 */
export function findScanners(
  inbound: readonly SeenConnection[],
  contacted: ReadonlySet<string>,
  options: ScanOptions = SCAN_DEFAULTS,
): Scanner[] {
  const bySource = new Map<string, SeenConnection[]>();
  for (const a of inbound) bySource.set(a.source, [...(bySource.get(a.source) ?? []), a]);
  const out: Scanner[] = [];
  for (const [source, attempts] of bySource) {
    const ports = new Set(attempts.map(portKey)).size;
    const burst = densestBurst(attempts, options.burstMs);
    const reached = contacted.has(source);
    let why: string | undefined;
    // A server the device reached may call back on its whole range at once; others may not.
    if (!reached && burst.ports >= options.burstPorts)
      why = `${burst.ports} ports ${secondsText(burst.spanMs)}`;
    else if (ports >= options.sessionPorts) why = `${ports} different ports in the session`;
    else if (ports >= 3 && focusShare(attempts, options.portGap) < 0.5)
      why = `${ports} ports scattered over the port space`;
    if (why) out.push({ source, attempts: attempts.length, ports, why });
  }
  return out.sort((a, b) => b.attempts - a.attempts || a.source.localeCompare(b.source));
}

/**
 * Services every device uses all day: they precede any inbound attempt, so they become a trigger only when
 * nothing else explains the attempts.
 */
export const INFRASTRUCTURE: readonly {
  readonly protocol: Protocol;
  readonly port: number;
  readonly name: string;
}[] = [
  { protocol: 'udp', port: 53, name: 'DNS' },
  { protocol: 'tcp', port: 53, name: 'DNS' },
  { protocol: 'tcp', port: 853, name: 'DNS over TLS' },
  { protocol: 'udp', port: 123, name: 'NTP' },
  { protocol: 'tcp', port: 80, name: 'HTTP' },
  { protocol: 'tcp', port: 443, name: 'HTTPS' },
  { protocol: 'udp', port: 443, name: 'HTTPS (QUIC)' },
  { protocol: 'udp', port: 5353, name: 'mDNS' },
  { protocol: 'udp', port: 67, name: 'DHCP' },
  { protocol: 'udp', port: 68, name: 'DHCP' },
];

/** The infrastructure service an outbound connection reached, if it is one. */
export function infrastructureOf(c: Pick<SeenConnection, 'protocol' | 'port'>): string | undefined {
  return INFRASTRUCTURE.find((s) => s.protocol === c.protocol && s.port === c.port)?.name;
}

// Web servers' alternative ports, probed by every scanner of the internet.
const WEB_ALTERNATES: readonly number[] = [8000, 8008, 8080, 8081, 8443, 8888];

/**
 * Attempts from hosts nobody contacted on well-known ports (below 1024) or commonly attacked ones (databases,
 * remote desktops, Telnet): the background of any address on the internet, never an application's callback.
 */
export function isServiceKnock(a: Pick<SeenConnection, 'protocol' | 'port'>): boolean {
  if (a.port < 1024 || (a.protocol === 'tcp' && WEB_ALTERNATES.includes(a.port))) return true;
  return RISKY_PORTS.some(
    (r) =>
      (r.protocol === 'both' || r.protocol === a.protocol) &&
      portInRanges(a.port, [{ from: r.from, to: r.to }]),
  );
}
