/**
 * The reference model: docs/semantics.md in code. It decides packets one at a time on a virtual clock, keeps
 * the same trigger table as the kernel datapath and implements the same `Datapath` port, so that the
 * conformance suite can run one scenario against both and compare decisions and tables. It is written to be
 * read next to the semantics, not to be fast: it runs only in tests and benchmarks.
 */
import {
  canonicalAddress,
  type IpPrefix,
  parseAddress,
  parsePrefix,
  prefixContains,
} from '../domain/address.js';
import type { ApplyReport, Datapath, DatapathReading, ReleaseSelector } from '../domain/datapath.js';
import { formatPortList, portInRanges, rangesByProtocol } from '../domain/ports.js';
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
import { type Connection, ConnectionTracker, type FlowTuple, MASQUERADED } from './model-conntrack.js';
import { buildPortIndex, emptyPortIndex, lookupPort, type PortIndex } from './model-index.js';

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
  /** The last packet of a TCP connection (its ends closed it: FIN or RST); the connection ends with it. */
  readonly last?: boolean;
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
const FAMILIES: readonly Family[] = ['ipv4', 'ipv6'];
const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp'];

/** An entry: the expiry and idle time move, the rest is fixed. */
interface Entry {
  readonly rule: string;
  readonly family: Family;
  readonly holder: string;
  /** The remote of a `remote: contacted` entry; undefined for `remote: any`. */
  readonly remote: string | undefined;
  readonly openedAt: number;
  expiresAt: number;
  idleMs: number;
}

/** A rule with its port lists parsed once. */
interface CompiledRule {
  readonly rule: Rule;
  readonly idleMs: number;
  readonly trigger: Record<Protocol, PortRange[]>;
  readonly open: Record<Protocol, PortRange[]>;
  /** The merged open ranges as text: equal texts mean the same open ports (reload keeps entries). */
  readonly openKey: string;
  readonly lanHosts: readonly IpPrefix[] | 'any';
}

type PortIndexes = Record<Family, Record<Protocol, PortIndex<CompiledRule>>>;

/** The key of an entry's place: one per (rule, family) for `remote: any`, per remote for `remote: contacted`. */
function entryKey(rule: string, family: Family, remote: string | undefined): string {
  return `${rule}\u0000${family}\u0000${remote ?? ''}`;
}

/**
 * The reference model of port triggering. It holds the config, the entries, the records and the connection
 * tracker (model-conntrack.ts); `process` decides one packet and updates that state.
 */
export class ReferenceModel implements Datapath {
  private clock: number;
  private readonly gateway: ReadonlySet<string>;
  private config: Config | undefined;
  private rules = new Map<string, CompiledRule>();
  private triggers: PortIndexes = emptyIndexes();
  private opens: PortIndexes = emptyIndexes();
  private readonly entries = new Map<string, Entry>();
  private readonly conflicts = new Map<string, ConflictRecord>();
  private readonly blocked = new Map<string, BlockedRecord>();
  private readonly connections = new ConnectionTracker();

  /** Builds a model with porttrigger absent until the first apply. */
  constructor(options: ModelOptions) {
    this.clock = options.now ?? 0;
    this.gateway = new Set(options.gatewayAddresses.map(canonicalText));
  }

  /** The virtual clock, in milliseconds. */
  now(): number {
    return this.clock;
  }

