/**
 * The reference model: docs/semantics.md in code. It decides packets one at a time on a virtual clock, keeps
 * the same trigger table as the kernel datapath and implements the same `Datapath` port, so that the
 * conformance suite can run one scenario against both and compare decisions and tables.
 */
import { canonicalAddress, type IpPrefix, parseAddress, parsePrefix, prefixContains } from './address.js';
import type { ApplyReport, Datapath, ReleaseSelector } from './datapath.js';
import { buildPortIndex, lookupPort, type PortItem, type PortSegment } from './model-index.js';
import { formatPortList, rangesByProtocol } from './ports.js';
import {
  type BlockedRecord,
  type Config,
  type ConflictRecord,
  type Family,
  type PortRange,
  type Protocol,
  RECORD_WINDOW_SECONDS,
  type Rule,
  type TriggerEntry,
  type TriggerTable,
} from './types.js';

/** A packet as the model sees it: where it arrives and its 5-tuple. */
export interface ModelPacket {
  /** The gateway side it arrives on. */
  readonly side: 'lan' | 'wan';
  readonly family: Family;
  readonly protocol: Protocol;
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
}

/** What happens to a packet. */
export type Decision =
  /** Forwarded; `to` is the final destination (the holder after DNAT for inbound IPv4, the remote outbound). */
  | { readonly action: 'forward'; readonly to: string }
  /** IPv4 inbound not translated: it ends at the gateway itself and reaches no LAN host. */
  | { readonly action: 'local' }
  /** Dropped by porttrigger (standalone policy, or `onExpire: close`). */
  | { readonly action: 'drop' }
  /** porttrigger takes no decision (companion mode, or porttrigger absent): the host firewall decides. */
  | { readonly action: 'pass' };

/** How to build a model. */
export interface ModelOptions {
  /** Start of the virtual clock in milliseconds (default 0). */
  readonly now?: number;
  /** The gateway's own addresses: IPv4 inbound to them on an open port is translated to the holder. */
  readonly gatewayAddresses: readonly string[];
}

const RECORD_WINDOW_MS = RECORD_WINDOW_SECONDS * 1000;
/** Like nf_conntrack_max: beyond this many outbound connections the oldest are forgotten first. */
const OUTBOUND_LIMIT = 262_144;
/** The address memo only saves parsing; it is emptied when it grows past this. */
const CANONICAL_LIMIT = 1_000_000;
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp'];
const SEP = '\u0000';

const DROP: Decision = Object.freeze({ action: 'drop' });
const LOCAL: Decision = Object.freeze({ action: 'local' });
const PASS: Decision = Object.freeze({ action: 'pass' });

/** A rule prepared for the hot path. */
interface CompiledRule {
  readonly rule: Rule;
  readonly idleMs: number;
  readonly anyRemote: boolean;
  readonly close: boolean;
  readonly trigger: Record<Protocol, PortRange[]>;
  readonly open: Record<Protocol, PortRange[]>;
  /** The merged open ranges as text: equal texts mean the same open ports (reload keeps entries). */
  readonly openKey: string;
  readonly lanHosts: readonly IpPrefix[] | 'any';
  /** Memo of lanHosts decisions per canonical host. */
  readonly allowed: Map<string, boolean>;
}

/** An entry as the model keeps it: the expiry moves, the rest is fixed. */
interface LiveEntry {
  readonly key: string;
  readonly rule: string;
  readonly family: Family;
  readonly holder: string;
  readonly remote: string | undefined;
  readonly openedAt: number;
  expiresAt: number;
  idleMs: number;
}

/** An inbound connection admitted by an entry; it remembers the entry, the host and its rule's policy. */
interface AdmittedConnection {
  readonly entryKey: string;
  readonly host: string;
  readonly close: boolean;
}

type PortIndexes = Record<Family, Record<Protocol, readonly PortSegment<CompiledRule>[]>>;

/**
 * The reference model of port triggering. It holds the config, the entries, the records and the connection
 * tracker; `process` decides one packet synchronously and updates that state.
 */
