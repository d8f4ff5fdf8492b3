/**
 * Ports that scanners and worms probe all day: opening one to a LAN host exposes a service that is often
 * unpatched or guessable there. Validation warns about each one a rule would open, naming the risk.
 */
import { protocolsOf } from './ports.js';
import type { PortRange, Protocol, ProtocolChoice } from './types.js';

/** One commonly attacked port (or range) and why it is risky to open. */
export interface RiskyPort {
  readonly protocol: ProtocolChoice;
  readonly from: number;
  readonly to: number;
  readonly risk: string;
}

/** The commonly attacked ports, by protocol. */
export const RISKY_PORTS: readonly RiskyPort[] = [
  { protocol: 'tcp', from: 21, to: 21, risk: 'FTP control: clear-text logins, brute-forced' },
  { protocol: 'tcp', from: 22, to: 22, risk: 'SSH: brute-forced all day' },
  { protocol: 'tcp', from: 23, to: 23, risk: 'Telnet: clear-text logins, the first port botnets try' },
  { protocol: 'tcp', from: 25, to: 25, risk: 'SMTP: abused as a spam relay' },
  { protocol: 'both', from: 53, to: 53, risk: 'DNS: abused for amplification attacks' },
  { protocol: 'udp', from: 69, to: 69, risk: 'TFTP: files without authentication' },
  { protocol: 'both', from: 111, to: 111, risk: 'rpcbind: lists RPC services, amplification' },
  { protocol: 'both', from: 135, to: 135, risk: 'Windows RPC: a worm target' },
  { protocol: 'both', from: 137, to: 139, risk: 'NetBIOS: Windows file and name services' },
  { protocol: 'udp', from: 161, to: 161, risk: 'SNMP: device details, amplification' },
  {
    protocol: 'tcp',
    from: 445,
    to: 445,
    risk: 'SMB: Windows file sharing, the target of WannaCry-style worms',
  },
  { protocol: 'both', from: 1433, to: 1434, risk: 'Microsoft SQL Server: brute-forced and exploited' },
  { protocol: 'udp', from: 1900, to: 1900, risk: 'SSDP/UPnP: amplification, device control' },
  { protocol: 'tcp', from: 2323, to: 2323, risk: 'Telnet (alternate): targeted by IoT botnets' },
  { protocol: 'tcp', from: 3306, to: 3306, risk: 'MySQL: brute-forced and exploited' },
  { protocol: 'tcp', from: 3389, to: 3389, risk: 'Remote Desktop: brute-forced, a ransomware entry point' },
  { protocol: 'tcp', from: 5432, to: 5432, risk: 'PostgreSQL: brute-forced' },
  { protocol: 'tcp', from: 5900, to: 5903, risk: 'VNC: remote control, often with a weak password' },
  { protocol: 'tcp', from: 5985, to: 5986, risk: 'Windows Remote Management' },
  { protocol: 'tcp', from: 6379, to: 6379, risk: 'Redis: usually without authentication' },
  { protocol: 'tcp', from: 9200, to: 9200, risk: 'Elasticsearch: usually without authentication' },
  { protocol: 'both', from: 11211, to: 11211, risk: 'memcached: amplification, no authentication' },
  { protocol: 'tcp', from: 27017, to: 27017, risk: 'MongoDB: usually without authentication' },
];

/** A risky port a spec opens: the protocol, the port or range within the spec, and the risk. */
export interface RiskyPortHit {
  readonly protocol: Protocol;
  readonly ports: string;
  readonly risk: string;
}

/**
 * The commonly attacked ports within `ranges` for `choice`.
 * @example riskyPortsIn('tcp', [{ from: 3380, to: 3390 }]) // [{ protocol: 'tcp', ports: '3389', risk: 'Remote Desktop…' }]
 */
export function riskyPortsIn(choice: ProtocolChoice, ranges: readonly PortRange[]): RiskyPortHit[] {
  const hits: RiskyPortHit[] = [];
  for (const protocol of protocolsOf(choice)) {
    for (const risky of RISKY_PORTS) {
      if (!protocolsOf(risky.protocol).includes(protocol)) continue;
      for (const r of ranges) {
        const from = Math.max(r.from, risky.from);
        const to = Math.min(r.to, risky.to);
        if (from <= to)
          hits.push({ protocol, ports: from === to ? String(from) : `${from}-${to}`, risk: risky.risk });
      }
    }
  }
  return hits;
}