  /**
   * Moves the clock forward. Entries end at their expiry, in time order, and each one that ends is taken at
   * once by a contender connection that still carries traffic (docs/semantics.md, 5).
   */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`the clock only moves forward (got ${ms} ms)`);
    const until = this.clock + ms;
    for (;;) {
      const next = Math.min(...[...this.entries.values()].map((e) => e.expiresAt));
      if (next > until) break;
      this.clock = next;
      for (const [key, entry] of this.entries) {
        if (entry.expiresAt > next) continue;
        this.entries.delete(key);
        this.takeOver(entry.rule, entry.family, entry.remote);
      }
    }
    this.clock = until;
  }

  /** Decides one packet and updates the state it touches (entries, records, connections). */
  process(packet: ModelPacket): Decision {
    const p = { ...packet, src: canonicalText(packet.src), dst: canonicalText(packet.dst) };
    const config = this.config;
    if (config === undefined) return this.decideAbsent(p);
    const decision = p.side === 'lan' ? this.processOutbound(p, config) : this.processInbound(p, config);
    if (p.last) {
      const ended = this.connections.find(p);
      if (ended !== undefined) ended.connection.ended = true;
    }
    return decision;
  }

  /**
   * Makes the config the running one, keeping the entries that still fit it (docs/semantics.md, 12); then every
   * rule without a holder goes to a live connection to its trigger ports (docs/semantics.md, 5). The model
   * never loses its entries to another tool, so a remembered table has nothing to seed back and is ignored.
   */
  async apply(config: Config, _remembered?: TriggerTable): Promise<ApplyReport> {
    const rules = new Map<string, CompiledRule>();
    for (const rule of config.rules) if (!rules.has(rule.name)) rules.set(rule.name, compileRule(rule));
    const report = this.carryEntries(config, rules);
    // Records of a rule stay while it stays enabled (docs/semantics.md, 12).
    const stays = (r: { readonly rule: string }) =>
      config.enabled && rules.get(r.rule)?.rule.enabled === true;
    for (const [key, r] of this.conflicts) if (!stays(r)) this.conflicts.delete(key);
    for (const [key, r] of this.blocked) if (!stays(r)) this.blocked.delete(key);
    this.config = config;
    this.rules = rules;
    this.triggers = buildIndexes(config, rules, (r) => r.trigger);
    this.opens = buildIndexes(config, rules, (r) => r.open);
    this.adoptLiveConnections();
    return report;
  }

  /** The trigger table now, and intact once a config is applied (nothing outside the model removes it). */
  async read(): Promise<DatapathReading> {
    return { table: this.table(), intact: this.config !== undefined };
  }

  /**
   * Drops the selected entries now, as if they had expired, and resolves with how many. The released holder's
   * trigger connections leave the entry for good; a contender may take it at once (docs/semantics.md, 11).
   */
  async release(selector: ReleaseSelector): Promise<number> {
    const holder = selector.holder === undefined ? undefined : canonicalText(selector.holder);
    const remote = selector.remote === undefined ? undefined : canonicalText(selector.remote);
    const released = [...this.entries].filter(
      ([, e]) =>
        e.rule === selector.rule &&
        (holder === undefined || e.holder === holder) &&
        (remote === undefined || e.remote === remote) &&
        (selector.family === undefined || e.family === selector.family),
    );
    for (const [key, entry] of released) {
      this.entries.delete(key);
      for (const c of this.connections.all()) {
        if (c.kind !== 'outbound' || c.host !== entry.holder || !c.links.some((l) => l.key === key)) continue;
        c.released = true;
        c.links = [];
      }
    }
    for (const [, entry] of released) this.takeOver(entry.rule, entry.family, entry.remote);
    return released.length;
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
    this.connections.clear();
  }

  /** The trigger table now: entries sorted by rule, family, holder, remote; records inside their window. */
  private table(): TriggerTable {
    const fresh = <R extends { readonly at: number }>(records: Map<string, R>): R[] => {
      for (const [key, r] of records) if (r.at <= this.clock - RECORD_WINDOW_MS) records.delete(key);
      return [...records.values()];
    };
    const conflicts = fresh(this.conflicts).sort(
      (a, b) =>
        compareText(a.rule, b.rule) ||
        compareText(a.family, b.family) ||
        compareText(a.contender, b.contender) ||
        compareText(a.remote, b.remote),
    );
    const blocked = fresh(this.blocked).sort(
      (a, b) => compareText(a.rule, b.rule) || compareText(a.family, b.family) || compareText(a.host, b.host),
    );
    const entries = [...this.entries.values()]
      .sort(
        (a, b) =>
          compareText(a.rule, b.rule) ||
          compareText(a.family, b.family) ||
          compareText(a.holder, b.holder) ||
          compareText(a.remote, b.remote),
      )
      .map(toTriggerEntry);
    return { at: this.clock, entries, conflicts, blocked };
  }

  /**
   * A LAN packet: a packet of a tracked connection (traffic of the entries it belongs to), or the first packet
   * of a new connection, which may trigger rules.
   */
  private processOutbound(p: ModelPacket, config: Config): Decision {
    const found = this.connections.find(p);
    if (found !== undefined) return this.continueConnection(found.connection, p.dst);
    const connection: Connection = {
      kind: 'outbound',
      family: p.family,
      protocol: p.protocol,
      host: p.src,
      remote: p.dst,
      port: p.dport,
      lastPacketAt: this.clock,
      links: [],
      ended: false,
      released: false,
    };
    // Standalone masquerades IPv4 leaving through the WAN: replies come back to a gateway address.
    const replyTo = p.family === 'ipv4' && config.mode === 'standalone' ? MASQUERADED : p.src;
    this.connections.track(connection, p, reversed(p, replyTo));
    for (const rule of lookupPort(this.triggers[p.family][p.protocol], p.dport)) {
      const key = this.triggerRule(rule, p.family, p.src, p.dst);
      if (key !== undefined) connection.links.push({ key, close: false });
    }
    return forwardTo(p.dst);
  }

  /** A WAN packet: a packet of a tracked connection, else a new inbound connection. */
  private processInbound(p: ModelPacket, config: Config): Decision {
    const toGateway = p.family === 'ipv4' && this.gateway.has(p.dst);
    const found =
      this.connections.find(p) ??
      (toGateway && config.mode === 'standalone'
        ? this.connections.find({ ...p, dst: MASQUERADED })
        : undefined);
    if (found !== undefined) return this.continueConnection(found.connection, found.connection.host);
    if (p.family === 'ipv6') return this.admit(p, config, p.dst);
    if (toGateway) return this.admit(p, config, undefined);
    return config.mode === 'standalone' ? { action: 'drop' } : { action: 'pass' };
  }

  /**
   * A later packet of a tracked connection, either direction (`to` is where it goes): it refreshes each entry
   * it belongs to while its host holds that entry; with `onExpire: close` an admitted connection is dropped
   * once its host does not (docs/semantics.md, 4 and 10).
   */
  private continueConnection(connection: Connection, to: string): Decision {
    connection.lastPacketAt = this.clock;
    let closed = false;
    for (const link of connection.links) {
      const entry = this.entries.get(link.key);
      if (entry !== undefined && entry.holder === connection.host) {
        entry.expiresAt = this.clock + entry.idleMs;
      } else if (link.close && this.stillCloses(link.key)) {
        closed = true;
      }
    }
    return closed ? { action: 'drop' } : forwardTo(to);
  }

  /**
   * True while `onExpire: close` polices connections of this entry's rule and family: the rule is still in
   * scope with that policy. A disabled or removed rule polices nothing, as in the kernel, where its chains are
   * gone.
   */
  private stillCloses(key: string): boolean {
    const [name, family] = key.split('\u0000') as [string, Family];
    const rule = this.rules.get(name)?.rule;
    return (
      rule !== undefined &&
      rule.onExpire === 'close' &&
      this.config !== undefined &&
      isRuleInScope(this.config, rule, family)
    );
  }

  /**
   * A new inbound connection on an open port of a held rule: IPv4 to a gateway address is translated to the
   * holder; IPv6 is admitted (no NAT) when its destination `host` is the holder.
   */
  private admit(p: ModelPacket, config: Config, host: string | undefined): Decision {
    const refused: Decision =
      p.family === 'ipv4'
        ? { action: 'local' }
        : config.mode === 'standalone'
          ? { action: 'drop' }
          : { action: 'pass' };
    const rule = lookupPort(this.opens[p.family][p.protocol], p.dport)[0];
    if (rule === undefined) return refused;
    const key = entryKey(rule.rule.name, p.family, rule.rule.remote === 'any' ? undefined : p.src);
    const entry = this.entries.get(key);
    if (entry === undefined || (host !== undefined && entry.holder !== host)) return refused;
    entry.expiresAt = this.clock + entry.idleMs;
    const connection: Connection = {
      kind: 'inbound',
      family: p.family,
      protocol: p.protocol,
      host: entry.holder,
      remote: p.src,
      port: p.dport,
      lastPacketAt: this.clock,
      links: [{ key, close: rule.rule.onExpire === 'close' }],
      ended: false,
      released: false,
    };
    // The port is kept through DNAT, so the holder answers from the port the remote connected to.
    this.connections.track(connection, p, reversed({ ...p, dst: entry.holder }, p.src));
    return forwardTo(entry.holder);
  }

  /**
   * One rule's reaction to a trigger: blocked, opened, refreshed or a conflict; the key of the entry the
   * trigger connection now belongs to (opened or refreshed), if any.
   */
  private triggerRule(rule: CompiledRule, family: Family, host: string, remote: string): string | undefined {
    const name = rule.rule.name;
    if (!isHostAllowed(rule, host)) {
      const key = `${name}\u0000${family}\u0000${host}`;
      if (!this.isRecordFresh(this.blocked.get(key))) {
        this.blocked.set(key, { rule: name, family, host, at: this.clock });
      }
      return undefined;
    }
    const bound = rule.rule.remote === 'any' ? undefined : remote;
    const key = entryKey(name, family, bound);
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.open(rule, family, host, bound, this.clock + rule.idleMs);
      return key;
    }
    if (entry.holder === host) {
      entry.expiresAt = this.clock + entry.idleMs;
      return key;
    }
    // The holder of this moment is recorded with the conflict (docs/semantics.md, "Records").
    const recordKey = `${key}\u0000${host}`;
    if (!this.isRecordFresh(this.conflicts.get(recordKey))) {
      this.conflicts.set(recordKey, {
        rule: name,
        family,
        contender: host,
        holder: entry.holder,
        ...(bound !== undefined ? { remote: bound } : {}),
        at: this.clock,
      });
    }
    return undefined;
  }

  /** Opens an entry now. */
  private open(
    rule: CompiledRule,
    family: Family,
    holder: string,
    remote: string | undefined,
    expiresAt: number,
  ): void {
    this.entries.set(entryKey(rule.rule.name, family, remote), {
      rule: rule.rule.name,
      family,
      holder,
      remote,
      openedAt: this.clock,
      expiresAt,
      idleMs: rule.idleMs,
    });
  }

  /**
   * The live trigger connections of a rule: LAN-initiated connections to one of its trigger ports, from a host
   * it allows, not closed, with a packet within its idle timeout, not given up by a release: triggers in waiting.
   */
  private liveTriggers(rule: CompiledRule, family: Family): Connection[] {
    return [...this.connections.all()].filter(
      (c) =>
        c.kind === 'outbound' &&
        !c.released &&
        !c.ended &&
        c.family === family &&
        portInRanges(c.port, rule.trigger[c.protocol]) &&
        isHostAllowed(rule, c.host) &&
        c.lastPacketAt + rule.idleMs > this.clock,
    );
  }

  /**
   * Gives a free place of a rule to the live trigger connection with the most recent packet (the first
   * tracked on a tie): its host holds from now until that packet + idleTimeout, and every live trigger
   * connection of that host to the place belongs to the entry. The other hosts' connections stay contenders.
   */
  private adopt(
    rule: CompiledRule,
    family: Family,
    remote: string | undefined,
    live: readonly Connection[],
  ): void {
    const key = entryKey(rule.rule.name, family, remote);
    const candidates = live.filter((c) => remote === undefined || c.remote === remote);
    if (this.entries.has(key) || candidates.length === 0) return;
    const winner = candidates.reduce((best, c) => (c.lastPacketAt > best.lastPacketAt ? c : best));
    const own = candidates.filter((c) => c.host === winner.host);
    this.open(rule, family, winner.host, remote, winner.lastPacketAt + rule.idleMs);
    for (const c of own) if (!c.links.some((l) => l.key === key)) c.links.push({ key, close: false });
  }

  /** An entry ended: a contender connection with a packet within the idle timeout takes its place at once. */
  private takeOver(name: string, family: Family, remote: string | undefined): void {
    const rule = this.rules.get(name);
    if (rule === undefined || this.config === undefined || !isRuleInScope(this.config, rule.rule, family))
      return;
    this.adopt(rule, family, remote, this.liveTriggers(rule, family));
  }

  /** After an apply: every free place of every rule in scope goes to a live trigger connection, if any. */
  private adoptLiveConnections(): void {
    const config = this.config;
    if (config === undefined) return;
    for (const rule of this.rules.values()) {
      for (const family of FAMILIES) {
        if (!isRuleInScope(config, rule.rule, family)) continue;
        const live = this.liveTriggers(rule, family);
        const remotes = rule.rule.remote === 'any' ? [undefined] : [...new Set(live.map((c) => c.remote))];
        for (const remote of remotes) this.adopt(rule, family, remote, live);
      }
    }
  }

  /** Carries the entries over to a new config and counts what stayed and what closed. */
  private carryEntries(config: Config, rules: ReadonlyMap<string, CompiledRule>): ApplyReport {
    let kept = 0;
    let dropped = 0;
    for (const [key, entry] of this.entries) {
      const before = this.rules.get(entry.rule);
      const after = rules.get(entry.rule);
      if (before && after && isEntryKept(config, before, after, entry)) {
        entry.idleMs = after.idleMs;
        entry.expiresAt = Math.min(entry.expiresAt, this.clock + after.idleMs);
        kept++;
      } else {
        this.entries.delete(key);
        dropped++;
      }
    }
    return { kept, dropped };
  }

  /** True while a record is inside the record window: repeats inside it are the same record. */
  private isRecordFresh(record: { readonly at: number } | undefined): boolean {
    return record !== undefined && record.at > this.clock - RECORD_WINDOW_MS;
  }

  /** Decisions while porttrigger is absent: nothing is translated, dropped or admitted. */
  private decideAbsent(p: ModelPacket): Decision {
    if (p.side === 'lan') return forwardTo(p.dst);
    return p.family === 'ipv4' && this.gateway.has(p.dst) ? { action: 'local' } : { action: 'pass' };
  }
}

