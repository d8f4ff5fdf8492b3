/**
 * The reference model: docs/semantics.md in code. It decides packets one at a time on a virtual clock, keeps
 * the same trigger table as the kernel datapath and implements the same `Datapath` port, so that the
 * conformance suite can run one scenario against both and compare decisions and tables.
 */
import {
  canonicalAddress,
  type IpPrefix,
  parseAddress,
  parsePrefix,
  prefixContains,
} from '../domain/address.js';
import type { ApplyReport, Datapath, DatapathReading, ReleaseSelector } from '../domain/datapath.js';
import { formatPortList, rangesByProtocol } from '../domain/ports.js';
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
} from '../domain/types.js';
import { ipv4Value } from './model-address.js';
import {
  EntryStore,
  familyIndex,
  type LiveEntry,
  type RemoteKey,
  type RuleSlot,
  recordsOf,
} from './model-entries.js';
import { BoundedFlowTable } from './model-flows.js';
import { buildPortIndex, emptyPortIndex, lookupPort, type PortIndex, type PortItem } from './model-index.js';

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
/**
 * Like nf_conntrack_max: beyond this many connections of one kind (admitted, or LAN-initiated) the oldest are
 * forgotten first; it bounds memory when a benchmark opens millions of connections.
 */
const CONNECTION_LIMIT = 262_144;
/** Distinct address texts before the connection tracker starts over (bounds memory under random traffic). */
const ADDRESS_LIMIT = 4_000_000;
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp'];
/** Stands for "a gateway address" in the key of a masqueraded connection: its reply may come to any. */
const MASQUERADED_ID = -1;
/** IPv4 addresses are their own ids (0 to 2^32-1); other address texts are numbered from here. */
const INTERNED_BASE = 2 ** 32;

const EMPTY_INDEX: PortIndex<CompiledRule> = emptyPortIndex();

const DROP: Decision = Object.freeze({ action: 'drop' });
const LOCAL: Decision = Object.freeze({ action: 'local' });
const PASS: Decision = Object.freeze({ action: 'pass' });

/** A rule prepared for the hot path. */
interface CompiledRule {
  readonly rule: Rule;
  readonly slot: RuleSlot;
  /** The slot's entry maps of `remote: contacted`, copied here for the hot path. */
  readonly contactedIpv4: Map<RemoteKey, LiveEntry>;
  readonly contactedIpv6: Map<RemoteKey, LiveEntry>;
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

/**
 * A connection of an entry (docs/semantics.md, 4): an inbound connection it admitted, or a trigger connection
 * that claimed or refreshed it. It remembers that entry, its host and its rule's policy.
 */
interface AdmittedConnection {
  /** The entry it was last seen held by: while that one is stored and unexpired, no lookup is needed. */
  entry: LiveEntry;
  readonly slot: RuleSlot;
  readonly family: Family;
  readonly remoteKey: RemoteKey | undefined;
  readonly host: string;
  readonly close: boolean;
}

/** A LAN-initiated connection: its host, and the entries its first packet claimed or refreshed. */
interface OutboundConnection {
  readonly host: string;
  readonly links: AdmittedConnection[];
}

/** An address as the hot path uses it: canonical text, a numeric id for flow keys, and whether it is ours. */
interface AddressInfo {
  readonly id: number;
  readonly text: string;
  /** How the address is found as a remote in entry maps. */
  readonly key: RemoteKey;
  readonly gateway: boolean;
}

type PortIndexes = Record<Family, Record<Protocol, PortIndex<CompiledRule>>>;

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
  private readonly entries = new EntryStore();
  /** Admitted connections by their original (inbound) 5-tuple. */
  private readonly admitted = new BoundedFlowTable<AdmittedConnection>(CONNECTION_LIMIT);
  /** The same connections by their reply (outbound) 5-tuple; set in step with `admitted`. */
  private readonly admittedReplies = new BoundedFlowTable<AdmittedConnection>(CONNECTION_LIMIT);
  /** Ports that some admitted connection uses on the LAN side: most packets skip the lookups above. */
  private readonly admittedPorts: Record<Protocol, Uint8Array> = emptyPortMarks();
  /** LAN-initiated connections by the 5-tuple their replies arrive with (gateway: MASQUERADED_ID). */
  private readonly outbound = new BoundedFlowTable<OutboundConnection>(CONNECTION_LIMIT);
  /** The same connections by their original 5-tuple: a packet found here is not a new connection. */
  private readonly outboundOriginal = new BoundedFlowTable<OutboundConnection>(CONNECTION_LIMIT);
  private readonly gatewayIpv4: readonly number[];
  /** IPv6 address text as written → its info; several texts of one address share one info. */
  private readonly addresses = new Map<string, AddressInfo>();
  private nextAddressId = INTERNED_BASE;