export class ReferenceModel implements Datapath {
  private clock: number;
  private readonly gateway: ReadonlySet<string>;
  private config: Config | undefined;
  private rules = new Map<string, CompiledRule>();
  private triggers: PortIndexes = emptyIndexes();
  private opens: PortIndexes = emptyIndexes();
  private readonly entries = new Map<string, LiveEntry>();
  private readonly conflicts = new Map<string, ConflictRecord>();
  private readonly blocked = new Map<string, BlockedRecord>();
  /** Admitted connections by their original (inbound) 5-tuple. */
  private readonly admitted = new Map<string, AdmittedConnection>();
  /** The same connections by their reply (outbound) 5-tuple. */
  private readonly admittedReplies = new Map<string, AdmittedConnection>();
  /** Outbound connections from LAN hosts by their original 5-tuple: their replies are established. */
  private readonly outbound = new Set<string>();
  /** Masqueraded IPv4 outbound connections (standalone): (protocol, remote, remote port, port) → LAN host. */
  private readonly masqueraded = new Map<string, string>();
  private readonly canonicalMemo = new Map<string, string>();

  /** Builds a model with porttrigger absent until the first apply. */
  constructor(options: ModelOptions) {
    this.clock = options.now ?? 0;
    this.gateway = new Set(options.gatewayAddresses.map((a) => canonicalAddress(a) ?? a));
  }

  /** The virtual clock, in milliseconds. */
  now(): number {
    return this.clock;
  }

