import { canonicalAddress } from '../domain/address.js';
import type { BlockedRecord, ConflictRecord, Family, TriggerEntry, TriggerTable } from '../domain/types.js';
import { RECORD_WINDOW_SECONDS } from '../domain/types.js';
import type { Plan, RulePlan, SharedSetKind } from './plan.js';
import { indexRulePlans, sharedSetName } from './plan.js';
import type { KernelElement, KernelState } from './state.js';

function canon(text: string | undefined): string {
  return (text !== undefined && canonicalAddress(text)) || String(text);
}

function recordTime(now: number, e: KernelElement): number {
  // Records are added once and never refreshed, so their age is the window minus what is left of it.
  return now - (RECORD_WINDOW_SECONDS - Math.min(e.expiresS, RECORD_WINDOW_SECONDS)) * 1000;
}

/** The elements of a shared set with the rule plan their number belongs to; numbers of no rule are skipped. */
export function ruleElements(
  plan: Plan,
  state: KernelState,
  kind: SharedSetKind,
  family: Family,
): { rule: RulePlan; element: KernelElement }[] {
  const name = sharedSetName(kind, family);
  const set = name === undefined ? undefined : state.sets.get(name);
  if (!set) return [];
  const index = indexRulePlans(plan);
  const out: { rule: RulePlan; element: KernelElement }[] = [];
  for (const element of set.elements) {
    const rule = index.get(`${family}/${element.key[0]}`);
    // A number of a removed or changed rule: its chains are gone, its elements only wait for their expiry.
    if (!rule) continue;
    const remoteKinds: SharedSetKind[] = ['pair', 'taken', 'rconflict'];
    if ((rule.rule.remote === 'contacted') !== remoteKinds.includes(kind) && kind !== 'blocked') continue;
    out.push({ rule, element });
  }
  return out;
}

/**
 * Turns what the kernel holds into the trigger table, the same type the reference model returns.
 * Kernel times have whole-second resolution (nft -j), so expiresAt is a lower bound within a second.
 */
export function readTriggerTable(plan: Plan, state: KernelState, now: number): TriggerTable {
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
    const holderOf = (rule: string, remote?: string) =>
      entries.find((x) => x.rule === rule && x.family === family && x.remote === remote)?.holder;
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
  const byKey = (e: TriggerEntry) => `${e.rule}\u0000${e.family}\u0000${e.holder}\u0000${e.remote ?? ''}`;
  entries.sort((a, b) => (byKey(a) < byKey(b) ? -1 : byKey(a) > byKey(b) ? 1 : 0));
  return { at: now, entries, conflicts, blocked };
}