  /** Builds a model with porttrigger absent until the first apply. */
  constructor(options: ModelOptions) {
    this.clock = options.now ?? 0;
    this.gateway = new Set(options.gatewayAddresses.map(canonicalText));
    this.gatewayIpv4 = [...this.gateway].map(ipv4Value).filter((v) => v >= 0);
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
    // Past ADDRESS_LIMIT texts the tracker starts over, like a flushed connection table (bounds memory).
    if (this.addresses.size >= ADDRESS_LIMIT) this.forgetConnections();
    const src = this.address(packet.family, packet.src);
    const dst = this.address(packet.family, packet.dst);
    const config = this.config;
    if (config === undefined) return decideAbsent(packet, dst);
    return packet.side === 'lan'
      ? this.processOutbound(packet, config, src, dst)
      : this.processInbound(packet, config, src, dst);
  }

  /**
   * Makes the config the running one, keeping the entries that still fit it (docs/semantics.md, 12). The model
   * never loses its entries to another tool, so a remembered table has nothing to seed back and is ignored.
   */
  async apply(config: Config, _remembered?: TriggerTable): Promise<ApplyReport> {
    const rules = this.compileRules(config);
    const report = this.carryEntries(config, rules);
    this.carryRecords(config, rules);
    this.config = config;
    this.rules = rules;
    this.triggers = buildIndexes(config, rules, (r) => r.trigger);
    this.opens = buildIndexes(config, rules, (r) => r.open);
    return report;
  }

  /** The trigger table now, and intact once a config is applied (nothing outside the model removes it). */
  async read(): Promise<DatapathReading> {
    return { table: this.table(), intact: this.config !== undefined };
  }

  /** The trigger table now: live entries sorted by rule, family, holder, remote; records inside the window. */
  private table(): TriggerTable {
    const entries = this.entries.live(this.clock).sort(compareEntries).map(toTriggerEntry);
    const { conflicts, blocked } = this.freshRecords();
    conflicts.sort(compareConflicts);
    blocked.sort(compareBlocked);
    return { at: this.clock, entries, conflicts, blocked };
  }