  /** Moves the clock forward; entries whose expiry is reached are gone from then on. */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`the clock only moves forward (got ${ms} ms)`);
    this.clock += ms;
  }

  /** Decides one packet and updates the state it touches (entries, records, connections). */
  process(packet: ModelPacket): Decision {
    const src = this.canonical(packet.src);
    const dst = this.canonical(packet.dst);
    if (this.config === undefined) return decideAbsent(packet, dst, this.gateway);
    return packet.side === 'lan'
      ? this.processOutbound(packet, src, dst)
      : this.processInbound(packet, this.config, src, dst);
  }

  /** Makes the config the running one, keeping the entries that still fit it (docs/semantics.md, 12). */
  async apply(config: Config): Promise<ApplyReport> {
    const rules = compileRules(config);
    const report = this.carryEntries(config, rules);
    this.carryRecords(config, rules);
    this.config = config;
    this.rules = rules;
    this.triggers = buildIndexes(config, rules, (r) => r.trigger);
    this.opens = buildIndexes(config, rules, (r) => r.open);
    return report;
  }

  /** The trigger table now: live entries sorted by rule, family, holder, remote; records inside the window. */
  async readTable(): Promise<TriggerTable> {
    this.purgeExpired();
    const entries = [...this.entries.values()].sort(compareEntries).map(toTriggerEntry);
    const conflicts = [...this.conflicts.values()].sort(compareConflicts);
    const blocked = [...this.blocked.values()].sort(compareBlocked);
    return { at: this.clock, entries, conflicts, blocked };
  }

  /** Drops the selected live entries now, as if they had expired; resolves with how many. */
  async release(selector: ReleaseSelector): Promise<number> {
    const holder = selector.holder === undefined ? undefined : this.canonical(selector.holder);
    const remote = selector.remote === undefined ? undefined : this.canonical(selector.remote);
    let count = 0;
    for (const entry of [...this.entries.values()]) {
      if (this.liveEntry(entry.key) === undefined) continue;
      if (entry.rule !== selector.rule) continue;
      if (holder !== undefined && entry.holder !== holder) continue;
      if (remote !== undefined && entry.remote !== remote) continue;
      if (selector.family !== undefined && entry.family !== selector.family) continue;
      this.entries.delete(entry.key);
      count++;
    }
    return count;
  }

  /** Back to porttrigger absent: no config, no entries, no records, no tracked connections. */
  async remove(): Promise<void> {
    this.config = undefined;
    this.rules = new Map();
    this.triggers = emptyIndexes();
    this.opens = emptyIndexes();
    this.entries.clear();
    this.conflicts.clear();
    this.blocked.clear();
    this.admitted.clear();
    this.admittedReplies.clear();
    this.outbound.clear();
    this.masqueraded.clear();
  }

  /** A LAN packet: a reply of an admitted connection, or original traffic that may trigger rules. */
  private processOutbound(packet: ModelPacket, src: string, dst: string): Decision {
    const key = connectionKey(packet.protocol, src, packet.sport, dst, packet.dport);
    const admitted = this.admittedReplies.get(key);
    if (admitted === undefined) this.trackOutbound(packet, key, src, dst);
    // A reply refreshes nothing as traffic of its entry, and with onExpire close it dies with the entry; like
    // any LAN packet on a trigger port it still triggers (the kernel matches triggers in both directions).
    else if (admitted.close && !this.holderEntry(admitted)) return DROP;
    for (const rule of lookupPort(this.triggers[packet.family][packet.protocol], packet.dport)) {
      this.triggerRule(rule, packet.family, src, dst);
    }
    return forwardTo(dst);
  }

  /** A WAN packet: established first (admitted, then replies to LAN traffic), then a new connection. */
  private processInbound(packet: ModelPacket, config: Config, src: string, dst: string): Decision {
    const admitted = this.admitted.get(connectionKey(packet.protocol, src, packet.sport, dst, packet.dport));
    if (admitted) return this.continueAdmitted(admitted);
    const host = this.establishedHost(packet, config, src, dst);
    if (host !== undefined) return forwardTo(host);
    return packet.family === 'ipv4'
      ? this.admitIpv4(packet, config, src, dst)
      : this.admitIpv6(packet, config, src, dst);
  }

  /** An established inbound packet of an admitted connection: refreshes its entry while its host holds it. */
  private continueAdmitted(connection: AdmittedConnection): Decision {
    const entry = this.holderEntry(connection);
    if (entry) {
      entry.expiresAt = this.clock + entry.idleMs;
      return forwardTo(connection.host);
    }
    return connection.close ? DROP : forwardTo(connection.host);
  }

  /** A new IPv4 inbound connection: translated to the holder when it hits an open port of a held rule. */
  private admitIpv4(packet: ModelPacket, config: Config, src: string, dst: string): Decision {
    if (!this.gateway.has(dst)) return config.mode === 'standalone' ? DROP : PASS;
    const rule = lookupPort(this.opens.ipv4[packet.protocol], packet.dport)[0];
    if (rule === undefined) return LOCAL;
    const entry = this.liveEntry(entryKey(rule.rule.name, 'ipv4', rule.anyRemote ? undefined : src));
    if (entry === undefined) return LOCAL;
    this.admit(packet, rule, entry, src, dst);
    return forwardTo(entry.holder);
  }

  /** A new IPv6 inbound connection: admitted (no NAT) when its destination holds the rule. */
  private admitIpv6(packet: ModelPacket, config: Config, src: string, dst: string): Decision {
    const refused = config.mode === 'standalone' ? DROP : PASS;
    const rule = lookupPort(this.opens.ipv6[packet.protocol], packet.dport)[0];
    if (rule === undefined) return refused;
    const entry = this.liveEntry(entryKey(rule.rule.name, 'ipv6', rule.anyRemote ? undefined : src));
    if (entry === undefined || entry.holder !== dst) return refused;
    this.admit(packet, rule, entry, src, dst);
    return forwardTo(dst);
  }

  /** Refreshes the entry and tracks the connection both ways so later packets find their host. */
  private admit(packet: ModelPacket, rule: CompiledRule, entry: LiveEntry, src: string, dst: string): void {
    entry.expiresAt = this.clock + entry.idleMs;
    const connection: AdmittedConnection = { entryKey: entry.key, host: entry.holder, close: rule.close };
    this.admitted.set(connectionKey(packet.protocol, src, packet.sport, dst, packet.dport), connection);
    // The port is kept through DNAT, so the host answers from the port the remote connected to.
    const reply = connectionKey(packet.protocol, entry.holder, packet.dport, src, packet.sport);
    this.admittedReplies.set(reply, connection);
  }

  /** The LAN host of an outbound connection this inbound packet replies to, if any. */
  private establishedHost(packet: ModelPacket, config: Config, src: string, dst: string): string | undefined {
    if (this.outbound.has(connectionKey(packet.protocol, dst, packet.dport, src, packet.sport))) return dst;
    if (packet.family !== 'ipv4' || config.mode !== 'standalone' || !this.gateway.has(dst)) return undefined;
    return this.masqueraded.get(masqueradeKey(packet.protocol, src, packet.sport, packet.dport));
  }

  /** Remembers an outbound connection so that its replies count as established. */
  private trackOutbound(packet: ModelPacket, key: string, src: string, dst: string): void {
    rememberBounded(this.outbound, key);
    // Standalone masquerades IPv4: the reply comes back to a gateway address, keyed without the LAN host.
    if (packet.family === 'ipv4' && this.config?.mode === 'standalone') {
      const masquerade = masqueradeKey(packet.protocol, dst, packet.dport, packet.sport);
      if (!this.masqueraded.has(masquerade) && this.masqueraded.size >= OUTBOUND_LIMIT) {
        const oldest = this.masqueraded.keys().next().value;
        if (oldest !== undefined) this.masqueraded.delete(oldest);
      }
      this.masqueraded.set(masquerade, src);
    }
  }

  /** One rule's reaction to a trigger: blocked, opened, refreshed or a conflict. */
  private triggerRule(rule: CompiledRule, family: Family, src: string, dst: string): void {
    if (!isHostAllowed(rule, src)) {
      this.recordBlocked({ rule: rule.rule.name, family, host: src, at: this.clock });
      return;
    }
    const remote = rule.anyRemote ? undefined : dst;
    const key = entryKey(rule.rule.name, family, remote);
    const entry = this.liveEntry(key);
    if (entry === undefined) {
      const opened = this.clock;
      this.entries.set(key, {
        key,
        rule: rule.rule.name,
        family,
        holder: src,
        remote,
        openedAt: opened,
        expiresAt: opened + rule.idleMs,
        idleMs: rule.idleMs,
      });
    } else if (entry.holder === src) {
      entry.expiresAt = this.clock + entry.idleMs;
    } else {
      const base = { rule: rule.rule.name, family, contender: src, holder: entry.holder };
      this.recordConflict(
        remote === undefined ? { ...base, at: this.clock } : { ...base, remote, at: this.clock },
      );
    }
  }

  /** Adds a conflict record unless the same one is still inside its window (the first one stays). */
  private recordConflict(record: ConflictRecord): void {
    const key = [record.rule, record.family, record.contender, record.remote ?? ''].join(SEP);
    if (this.isRecordFresh(this.conflicts.get(key))) return;
    this.conflicts.set(key, record);
  }

  /** Adds a blocked record unless the same one is still inside its window (the first one stays). */
  private recordBlocked(record: BlockedRecord): void {
    const key = [record.rule, record.family, record.host].join(SEP);
    if (this.isRecordFresh(this.blocked.get(key))) return;
    this.blocked.set(key, record);
  }

  /** True while a record is inside the record window. */
  private isRecordFresh(record: { readonly at: number } | undefined): boolean {
    return record !== undefined && record.at > this.clock - RECORD_WINDOW_MS;
  }

  /** The entry under the key unless it has expired (an expired entry is deleted on sight). */
  private liveEntry(key: string): LiveEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expiresAt > this.clock) return entry;
    this.entries.delete(key);
    return undefined;
  }

  /** The entry that admitted the connection, if its host still holds it. */
  private holderEntry(connection: AdmittedConnection): LiveEntry | undefined {
    const entry = this.liveEntry(connection.entryKey);
    return entry !== undefined && entry.holder === connection.host ? entry : undefined;
  }

  /** Carries the live entries over to a new config and counts what stayed and what closed. */
  private carryEntries(config: Config, rules: ReadonlyMap<string, CompiledRule>): ApplyReport {
    let kept = 0;
    let dropped = 0;
    for (const entry of [...this.entries.values()]) {
      if (this.liveEntry(entry.key) === undefined) continue;
      const before = this.rules.get(entry.rule);
      const after = rules.get(entry.rule);
      if (before && after && isEntryKept(config, before, after, entry)) {
        entry.idleMs = after.idleMs;
        entry.expiresAt = Math.min(entry.expiresAt, this.clock + after.idleMs);
        kept++;
      } else {
        this.entries.delete(entry.key);
        dropped++;
      }
    }
    return { kept, dropped };
  }

  /** Keeps the records of rules that stay enabled (none when the switch is off). */
  private carryRecords(config: Config, rules: ReadonlyMap<string, CompiledRule>): void {
    const stays = (name: string): boolean => config.enabled && rules.get(name)?.rule.enabled === true;
    for (const [key, record] of this.conflicts) if (!stays(record.rule)) this.conflicts.delete(key);
    for (const [key, record] of this.blocked) if (!stays(record.rule)) this.blocked.delete(key);
  }

  /** Forgets expired entries and records that left their window. */
  private purgeExpired(): void {
    for (const entry of [...this.entries.values()]) this.liveEntry(entry.key);
    for (const [key, record] of this.conflicts) if (!this.isRecordFresh(record)) this.conflicts.delete(key);
    for (const [key, record] of this.blocked) if (!this.isRecordFresh(record)) this.blocked.delete(key);
  }

  /** The canonical text of an address (memoised: parsing is the slow part of the hot path). */
  private canonical(text: string): string {
    let canonical = this.canonicalMemo.get(text);
    if (canonical === undefined) {
      canonical = canonicalAddress(text) ?? text;
      if (this.canonicalMemo.size >= CANONICAL_LIMIT) this.canonicalMemo.clear();
      this.canonicalMemo.set(text, canonical);
    }
    return canonical;
  }
}

