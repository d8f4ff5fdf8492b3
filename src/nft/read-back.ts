import { canonicalAddress } from '../core/address.js';
import type { BlockedRecord, ConflictRecord, TriggerEntry, TriggerTable } from '../core/types.js';
import { RECORD_WINDOW_SECONDS } from '../core/types.js';
import type { Plan, RulePlan } from './plan.js';
import type { KernelElement, KernelState } from './state.js';

function canon(text: string | undefined): string {
  return (text !== undefined && canonicalAddress(text)) || String(text);
}

function expiresAt(now: number, e: KernelElement): number {
  return now + e.expiresS * 1000;
}

function entriesOf(r: RulePlan, state: KernelState, now: number): TriggerEntry[] {
  const base = { rule: r.rule.name, family: r.family };
  if (r.rule.remote === 'any') {
    const set = state.sets.get(r.entrySets.h ?? '');
    return (set?.elements ?? []).map((e) => ({
      ...base,
      holder: canon(e.key[0]),
      expiresAt: expiresAt(now, e),
    }));
  }
  const set = state.sets.get(r.entrySets.p ?? '');
  return (set?.elements ?? []).map((e) => ({
    ...base,
    holder: canon(e.key[1]),
    remote: canon(e.key[0]),
    expiresAt: expiresAt(now, e),
  }));
}

function recordTime(now: number, e: KernelElement): number {
  // Records are added once and never refreshed, so their age is the window minus what is left of it.
  return now - (RECORD_WINDOW_SECONDS - Math.min(e.expiresS, RECORD_WINDOW_SECONDS)) * 1000;
}

function conflictsOf(
  r: RulePlan,
  state: KernelState,
  now: number,
  entries: TriggerEntry[],
): ConflictRecord[] {
  const set = state.sets.get(r.conflictSet);
  return (set?.elements ?? []).map((e) => {
    const contender = canon(e.key[0]);
    const remote = r.rule.remote === 'contacted' ? canon(e.key[1]) : undefined;
    const holder = entries.find((x) => x.remote === remote)?.holder;
    return {
      rule: r.rule.name,
      family: r.family,
      contender,
      ...(holder !== undefined ? { holder } : {}),
      ...(remote !== undefined ? { remote } : {}),
      at: recordTime(now, e),
    };
  });
}

function blockedOf(r: RulePlan, state: KernelState, now: number): BlockedRecord[] {
  const set = state.sets.get(r.blockedSet);
  return (set?.elements ?? []).map((e) => ({
    rule: r.rule.name,
    family: r.family,
    host: canon(e.key[0]),
    at: recordTime(now, e),
  }));
}

/**
 * Turns what the kernel holds into the trigger table, the same type the reference model returns.
 * Kernel times have whole-second resolution (nft -j), so expiresAt is a lower bound within a second.
 */
export function readTriggerTable(plan: Plan, state: KernelState, now: number): TriggerTable {
  const entries: TriggerEntry[] = [];
  const conflicts: ConflictRecord[] = [];
  const blocked: BlockedRecord[] = [];
  for (const r of plan.rules) {
    const mine = entriesOf(r, state, now);
    entries.push(...mine);
    conflicts.push(...conflictsOf(r, state, now, mine));
    blocked.push(...blockedOf(r, state, now));
  }
  const byKey = (e: TriggerEntry) => `${e.rule}\u0000${e.family}\u0000${e.holder}\u0000${e.remote ?? ''}`;
  entries.sort((a, b) => (byKey(a) < byKey(b) ? -1 : byKey(a) > byKey(b) ? 1 : 0));
  return { at: now, entries, conflicts, blocked };
}
