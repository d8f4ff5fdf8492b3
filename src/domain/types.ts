/**
 * The domain words of porttrigger, fixed once and used everywhere (UI, API, docs, code).
 *
 * - trigger: outbound traffic from a LAN host, leaving through a WAN interface, on a rule's trigger ports.
 * - open ports: the ports a rule forwards to its holder while its entry is active.
 * - holder: the LAN host an entry forwards to.
 * - remote: the WAN address an entry is bound to (`remote: contacted`), or none (`remote: any`).
 * - entry: one active (rule, family, holder, remote) with an idle timeout.
 * - conflict: a trigger from a LAN host while another host holds the rule (or the rule for that remote).
 * - blocked: a trigger from a LAN host that the rule's `lanHosts` does not allow.
 */

/** A transport protocol the datapath handles. */
export type Protocol = 'tcp' | 'udp';

/** The protocol of a port spec: one protocol or both. */
export type ProtocolChoice = Protocol | 'both';

/** An IP family. */
export type Family = 'ipv4' | 'ipv6';

/** Which families a rule applies to. */
export type FamilyChoice = Family | 'both';

/** Who may reach the open ports of an entry. */
export type RemotePolicy = 'any' | 'contacted';

/** What happens to established inbound connections when their entry expires. */
export type ExpirePolicy = 'keep' | 'close';

/** standalone: a bare box, we also masquerade and firewall. companion: next to another firewall. */
export type Mode = 'companion' | 'standalone';

/** An inclusive range of ports. */
export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/** Ports as written in the config: a protocol and a list such as "7000-7010,7020". */
export interface PortSpec {
  readonly protocol: ProtocolChoice;
  readonly ports: string;
}

/** One port-triggering rule as validated from the config file. */
export interface Rule {
  readonly name: string;
  readonly description?: string;
  readonly enabled: boolean;
  readonly family: FamilyChoice;
  readonly trigger: readonly PortSpec[];
  readonly open: readonly PortSpec[];
  /** Seconds without trigger or inbound traffic after which the entry closes. */
  readonly idleTimeout: number;
  /** 'any', or IPv4/IPv6 addresses and CIDRs allowed to trigger. */
  readonly lanHosts: 'any' | readonly string[];
  readonly remote: RemotePolicy;
  readonly onExpire: ExpirePolicy;
}

/** The interfaces the gateway routes between. */
export interface Interfaces {
  readonly lan: readonly string[];
  readonly wan: readonly string[];
}

/** The REST API settings of the service. */
export interface ApiSettings {
  /** host:port, default 127.0.0.1:8080. */
  readonly listen: string;
  /** Path of the bearer token file (mode 0600). */
  readonly tokenFile: string;
}

/** Event history settings of the service. */
export interface EventSettings {
  readonly database: string;
  /** Events older than this many days are deleted. */
  readonly retentionDays: number;
  /** At most this many events are kept. */
  readonly maxEvents: number;
}

/** A validated configuration. */
export interface Config {
  readonly interfaces: Interfaces;
  readonly mode: Mode;
  /** Global switch: off opens nothing (standalone masquerade and firewall stay). */
  readonly enabled: boolean;
  readonly ipv6: boolean;
  readonly rules: readonly Rule[];
  readonly api?: ApiSettings;
  readonly events?: EventSettings;
}

/** One active entry of the trigger table. Times are milliseconds since the epoch (or the model's clock). */
export interface TriggerEntry {
  readonly rule: string;
  readonly family: Family;
  readonly holder: string;
  /** The WAN address the entry is bound to, for `remote: contacted`. */
  readonly remote?: string;
  /** When the entry opened, where known (the kernel does not record it; the service does). */
  readonly openedAt?: number;
  readonly expiresAt: number;
}

/** A trigger refused because another host held the rule (or the rule for that remote). */
export interface ConflictRecord {
  readonly rule: string;
  readonly family: Family;
  readonly contender: string;
  /** The holder at the time of the attempt (model) or of the read-back (kernel), where known. */
  readonly holder?: string;
  readonly remote?: string;
  /** First attempt within the record window. */
  readonly at: number;
}

/** A trigger refused because the host is not in the rule's `lanHosts`. */
export interface BlockedRecord {
  readonly rule: string;
  readonly family: Family;
  readonly host: string;
  readonly at: number;
}

/** The state of port triggering at one moment: the same type from the model and from the kernel. */
export interface TriggerTable {
  /** When the table was read. */
  readonly at: number;
  readonly entries: readonly TriggerEntry[];
  readonly conflicts: readonly ConflictRecord[];
  readonly blocked: readonly BlockedRecord[];
  /** The last table read successfully, given because a fresh read did not answer in time; `at` says how old. */
  readonly stale?: true;
}

/**
 * How long a conflict or blocked record stays in the table. Repeated attempts by the same host for the same
 * rule within this window are one record (the kernel keeps them in timed sets, not as a stream).
 */
export const RECORD_WINDOW_SECONDS = 60;

/** The name of the nftables table porttrigger owns. */
export const TABLE_NAME = 'porttrigger';