/** Decisions while porttrigger is absent: nothing is translated, dropped or admitted. */
function decideAbsent(packet: ModelPacket, dst: string, gateway: ReadonlySet<string>): Decision {
  if (packet.side === 'lan') return forwardTo(dst);
  return packet.family === 'ipv4' && gateway.has(dst) ? LOCAL : PASS;
}

/** A forward decision. */
function forwardTo(to: string): Decision {
  return { action: 'forward', to };
}

/** True when the rule applies to the family under this config (switch, ipv6, rule.family). */
function isRuleInScope(config: Config, rule: Rule, family: Family): boolean {
  if (!config.enabled || !rule.enabled) return false;
  if (family === 'ipv6' && !config.ipv6) return false;
  return rule.family === 'both' || rule.family === family;
}

/** Reload: an entry stays when its rule still fits it (docs/semantics.md, 12). */
function isEntryKept(config: Config, before: CompiledRule, after: CompiledRule, entry: LiveEntry): boolean {
  return (
    isRuleInScope(config, after.rule, entry.family) &&
    before.openKey === after.openKey &&
    before.rule.remote === after.rule.remote &&
    isHostAllowed(after, entry.holder)
  );
}

/** True when lanHosts lets the host trigger the rule. */
function isHostAllowed(rule: CompiledRule, host: string): boolean {
  if (rule.lanHosts === 'any') return true;
  let allowed = rule.allowed.get(host);
  if (allowed === undefined) {
    const address = parseAddress(host);
    const prefixes = rule.lanHosts;
    allowed = address !== undefined && prefixes.some((p) => prefixContains(p, address));
    rule.allowed.set(host, allowed);
  }
  return allowed;
}

