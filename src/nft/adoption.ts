import type { IpPrefix } from '../domain/address.js';
import { parseAddress, parsePrefix, prefixContains } from '../domain/address.js';
import { portInRanges } from '../domain/ports.js';
import type { TriggerEntry, TriggerTable } from '../domain/types.js';
import type { ConntrackTimeouts, TrackedConnection } from './conntrack-state.js';
import { lastPacketAgeS } from './conntrack-state.js';
import { CT_MARK } from './marks.js';
import type { Plan, RulePlan } from './plan.js';
import type { SeedElement } from './render.js';
import { entryExpiryElements } from './seeds.js';

/**
 * TCP states of a connection that no longer carries traffic: its ends closed it. Every other state (and every
 * UDP connection) still can.
 */
const CLOSED_TCP_STATES: ReadonlySet<string> = new Set(['TIME_WAIT', 'CLOSE', 'LAST_ACK']);
/** The tracker prints whole seconds, rounded down: a last packet counts up to a second later (as the refresh). */
const ROUNDING_MS = 1_000;

/** One free place of a rule taken by a live trigger connection, and the connections that now belong to it. */
export interface Adoption {
  readonly entry: TriggerEntry;
  /** The new holder's live trigger connections to the place: marked as the entry's so the refresh counts them. */
  readonly connections: readonly TrackedConnection[];
}

/** What a takeover does: the entries it opens, their element adds, the connections to mark. */
export interface AdoptionPlan {
  readonly adoptions: readonly Adoption[];
  readonly elements: readonly SeedElement[];
}

/** The addresses of the LAN interfaces as prefixes: a connection from inside one of them is LAN-initiated. */
export function parseLanPrefixes(ipAddrJson: string, interfaces: readonly string[]): IpPrefix[] {
  let rows: unknown;
  try {
    rows = JSON.parse(ipAddrJson);
  } catch {
    return [];
  }
  if (!Array.isArray(rows)) return [];
  const matches = (name: string) =>
    interfaces.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
  const out: IpPrefix[] = [];
  for (const row of rows as { ifname?: unknown; addr_info?: unknown }[]) {
    if (typeof row.ifname !== 'string' || !matches(row.ifname) || !Array.isArray(row.addr_info)) continue;
    for (const a of row.addr_info as { local?: unknown; prefixlen?: unknown; scope?: unknown }[]) {
      if (a.scope !== 'global' || typeof a.local !== 'string' || typeof a.prefixlen !== 'number') continue;
      const address = parseAddress(a.local);
      const bits = address?.family === 'ipv4' ? 32 : 128;
      if (!address || a.prefixlen < 0 || a.prefixlen > bits) continue;
      // The interface's own address has host bits: the network is what the hosts behind it share.
      const hostMask = (1n << BigInt(bits - a.prefixlen)) - 1n;
      out.push({ family: address.family, network: address.value & ~hostMask, length: a.prefixlen });
    }
  }
  return out;
}

function inside(prefixes: readonly IpPrefix[], address: string): boolean {
  const parsed = parseAddress(address);
  return parsed !== undefined && prefixes.some((p) => prefixContains(p, parsed));
}

function allowedBy(r: RulePlan, host: string): boolean {
  if (r.lanHosts === 'any') return true;
  const parsed = parseAddress(host);
  return (
    parsed !== undefined &&
    r.lanHosts.some((text) => {
      const prefix = parsePrefix(text);
      return !('error' in prefix) && prefixContains(prefix, parsed);
    })
  );
}

/** A live trigger connection of a rule, with the time of its last packet. */
interface Candidate {
  readonly connection: TrackedConnection;
  readonly lastPacketAt: number;
}

/**
 * The live trigger connections of a rule (docs/semantics.md, 5): LAN-initiated (from a LAN prefix to outside
 * them), to one of its trigger ports, from a host it allows, not closed, not given up by a release, with a
 * packet within its idle timeout.
 */
function candidatesOf(
  r: RulePlan,
  connections: readonly TrackedConnection[],
  timeouts: ConntrackTimeouts,
  now: number,
  lan: readonly IpPrefix[],
): Candidate[] {
  const out: Candidate[] = [];
  for (const c of connections) {
    if (c.family !== r.family || (c.mark & (CT_MARK.released | CT_MARK.inbound)) !== 0) continue;
    if (c.protocol === 'tcp' && CLOSED_TCP_STATES.has(c.state ?? '')) continue;
    if (!portInRanges(c.original.dport, r.trigger[c.protocol])) continue;
    if (!inside(lan, c.original.src) || inside(lan, c.original.dst) || !allowedBy(r, c.original.src))
      continue;
    const lastPacketAt = Math.min(now, now - lastPacketAgeS(c, timeouts) * 1000 + ROUNDING_MS);
    if (lastPacketAt + r.rule.idleTimeout * 1000 > now) out.push({ connection: c, lastPacketAt });
  }
  return out;
}

/**
 * Gives every free place of the rules to the live trigger connection with the most recent packet: on an
 * apply, on a release and when an entry ended (docs/semantics.md, 5). `only` limits it to the places that
 * just became free (`family/rule/remote`). Pure: from the plan, the table, every tracked connection and the
 * tracker's timeouts to the entries that open, their element adds and the connections to mark.
 */
export function planAdoptions(
  plan: Plan,
  table: TriggerTable,
  connections: readonly TrackedConnection[],
  timeouts: ConntrackTimeouts,
  now: number,
  lan: readonly IpPrefix[],
  only?: ReadonlySet<string>,
): AdoptionPlan {
  const taken = new Set(table.entries.map((e) => placeKey(e.family, e.rule, e.remote)));
  const adoptions: Adoption[] = [];
  const elements: SeedElement[] = [];
  for (const r of plan.rules) {
    const candidates = candidatesOf(r, connections, timeouts, now, lan);
    const byPlace = new Map<string, Candidate[]>();
    for (const c of candidates) {
      const remote = r.rule.remote === 'contacted' ? c.connection.original.dst : undefined;
      const key = placeKey(r.family, r.rule.name, remote);
      if (taken.has(key) || (only !== undefined && !only.has(key))) continue;
      byPlace.set(key, [...(byPlace.get(key) ?? []), c]);
    }
    for (const [key, list] of byPlace) {
      const winner = list.reduce((best, c) => (c.lastPacketAt > best.lastPacketAt ? c : best));
      const holder = winner.connection.original.src;
      const own = list.filter((c) => c.connection.original.src === holder);
      const expiresAt = Math.max(...own.map((c) => c.lastPacketAt)) + r.rule.idleTimeout * 1000;
      const remote = r.rule.remote === 'contacted' ? winner.connection.original.dst : undefined;
      const entry: TriggerEntry = {
        rule: r.rule.name,
        family: r.family,
        holder,
        ...(remote !== undefined ? { remote } : {}),
        openedAt: now,
        expiresAt,
      };
      taken.add(key);
      adoptions.push({ entry, connections: own.map((c) => c.connection) });
      elements.push(...entryExpiryElements(plan, entry, expiresAt - now));
    }
  }
  return { adoptions, elements };
}

/** The place of an entry: one per rule and family for `remote: any`, per remote for `remote: contacted`. */
export function placeKey(family: string, rule: string, remote: string | undefined): string {
  return `${family}/${rule}/${remote ?? ''}`;
}
