import { canonicalAddress } from '../domain/address.js';
import type { BlockedRecord, ConflictRecord, Family, TriggerEntry, TriggerTable } from '../domain/types.js';
import { RECORD_WINDOW_SECONDS } from '../domain/types.js';
import type { Plan, RulePlan, SharedSetKind } from './plan.js';
import { indexRulePlans, sharedSetName } from './plan.js';
import type { KernelElement, KernelState } from './state.js';

/** An IPv4 address as nft prints it, which is already canonical: no need to parse it. */
const DOTTED_QUAD = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Canonical addresses, remembered within one read: a large table repeats its holders many times. */
function canonicalizer(): (text: string | undefined) => string {
  const seen = new Map<string, string>();
  return (text) => {
    if (text === undefined) return 'undefined';
    if (DOTTED_QUAD.test(text)) return text;
    let c = seen.get(text);
    if (c === undefined) {
      c = canonicalAddress(text) || text;
      seen.set(text, c);
    }
    return c;
  };
}

function recordTime(now: number, e: KernelElement): number {
  // Records are added once and never refreshed, so their age is the window minus what is left of it.
  return now - (RECORD_WINDOW_SECONDS - Math.min(e.expiresS, RECORD_WINDOW_SECONDS)) * 1000;
}

const REMOTE_KINDS: readonly SharedSetKind[] = ['pair', 'taken', 'rconflict'];

/** The elements of a shared set with the rule plan their number belongs to; numbers of no rule are skipped. */
export function ruleElements(
  plan: Plan,
  state: KernelState,
  kind: SharedSetKind,
  family: Family,
): { rule: RulePlan; element: KernelElement }[] {
  const name = sharedSetName(kind, family);
  const set = name === undefined ? undefined : state.sets.get(name);
  // An empty set needs no index of the rules (a change's read of a large table meets mostly empty sets).
  if (!set || set.elements.length === 0) return [];
  const index = indexRulePlans(plan);
  const wantsRemote = REMOTE_KINDS.includes(kind);
  const out: { rule: RulePlan; element: KernelElement }[] = [];
  let lastId: string | undefined;
  let lastRule: RulePlan | undefined;
  for (const element of set.elements) {
    // Elements of one rule come in runs: look its number up once a run.
    const id = element.key[0];
    if (id !== lastId) {
      lastId = id;
      lastRule = index.get(`${family}/${id}`);
    }
    const rule = lastRule;
    // A number of a removed or changed rule: its chains are gone, its elements only wait for their expiry.
    if (!rule) continue;
    if ((rule.rule.remote === 'contacted') !== wantsRemote && kind !== 'blocked') continue;
    out.push({ rule, element });
  }
  return out;
}

/**
 * The shared sets that {@link readTriggerTable} reads for a plan. The others (`held`, `taken`, `target4`,
 * `rtarget4`) repeat what these hold, so a large table is read by listing these alone, a third of the elements.
 */
export function readBackSetNames(plan: Plan): string[] {
  const names = new Set<string>();
  for (const r of plan.rules) {
    const kinds: SharedSetKind[] = r.rule.remote === 'any' ? ['hold', 'conflict'] : ['pair', 'rconflict'];
    if (r.lanHosts !== 'any') kinds.push('blocked');
    for (const kind of kinds) {
      const name = sharedSetName(kind, r.family);
      if (name) names.add(name);
    }
  }
  return [...names].sort();
}

/**
 * Turns what the kernel holds into the trigger table, the same type the reference model returns.
 * Kernel times have whole-second resolution (nft -j), so expiresAt is a lower bound within a second.
 */
export function readTriggerTable(plan: Plan, state: KernelState, now: number): TriggerTable {
  const canon = canonicalizer();
  const entries: TriggerEntry[] = [];
  const conflicts: ConflictRecord[] = [];
  const blocked: BlockedRecord[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const { rule, element: e } of ruleElements(plan, state, 'hold', family)) {
      entries.push({
        rule: rule.rule.name,
        family,
        holder: canon(e.key[1]),
        expiresAt: now + e.expiresS * 1000,
      });
    }
    for (const { rule, element: e } of ruleElements(plan, state, 'pair', family)) {
      entries.push({
        rule: rule.rule.name,
        family,
        holder: canon(e.key[2]),
        remote: canon(e.key[1]),
        expiresAt: now + e.expiresS * 1000,
      });
    }
    const holders = new Map<string, string>();
    for (const x of entries) {
      const key = `${x.rule}\u0000${x.remote ?? ''}`;
      if (x.family === family && !holders.has(key)) holders.set(key, x.holder);
    }
    const holderOf = (rule: string, remote?: string) => holders.get(`${rule}\u0000${remote ?? ''}`);
    for (const kind of ['conflict', 'rconflict'] as const) {
      for (const { rule, element: e } of ruleElements(plan, state, kind, family)) {
        const remote = kind === 'rconflict' ? canon(e.key[2]) : undefined;
        const holder = holderOf(rule.rule.name, remote);
        conflicts.push({
          rule: rule.rule.name,
          family,
          contender: canon(e.key[1]),
          ...(holder !== undefined ? { holder } : {}),
          ...(remote !== undefined ? { remote } : {}),
          at: recordTime(now, e),
        });
      }
    }
    for (const { rule, element: e } of ruleElements(plan, state, 'blocked', family)) {
      blocked.push({ rule: rule.rule.name, family, host: canon(e.key[1]), at: recordTime(now, e) });
    }
  }
  // Keys built once: a comparator that builds them costs more than the rest of a large read.
  const keyed = entries.map((e) => ({
    e,
    key: `${e.rule}\u0000${e.family}\u0000${e.holder}\u0000${e.remote ?? ''}`,
  }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { at: now, entries: keyed.map((k) => k.e), conflicts, blocked };
}
