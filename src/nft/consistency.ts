/**
 * The shared sets hold each entry as two or three elements written together by the packet path (a gate, the
 * holder, and for IPv4 the DNAT target). Another tool that flushes or edits one set breaks that: a DNAT target
 * without its holder element forwards while the trigger table shows no entry. This finds such broken groups and
 * plans their repair.
 */
import type { Family, TriggerEntry } from '../domain/types.js';
import type { Plan, RulePlan, SharedSetKind } from './plan.js';
import { indexRulePlans, sharedSetName, sharedSetNames } from './plan.js';
import type { SeedElement } from './render.js';
import { entryExpiryElements } from './seeds.js';
import type { KernelElement, KernelState } from './state.js';

/**
 * Elements this close to their expiry are left alone: the members of a group expire microseconds apart, so a
 * read may catch a group half gone on its own, and deleting an element that expires before the transaction runs
 * would make nft refuse it.
 */
const SETTLING_S = 2;

/** One entry as the shared sets show it, complete or not. */
export interface ElementGroup {
  readonly rule: RulePlan;
  readonly family: Family;
  /** Undefined when no element of the group names the holder. */
  readonly holder: string | undefined;
  readonly remote?: string;
  /** The elements found, by set kind. */
  readonly parts: ReadonlyMap<SharedSetKind, KernelElement>;
  /** What is wrong, in words; empty for a complete group. */
  readonly problems: readonly string[];
}

function elements(state: KernelState, kind: SharedSetKind, family: Family): readonly KernelElement[] {
  return sharedSetNames(kind, family).flatMap((name) => state.sets.get(name)?.elements ?? []);
}

/** The kinds that make up an entry of a rule, in a family. */
function groupKinds(r: RulePlan): SharedSetKind[] {
  const kinds: SharedSetKind[] =
    r.rule.remote === 'any' ? ['held', 'hold', 'target'] : ['taken', 'pair', 'rtarget'];
  return kinds.filter((k) => sharedSetName(k, r.family, r.id) !== undefined);
}

/** Every entry group the sets hold, keyed by rule number (and remote), with what is wrong with each. */
export function elementGroups(plan: Plan, state: KernelState): ElementGroup[] {
  const index = indexRulePlans(plan);
  const groups = new Map<
    string,
    {
      rule: RulePlan;
      family: Family;
      remote?: string;
      parts: Map<SharedSetKind, KernelElement>;
      holders: Set<string>;
    }
  >();
  const add = (
    family: Family,
    kind: SharedSetKind,
    e: KernelElement,
    remote: string | undefined,
    holder: string | undefined,
  ) => {
    const rule = index.get(`${family}/${e.key[0]}`);
    // Numbers of removed rules wait for their expiry; the apply that removed them handled their entries.
    if (!rule || (rule.rule.remote === 'contacted') !== (remote !== undefined)) return;
    const key = `${family}/${e.key[0]}/${remote ?? ''}`;
    const group = groups.get(key) ?? {
      rule,
      family,
      ...(remote !== undefined ? { remote } : {}),
      parts: new Map(),
      holders: new Set<string>(),
    };
    groups.set(key, group);
    group.parts.set(kind, e);
    if (holder !== undefined) group.holders.add(holder);
  };
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const e of elements(state, 'held', family)) add(family, 'held', e, undefined, undefined);
    for (const e of elements(state, 'hold', family)) add(family, 'hold', e, undefined, e.key[1]);
    for (const e of elements(state, 'target', family)) add(family, 'target', e, undefined, e.value);
    for (const e of elements(state, 'taken', family)) add(family, 'taken', e, e.key[1], undefined);
    for (const e of elements(state, 'pair', family)) add(family, 'pair', e, e.key[1], e.key[2]);
    for (const e of elements(state, 'rtarget', family)) add(family, 'rtarget', e, e.key[1], e.value);
  }
  return [...groups.values()].map((g) => {
    const problems: string[] = [];
    const where = `rule "${g.rule.rule.name}" (${g.family}${g.remote !== undefined ? `, remote ${g.remote}` : ''})`;
    const settled = [...g.parts.values()].some((e) => e.expiresS > SETTLING_S);
    if (settled) {
      const missing = groupKinds(g.rule).filter((k) => !g.parts.has(k));
      if (missing.length > 0) {
        problems.push(
          `${where}: ${missing.map((k) => sharedSetName(k, g.family, g.rule.id)).join(', ')} missing`,
        );
      }
      if (g.holders.size > 1)
        problems.push(`${where}: elements name different holders (${[...g.holders].join(', ')})`);
    }
    return {
      rule: g.rule,
      family: g.family,
      holder: g.holders.size === 1 ? [...g.holders][0] : undefined,
      ...(g.remote !== undefined ? { remote: g.remote } : {}),
      parts: g.parts,
      problems,
    };
  });
}

/** What is inconsistent in the sets, in words; empty when every entry is whole. */
export function findInconsistencies(plan: Plan, state: KernelState): string[] {
  return elementGroups(plan, state).flatMap((g) => g.problems);
}

/** The repair of the broken groups: element operations, and which entries came back or were dropped. */
export interface Repair {
  readonly elements: readonly SeedElement[];
  readonly restored: number;
  readonly dropped: number;
}

/**
 * The element operations that make every broken group whole again or remove it: a group whose holder is known
 * (from its surviving elements, else from `known`, entries the service saw or re-derived) is written again with
 * the longest time any of its parts or `known` had left; a group with no holder is deleted, so that nothing
 * forwards that the trigger table does not show.
 */
export function planRepair(
  plan: Plan,
  state: KernelState,
  known: readonly TriggerEntry[],
  now: number,
): Repair {
  const out: SeedElement[] = [];
  let restored = 0;
  let dropped = 0;
  for (const g of elementGroups(plan, state)) {
    if (g.problems.length === 0) continue;
    const candidate = known.find(
      (e) =>
        e.rule === g.rule.rule.name &&
        e.family === g.family &&
        e.remote === g.remote &&
        (g.holder === undefined || e.holder === g.holder),
    );
    const holder = g.holder ?? candidate?.holder;
    const deletes = [...g.parts.entries()].map(([kind, e]) => ({
      set: sharedSetName(kind, g.family, g.rule.id)!,
      key: e.key.join(' . '),
    }));
    const leftMs = Math.max(
      ...[...g.parts.values()].map((e) => e.expiresS * 1000),
      candidate ? candidate.expiresAt - now : 0,
    );
    if (holder === undefined || leftMs <= 0) {
      out.push(...deletes);
      dropped++;
      continue;
    }
    const entry: TriggerEntry = {
      rule: g.rule.rule.name,
      family: g.family,
      holder,
      ...(g.remote !== undefined ? { remote: g.remote } : {}),
      expiresAt: now + leftMs,
    };
    // Deleted first, then written whole: a map element pointing at another host must not keep its value.
    out.push(...deletes, ...entryExpiryElements(plan, entry, leftMs));
    restored++;
  }
  return { elements: out, restored, dropped };
}
