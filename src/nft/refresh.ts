import { portInRanges } from '../domain/ports.js';
import type { TriggerEntry, TriggerTable } from '../domain/types.js';
import type { ConntrackTimeouts, TrackedConnection } from './conntrack-state.js';
import { connectionRole, lastPacketAgeS } from './conntrack-state.js';
import type { Plan, RulePlan } from './plan.js';
import type { SeedElement } from './render.js';
import { entryExpiryElements } from './seeds.js';

/**
 * The tracker prints remaining timeouts in whole seconds, rounded down, so a computed age is up to a second
 * too old: counting the last packet a second later means an entry never closes before the semantics say, and
 * at most a second after.
 */
const ROUNDING_MS = 1_000;
/** Smaller moves of an expiry are not worth a transaction. */
const MIN_GAIN_MS = 100;

/** One entry that its connections keep open, and its new expiry. */
export interface Extension {
  readonly entry: TriggerEntry;
  readonly lastPacketAt: number;
  readonly expiresAt: number;
}

/** What a refresh from the connection tracker does: the extensions and the element adds that make them. */
export interface RefreshPlan {
  readonly extensions: readonly Extension[];
  readonly elements: readonly SeedElement[];
}

function keyOf(rule: string, family: string, holder: string, remote: string | undefined): string {
  return `${rule}\u0000${family}\u0000${holder}\u0000${remote ?? ''}`;
}

/** The identity of an entry: rule, family, holder, remote. */
export function entryKey(e: TriggerEntry): string {
  return keyOf(e.rule, e.family, e.holder, e.remote);
}

/**
 * The rules a connection belongs to: a trigger connection to each rule that has its port as a trigger port, an
 * inbound one to the rule that has its port open (open ports do not overlap within a family and protocol).
 */
function rulesOf(plan: Plan, c: TrackedConnection, kind: 'trigger' | 'inbound', port: number): RulePlan[] {
  return plan.rules.filter(
    (r) => r.family === c.family && portInRanges(port, (kind === 'trigger' ? r.trigger : r.open)[c.protocol]),
  );
}

/**
 * The refresh rule of docs/semantics.md (4): an entry stays open while one of its connections, marked on its
 * first packet, carried a packet within the idle timeout. Pure: from the trigger table, the marked connections
 * and the tracker's timeouts to the entries whose expiry moves later, with the element adds to do it.
 */
export function planRefresh(
  plan: Plan,
  table: TriggerTable,
  connections: readonly TrackedConnection[],
  timeouts: ConntrackTimeouts,
  now: number,
  /** Expiries this refresh set earlier, exact to the millisecond (read-back is whole seconds). */
  known: ReadonlyMap<string, number> = new Map(),
): RefreshPlan {
  const live = new Map(table.entries.map((e) => [entryKey(e), e]));
  const last = new Map<string, number>();
  for (const c of connections) {
    const role = connectionRole(c);
    const at = now - lastPacketAgeS(c, timeouts) * 1000 + ROUNDING_MS;
    for (const r of rulesOf(plan, c, role.kind, role.port)) {
      const remote = r.rule.remote === 'contacted' ? role.remote : undefined;
      const key = keyOf(r.rule.name, r.family, role.holder, remote);
      if (!live.has(key)) continue; // never re-creates an entry: a new one takes a new trigger
      last.set(key, Math.max(last.get(key) ?? 0, at));
    }
  }
  const extensions: Extension[] = [];
  const elements: SeedElement[] = [];
  for (const [key, lastPacketAt] of last) {
    const entry = live.get(key)!;
    const r = plan.rules.find((p) => p.rule.name === entry.rule && p.family === entry.family);
    if (!r) continue;
    const expiresAt = Math.min(lastPacketAt, now) + r.rule.idleTimeout * 1000;
    // Read-back expiries are rounded down to the second, so the kernel's may be later than it shows: the new
    // one is later than the kernel's only because the last packet is never earlier than a connection's first
    // (which set the kernel's) and ROUNDING_MS keeps it past what an earlier refresh set.
    if (expiresAt <= Math.max(entry.expiresAt, known.get(key) ?? 0) + MIN_GAIN_MS) continue;
    extensions.push({ entry, lastPacketAt, expiresAt });
    elements.push(...entryExpiryElements(plan, entry, expiresAt - now));
  }
  return { extensions, elements };
}

/**
 * The entries that the holders' trigger connections show, for a restore after another tool flushed our sets:
 * an entry opened a moment before the flush was never read, but its trigger connection, marked on its first
 * packet, is still tracked. Only connections with a packet within the rule's idle timeout count (the refresh
 * rule); a rule that admits one holder gets the one whose connection carried a packet last.
 */
export function entriesFromConnections(
  plan: Plan,
  connections: readonly TrackedConnection[],
  timeouts: ConntrackTimeouts,
  now: number,
): TriggerEntry[] {
  const best = new Map<string, TriggerEntry>();
  for (const c of connections) {
    const role = connectionRole(c);
    if (role.kind !== 'trigger') continue;
    const lastPacketAt = Math.min(now, now - lastPacketAgeS(c, timeouts) * 1000 + ROUNDING_MS);
    for (const r of rulesOf(plan, c, 'trigger', role.port)) {
      const expiresAt = lastPacketAt + r.rule.idleTimeout * 1000;
      if (expiresAt <= now) continue;
      const remote = r.rule.remote === 'contacted' ? role.remote : undefined;
      // One holder per rule (remote any) or per rule and remote (contacted).
      const key = keyOf(r.rule.name, r.family, '', remote);
      const known = best.get(key);
      if (known && known.expiresAt >= expiresAt) continue;
      best.set(key, {
        rule: r.rule.name,
        family: r.family,
        holder: role.holder,
        ...(remote !== undefined ? { remote } : {}),
        expiresAt,
      });
    }
  }
  return [...best.values()];
}