/** Compiles the rules of a config by name (validation makes names unique; the first one wins otherwise). */
function compileRules(config: Config): Map<string, CompiledRule> {
  const rules = new Map<string, CompiledRule>();
  for (const rule of config.rules) if (!rules.has(rule.name)) rules.set(rule.name, compileRule(rule));
  return rules;
}

/** Parses what the hot path needs from a rule once. */
function compileRule(rule: Rule): CompiledRule {
  const open = rangesByProtocol(rule.open);
  const lanHosts =
    rule.lanHosts === 'any'
      ? 'any'
      : rule.lanHosts.flatMap((text) => {
          const prefix = parsePrefix(text);
          return 'error' in prefix ? [] : [prefix];
        });
  return {
    rule,
    idleMs: rule.idleTimeout * 1000,
    anyRemote: rule.remote === 'any',
    close: rule.onExpire === 'close',
    trigger: rangesByProtocol(rule.trigger),
    open,
    openKey: `tcp:${formatPortList(open.tcp)};udp:${formatPortList(open.udp)}`,
    lanHosts,
    allowed: new Map(),
  };
}

/** Port indexes per family and protocol over the rules in scope, in config order. */
function buildIndexes(
  config: Config,
  rules: ReadonlyMap<string, CompiledRule>,
  pick: (rule: CompiledRule) => Record<Protocol, PortRange[]>,
): PortIndexes {
  const indexes = emptyIndexes();
  for (const family of FAMILIES) {
    const inScope = [...rules.values()].filter((r) => isRuleInScope(config, r.rule, family));
    for (const protocol of PROTOCOLS) {
      const items: PortItem<CompiledRule>[] = inScope.flatMap((r) =>
        pick(r)[protocol].map((range) => ({ range, value: r })),
      );
      indexes[family][protocol] = buildPortIndex(items);
    }
  }
  return indexes;
}

