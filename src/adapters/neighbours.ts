/**
 * Who is behind a LAN address: the kernel's neighbour table (`ip -j neigh`) for MACs, the DHCP leases of
 * dnsmasq and odhcpd for host names. Every source is optional; a missing one only leaves fields empty.
 */
import { readFile } from 'node:fs/promises';
import { canonicalAddress } from '../domain/address.js';
import type { HostDirectory, HostInfo } from '../domain/neighbours.js';
import { runProgram } from './exec.js';

/** Where the lease files of common DHCP servers live. */
export const LEASE_FILES: readonly string[] = [
  '/var/lib/misc/dnsmasq.leases',
  '/tmp/dhcp.leases',
  '/var/lib/dnsmasq/dnsmasq.leases',
  '/tmp/hosts/odhcpd',
];

/** Options for {@link createHostDirectory}. */
export interface HostDirectoryOptions {
  /** Read the neighbour table inside this network namespace. */
  readonly netns?: string;
  readonly leaseFiles?: readonly string[];
  /** Answers are reused this long (default 5 s): the table page asks on every refresh. */
  readonly cacheMs?: number;
}

/** Parses `ip -j neigh` output into address → MAC. */
export function parseNeighbours(json: string): Map<string, string> {
  const out = new Map<string, string>();
  let rows: unknown;
  try {
    rows = JSON.parse(json);
  } catch {
    return out;
  }
  if (!Array.isArray(rows)) return out;
  for (const row of rows as Array<Record<string, unknown>>) {
    const address = typeof row['dst'] === 'string' ? canonicalAddress(row['dst']) : undefined;
    const mac = row['lladdr'];
    if (address && typeof mac === 'string' && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) {
      out.set(address, mac.toLowerCase());
    }
  }
  return out;
}

/**
 * Parses dnsmasq leases (`expiry mac ip name clientid`) and odhcpd host files (`ip name`) into address → info.
 * @example parseLeases('1700000000 aa:bb:cc:dd:ee:ff 192.168.1.10 laptop *')
 */
export function parseLeases(text: string): Map<string, HostInfo> {
  const out = new Map<string, HostInfo>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 4 && /^\d+$/.test(f[0]!)) {
      const address = canonicalAddress(f[2]!);
      const name = f[3] !== '*' ? f[3] : undefined;
      const mac = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(f[1]!) ? f[1]!.toLowerCase() : undefined;
      if (address) out.set(address, { address, ...(mac ? { mac } : {}), ...(name ? { name } : {}) });
    } else if (f.length >= 2 && !line.startsWith('#')) {
      const address = canonicalAddress(f[0]!);
      if (address && f[1]) out.set(address, { address, name: f[1] });
    }
  }
  return out;
}

/**
 * A {@link HostDirectory} over the neighbour table and the lease files.
 * @example const hosts = await createHostDirectory({ netns })(); hosts.get('192.168.1.10')?.mac
 */
export function createHostDirectory(options: HostDirectoryOptions = {}): HostDirectory {
  const cacheMs = options.cacheMs ?? 5_000;
  let cached: { at: number; value: Promise<ReadonlyMap<string, HostInfo>> } | undefined;
  const read = async (): Promise<ReadonlyMap<string, HostInfo>> => {
    const [neigh, ...leases] = await Promise.all([
      runProgram('ip', ['-j', 'neigh'], {
        ...(options.netns ? { netns: options.netns } : {}),
        timeoutMs: 5_000,
      })
        .then((r) => parseNeighbours(r.stdout))
        .catch(() => new Map<string, string>()),
      ...(options.leaseFiles ?? LEASE_FILES).map((f) =>
        readFile(f, 'utf8')
          .then(parseLeases)
          .catch(() => new Map<string, HostInfo>()),
      ),
    ]);
    const out = new Map<string, HostInfo>();
    for (const lease of leases) for (const [k, v] of lease) out.set(k, { ...out.get(k), ...v });
    for (const [address, mac] of neigh) out.set(address, { ...out.get(address), address, mac });
    return out;
  };
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at > cacheMs) cached = { at: now, value: read() };
    return cached.value;
  };
}