/** The tuple of the replies to a packet, arriving for `replyTo`. */
function reversed(p: FlowTuple, replyTo: string): FlowTuple {
  return { protocol: p.protocol, src: p.dst, sport: p.dport, dst: replyTo, dport: p.sport };
}

/** A forward decision. */
function forwardTo(to: string): Decision {
  return { action: 'forward', to };
}

/** The canonical text of an address, or the text itself when it is not one. */
function canonicalText(text: string): string {
  return canonicalAddress(text) ?? text;
}

/** True when the rule applies to the family under this config (switch, ipv6, rule.family). */
function isRuleInScope(config: Config, rule: Rule, family: Family): boolean {
  if (!config.enabled || !rule.enabled) return false;
  if (family === 'ipv6' && !config.ipv6) return false;
  return rule.family === 'both' || rule.family === family;
}

/** Reload: an entry stays when its rule still fits it (docs/semantics.md, 12). */
function isEntryKept(config: Config, before: CompiledRule, after: CompiledRule, entry: Entry): boolean {
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
  const address = parseAddress(host);
  return address !== undefined && rule.lanHosts.some((p) => prefixContains(p, address));
}

/** Parses a rule's port lists and lanHosts once. */
function compileRule(rule: Rule): CompiledRule {
  const open = rangesByProtocol(rule.open);
  return {
    rule,
    idleMs: rule.idleTimeout * 1000,
    trigger: rangesByProtocol(rule.trigger),
    open,
    openKey: `tcp:${formatPortList(open.tcp)};udp:${formatPortList(open.udp)}`,
    lanHosts:
      rule.lanHosts === 'any'
        ? 'any'
        : rule.lanHosts.flatMap((text) => {
            const prefix = parsePrefix(text);
            return 'error' in prefix ? [] : [prefix];
          }),
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
      indexes[family][protocol] = buildPortIndex(
        inScope.flatMap((r) => pick(r)[protocol].map((range) => ({ range, value: r }))),
      );
    }
  }
  return indexes;
}

/** Indexes that match nothing. */
function emptyIndexes(): PortIndexes {
  const none = (): Record<Protocol, PortIndex<CompiledRule>> => ({
    tcp: emptyPortIndex(),
    udp: emptyPortIndex(),
  });
  return { ipv4: none(), ipv6: none() };
}

/** The public shape of an entry (no remote for `remote: any`). */
function toTriggerEntry(entry: Entry): TriggerEntry {
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