  /** Drops the selected live entries now, as if they had expired; resolves with how many. */
  async release(selector: ReleaseSelector): Promise<number> {
    const holder = selector.holder === undefined ? undefined : canonicalText(selector.holder);
    const remote = selector.remote === undefined ? undefined : canonicalText(selector.remote);
    let count = 0;
    for (const entry of this.entries.live(this.clock)) {
      if (entry.slot.rule !== selector.rule) continue;
      if (holder !== undefined && entry.holder !== holder) continue;
      if (remote !== undefined && entry.remote !== remote) continue;
      if (selector.family !== undefined && entry.family !== selector.family) continue;
      this.entries.delete(entry);
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
    this.forgetConnections();
  }

  /**
   * A LAN packet: a reply of an admitted connection, a later packet of a LAN-initiated connection (both are
   * traffic of the entries they belong to), or the first packet of a new connection, which may trigger rules.
   */
  private processOutbound(packet: ModelPacket, config: Config, src: AddressInfo, dst: AddressInfo): Decision {
    const { protocol, sport, dport } = packet;
    const admitted =
      this.admittedPorts[protocol][sport] === 1
        ? this.admittedReplies.get(src.id, sport, dst.id, dport, protocol)
        : undefined;
    if (admitted !== undefined) return this.continueAdmitted(admitted, dst.text);
    const existing = this.outboundOriginal.get(src.id, sport, dst.id, dport, protocol);
    if (existing !== undefined) {
      this.refreshLinks(existing);
      return forwardTo(dst.text);
    }
    const connection = this.trackOutbound(packet, config, src, dst);
    for (const rule of lookupPort(this.triggers[packet.family][protocol], dport)) {
      const entry = this.triggerRule(rule, packet.family, src, dst);
      if (entry !== undefined) connection.links.push(linkOf(entry, false));
    }
    return forwardTo(dst.text);
  }

  /** A WAN packet: established first (admitted, then replies to LAN traffic), then a new connection. */
  private processInbound(packet: ModelPacket, config: Config, src: AddressInfo, dst: AddressInfo): Decision {
    const { protocol, sport, dport } = packet;
    const admitted =
      this.admittedPorts[protocol][dport] === 1
        ? this.admitted.get(src.id, sport, dst.id, dport, protocol)
        : undefined;
    if (admitted !== undefined) return this.continueAdmitted(admitted, admitted.host);
    const toGateway = packet.family === 'ipv4' && dst.gateway;
    const replyDst = toGateway && config.mode === 'standalone' ? MASQUERADED_ID : dst.id;
    const outbound = this.outbound.get(src.id, sport, replyDst, dport, protocol);
    if (outbound !== undefined) {
      this.refreshLinks(outbound);
      return forwardTo(outbound.host);
    }
    if (packet.family === 'ipv6') return this.admitIpv6(packet, config, src, dst);
    if (toGateway) return this.admitIpv4(packet, src, dst);
    return config.mode === 'standalone' ? DROP : PASS;
  }

  /**
   * A later packet of an admitted connection, either direction (`to` is where it goes): refreshes its entry
   * while its host holds it; with `onExpire: close` it is dropped once the host does not.
   */
  private continueAdmitted(connection: AdmittedConnection, to: string): Decision {
    const entry = this.holdingEntry(connection);
    if (entry !== undefined) {
      entry.expiresAt = this.clock + entry.idleMs;
      return forwardTo(to);
    }
    return this.closes(connection) ? DROP : forwardTo(to);
  }

  /** A later packet of a LAN-initiated connection: refreshes the entries it claimed while its host holds them. */
  private refreshLinks(connection: OutboundConnection): void {
    for (const link of connection.links) {
      const entry = this.holdingEntry(link);
      if (entry !== undefined) entry.expiresAt = this.clock + entry.idleMs;
    }
  }

  /**
   * True when `onExpire: close` still polices the connection: its rule is still in scope with that policy. A
   * disabled or removed rule polices nothing any more, as in the kernel, where its chains are gone.
   */
  private closes(connection: AdmittedConnection): boolean {
    if (!connection.close || this.config === undefined) return false;
    const rule = this.rules.get(connection.slot.rule)?.rule;
    return (
      rule !== undefined && rule.onExpire === 'close' && isRuleInScope(this.config, rule, connection.family)
    );
  }

  /** A new IPv4 inbound connection to the gateway: translated to the holder on an open port of a held rule. */
  private admitIpv4(packet: ModelPacket, src: AddressInfo, dst: AddressInfo): Decision {
    const rule = lookupPort(this.opens.ipv4[packet.protocol], packet.dport)[0];
    if (rule === undefined) return LOCAL;
    const entry = this.findRuleEntry(rule, 'ipv4', src);
    if (entry === undefined) return LOCAL;
    this.admit(packet, rule, entry, src, dst);
    return forwardTo(entry.holder);
  }

  /** A new IPv6 inbound connection: admitted (no NAT) when its destination holds the rule. */
  private admitIpv6(packet: ModelPacket, config: Config, src: AddressInfo, dst: AddressInfo): Decision {
    const rule = lookupPort(this.opens.ipv6[packet.protocol], packet.dport)[0];
    const entry = rule === undefined ? undefined : this.findRuleEntry(rule, 'ipv6', src);
    if (rule === undefined || entry === undefined || entry.holder !== dst.text) {
      return config.mode === 'standalone' ? DROP : PASS;
    }
    this.admit(packet, rule, entry, src, dst);
    return forwardTo(dst.text);
  }

  /** Refreshes the entry and tracks the connection both ways so later packets find their host. */
  private admit(
    packet: ModelPacket,
    rule: CompiledRule,
    entry: LiveEntry,
    src: AddressInfo,
    dst: AddressInfo,
  ): void {
    const { protocol, sport, dport } = packet;
    entry.expiresAt = this.clock + entry.idleMs;
    const connection = linkOf(entry, rule.close);
    this.admitted.set(src.id, sport, dst.id, dport, protocol, connection);
    // The port is kept through DNAT, so the host answers from the port the remote connected to.
    const host = this.address(entry.family, entry.holder);
    this.admittedReplies.set(host.id, dport, src.id, sport, protocol, connection);
    this.admittedPorts[protocol][dport] = 1;
  }

  /** Remembers a new LAN-initiated connection by its own 5-tuple and by the one its replies arrive with. */
  private trackOutbound(
    packet: ModelPacket,
    config: Config,
    src: AddressInfo,
    dst: AddressInfo,
  ): OutboundConnection {
    // Standalone masquerades IPv4 leaving through the WAN: replies come back to a gateway address.
    const replyDst = packet.family === 'ipv4' && config.mode === 'standalone' ? MASQUERADED_ID : src.id;
    const connection: OutboundConnection = { host: src.text, links: [] };
    this.outbound.set(dst.id, packet.dport, replyDst, packet.sport, packet.protocol, connection);
    this.outboundOriginal.set(src.id, packet.sport, dst.id, packet.dport, packet.protocol, connection);
    return connection;
  }

  /**
   * One rule's reaction to a trigger: blocked, opened, refreshed or a conflict; resolves with the entry the
   * trigger connection now belongs to (opened or refreshed), if any.
   */
  private triggerRule(
    rule: CompiledRule,
    family: Family,
    src: AddressInfo,
    dst: AddressInfo,
  ): LiveEntry | undefined {
    const host = src.text;
    if (rule.lanHosts !== 'any' && !isHostAllowed(rule, host)) {
      this.recordBlocked(rule.slot, family, host);
      return undefined;
    }
    const entry = this.findRuleEntry(rule, family, dst);
    if (entry === undefined) {
      const opened = this.clock;
      const idleMs = rule.idleMs;
      const created: LiveEntry = {
        slot: rule.slot,
        family,
        holder: host,
        remote: rule.anyRemote ? undefined : dst.text,
        remoteKey: rule.anyRemote ? undefined : dst.key,
        openedAt: opened,
        expiresAt: opened + idleMs,
        idleMs,
        stored: true,
      };
      this.entries.add(created);
      return created;
    }
    if (entry.holder === host) {
      entry.expiresAt = this.clock + entry.idleMs;
      return entry;
    }
    this.recordConflict(rule.slot, family, host, entry.holder, entry.remote);
    return undefined;
  }

  /** Adds a conflict record unless the same one is still inside its window (the first one stays). */
  private recordConflict(
    slot: RuleSlot,
    family: Family,
    contender: string,
    holder: string,
    remote: string | undefined,
  ): void {
    const i = familyIndex(family);
    const rule = slot.rule;
    const records = recordsOf(slot);
    if (remote === undefined) {
      if (this.isRecordFresh(records.conflicts[i].get(contender))) return;
      records.conflicts[i].set(contender, { rule, family, contender, holder, at: this.clock });
      return;
    }
    let byRemote = records.contactedConflicts[i].get(contender);
    if (byRemote === undefined) {
      byRemote = new Map();
      records.contactedConflicts[i].set(contender, byRemote);
    }
    if (this.isRecordFresh(byRemote.get(remote))) return;
    byRemote.set(remote, { rule, family, contender, holder, remote, at: this.clock });
  }

  /** Adds a blocked record unless the same one is still inside its window (the first one stays). */
  private recordBlocked(slot: RuleSlot, family: Family, host: string): void {
    const byHost = recordsOf(slot).blocked[familyIndex(family)];
    if (this.isRecordFresh(byHost.get(host))) return;
    byHost.set(host, { rule: slot.rule, family, host, at: this.clock });
  }

  /** True while a record is inside the record window. */
  private isRecordFresh(record: { readonly at: number } | undefined): boolean {
    return record !== undefined && record.at > this.clock - RECORD_WINDOW_MS;
  }

  /** The live entry of a rule for a family and, with `remote: contacted`, a remote. */
  private findRuleEntry(rule: CompiledRule, family: Family, remote: AddressInfo): LiveEntry | undefined {
    if (rule.anyRemote) return this.entries.find(rule.slot, family, undefined, this.clock);
    // Straight from the rule to its map: one pointer less to chase than through the slot.
    return this.entries.findIn(
      family === 'ipv4' ? rule.contactedIpv4 : rule.contactedIpv6,
      remote.key,
      this.clock,
    );
  }

  /** The entry of the connection's (rule, family, remote), if the connection's host holds it now. */
  private holdingEntry(connection: AdmittedConnection): LiveEntry | undefined {
    const known = connection.entry;
    // Still stored and unexpired means still the entry of its key, and its holder is the connection's host.
    if (known.stored && known.expiresAt > this.clock) return known;
    const entry = this.entries.find(connection.slot, connection.family, connection.remoteKey, this.clock);
    if (entry === undefined || entry.holder !== connection.host) return undefined;
    connection.entry = entry;
    return entry;
  }

  /** Compiles the rules of a config by name (validation makes names unique; the first one wins otherwise). */
  private compileRules(config: Config): Map<string, CompiledRule> {
    const rules = new Map<string, CompiledRule>();
    for (const rule of config.rules) {
      if (!rules.has(rule.name)) rules.set(rule.name, compileRule(rule, this.entries.slotOf(rule.name)));
    }
    return rules;
  }

  /** Carries the live entries over to a new config and counts what stayed and what closed. */
  private carryEntries(config: Config, rules: ReadonlyMap<string, CompiledRule>): ApplyReport {
    let kept = 0;
    let dropped = 0;
    for (const entry of this.entries.live(this.clock)) {
      const before = this.rules.get(entry.slot.rule);
      const after = rules.get(entry.slot.rule);
      if (before && after && isEntryKept(config, before, after, entry)) {
        entry.idleMs = after.idleMs;
        entry.expiresAt = Math.min(entry.expiresAt, this.clock + after.idleMs);
        kept++;
      } else {
        this.entries.delete(entry);
        dropped++;
      }
    }
    return { kept, dropped };
  }

  /** Keeps the records of rules that stay enabled (none when the switch is off). */
  private carryRecords(config: Config, rules: ReadonlyMap<string, CompiledRule>): void {
    for (const slot of this.entries.allSlots()) {
      if (config.enabled && rules.get(slot.rule)?.rule.enabled === true) continue;
      slot.records = undefined;
    }
  }

  /** The records inside their window; the others are forgotten on the way. */
  private freshRecords(): { conflicts: ConflictRecord[]; blocked: BlockedRecord[] } {
    const conflicts: ConflictRecord[] = [];
    const blocked: BlockedRecord[] = [];
    for (const slot of this.entries.allSlots()) {
      const records = slot.records;
      if (records === undefined) continue;
      for (const i of [0, 1] as const) {
        this.collectFresh(records.conflicts[i], conflicts);
        for (const [contender, byRemote] of records.contactedConflicts[i]) {
          this.collectFresh(byRemote, conflicts);
          if (byRemote.size === 0) records.contactedConflicts[i].delete(contender);
        }
        this.collectFresh(records.blocked[i], blocked);
      }
    }
    return { conflicts, blocked };
  }

  /** Moves the fresh records of a map to `out` and forgets the stale ones. */
  private collectFresh<R extends { readonly at: number }>(records: Map<string, R>, out: R[]): void {
    for (const [key, record] of records) {
      if (this.isRecordFresh(record)) out.push(record);
      else records.delete(key);
    }
  }

  /**
   * The info of a packet address. Valid IPv4 text is already canonical (leading zeros are refused) and is its
   * own id, so it costs a scan and no lookup; other text is parsed once per distinct text.
   */
  private address(family: Family, text: string): AddressInfo {
    if (family === 'ipv4') {
      const value = ipv4Value(text);
      if (value >= 0) return { id: value, text, key: value | 0, gateway: this.gatewayIpv4.includes(value) };
    }
    return this.addresses.get(text) ?? this.internAddress(text);
  }

  /** Gives a new address text its info, shared with the other texts of the same address. */
  private internAddress(text: string): AddressInfo {
    const canonical = canonicalText(text);
    let info = this.addresses.get(canonical);
    if (info === undefined) {
      info = {
        id: this.nextAddressId++,
        text: canonical,
        key: canonical,
        gateway: this.gateway.has(canonical),
      };
      this.addresses.set(canonical, info);
    }
    this.addresses.set(text, info);
    return info;
  }

  /** Forgets every tracked connection and the address ids their keys use. */
  private forgetConnections(): void {
    this.admitted.clear();
    this.admittedReplies.clear();
    for (const protocol of PROTOCOLS) this.admittedPorts[protocol].fill(0);
    this.outbound.clear();
    this.outboundOriginal.clear();
    this.addresses.clear();
    this.nextAddressId = INTERNED_BASE;
  }
}

/** Decisions while porttrigger is absent: nothing is translated, dropped or admitted. */
function decideAbsent(packet: ModelPacket, dst: AddressInfo): Decision {
  if (packet.side === 'lan') return forwardTo(dst.text);
  return packet.family === 'ipv4' && dst.gateway ? LOCAL : PASS;
}

/** The link of a connection to the entry it belongs to. */
function linkOf(entry: LiveEntry, close: boolean): AdmittedConnection {
  return {
    entry,
    slot: entry.slot,
    family: entry.family,
    remoteKey: entry.remoteKey,
    host: entry.holder,
    close,
  };
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

/** Parses what the hot path needs from a rule once. */
function compileRule(rule: Rule, slot: RuleSlot): CompiledRule {
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
    slot,
    contactedIpv4: slot.contactedIpv4,
    contactedIpv6: slot.contactedIpv6,
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

/** Indexes that match nothing (one shared empty index: indexes are never changed once built). */
function emptyIndexes(): PortIndexes {
  return { ipv4: { tcp: EMPTY_INDEX, udp: EMPTY_INDEX }, ipv6: { tcp: EMPTY_INDEX, udp: EMPTY_INDEX } };
}

/** Marks per port and protocol, all clear. */
function emptyPortMarks(): Record<Protocol, Uint8Array> {
  return { tcp: new Uint8Array(65_536), udp: new Uint8Array(65_536) };
}

/** The canonical text of an address, or the text itself when it is not one. */
function canonicalText(text: string): string {
  return canonicalAddress(text) ?? text;
}

/** The public shape of an entry (no remote for `remote: any`). */
function toTriggerEntry(entry: LiveEntry): TriggerEntry {
  const base = { rule: entry.slot.rule, family: entry.family, holder: entry.holder };
  const times = { openedAt: entry.openedAt, expiresAt: entry.expiresAt };
  return entry.remote === undefined ? { ...base, ...times } : { ...base, remote: entry.remote, ...times };
}

/** Plain code-unit order: stable across locales, like the kernel's read-back is sorted by the service. */
function compareText(a: string | undefined, b: string | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Entry order of the table: rule, family, holder, remote. */
function compareEntries(a: LiveEntry, b: LiveEntry): number {
  return (
    compareText(a.slot.rule, b.slot.rule) ||
    compareText(a.family, b.family) ||
    compareText(a.holder, b.holder) ||
    compareText(a.remote, b.remote)
  );
}

/** Conflict order of the table: rule, family, contender, remote. */
function compareConflicts(a: ConflictRecord, b: ConflictRecord): number {
  return (
    compareText(a.rule, b.rule) ||
    compareText(a.family, b.family) ||
    compareText(a.contender, b.contender) ||
    compareText(a.remote, b.remote)
  );
}

/** Blocked order of the table: rule, family, host. */
function compareBlocked(a: BlockedRecord, b: BlockedRecord): number {
  return compareText(a.rule, b.rule) || compareText(a.family, b.family) || compareText(a.host, b.host);
}