/** Indexes that match nothing. */
function emptyIndexes(): PortIndexes {
  return { ipv4: { tcp: [], udp: [] }, ipv6: { tcp: [], udp: [] } };
}

/** The key of an entry: (rule, family) for remote any, (rule, family, remote) for contacted. */
function entryKey(rule: string, family: Family, remote: string | undefined): string {
  return remote === undefined ? rule + SEP + family : rule + SEP + family + SEP + remote;
}

/** The key of a connection by one direction of its 5-tuple. */
function connectionKey(protocol: Protocol, src: string, sport: number, dst: string, dport: number): string {
  return `${protocol} ${src} ${sport} ${dst} ${dport}`;
}

/** The key of a masqueraded connection as its reply sees it: the LAN host is what it looks up. */
function masqueradeKey(protocol: Protocol, remote: string, remotePort: number, port: number): string {
  return `${protocol} ${remote} ${remotePort} ${port}`;
}

/** Adds a key to a set bounded like the kernel's connection table: the oldest goes first. */
function rememberBounded(set: Set<string>, key: string): void {
  if (set.has(key)) return;
  if (set.size >= OUTBOUND_LIMIT) {
    const oldest = set.values().next().value;
    if (oldest !== undefined) set.delete(oldest);
  }
  set.add(key);
}

/** The public shape of an entry (no remote for `remote: any`). */
function toTriggerEntry(entry: LiveEntry): TriggerEntry {
  const base = { rule: entry.rule, family: entry.family, holder: entry.holder };
  const times = { openedAt: entry.openedAt, expiresAt: entry.expiresAt };
  return entry.remote === undefined ? { ...base, ...times } : { ...base, remote: entry.remote, ...times };
}

/** Plain code-unit order: stable across locales, like the kernel's read-back is sorted by the service. */
function compareText(a: string | undefined, b: string | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Entry order of readTable: rule, family, holder, remote. */
function compareEntries(a: LiveEntry, b: LiveEntry): number {
  return (
    compareText(a.rule, b.rule) ||
    compareText(a.family, b.family) ||
    compareText(a.holder, b.holder) ||
    compareText(a.remote, b.remote)
  );
}

/** Conflict order of readTable: rule, family, contender, remote. */
function compareConflicts(a: ConflictRecord, b: ConflictRecord): number {
  return (
    compareText(a.rule, b.rule) ||
    compareText(a.family, b.family) ||
    compareText(a.contender, b.contender) ||
    compareText(a.remote, b.remote)
  );
}

/** Blocked order of readTable: rule, family, host. */
function compareBlocked(a: BlockedRecord, b: BlockedRecord): number {
  return compareText(a.rule, b.rule) || compareText(a.family, b.family) || compareText(a.host, b.host);
}
