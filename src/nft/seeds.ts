import { parseAddress, parsePrefix, prefixContains } from '../domain/address.js';
import type { Family, TriggerEntry, TriggerTable } from '../domain/types.js';
import type { Plan, RulePlan } from './plan.js';
import { indexRulePlans, SHARED_SETS, sharedSetName, sharedSetNames } from './plan.js';
import type { SeedElement } from './render.js';
import type { KernelState } from './state.js';

// Elements that expire sooner than this are left to expire: deleting one that expires before the transaction
// runs would make nft refuse the whole transaction.
const DELETE_MARGIN_MS = 2_000;

function allowed(r: RulePlan, host: string): boolean {
  if (r.lanHosts === 'any') return true;
  const addr = parseAddress(host);
  if (!addr) return false;
  return r.lanHosts.some((p) => {
    const prefix = parsePrefix(p);
    return !('error' in prefix) && prefixContains(prefix, addr);
  });
}

function isTargetMap(set: string): boolean {
  return set.startsWith(`${SHARED_SETS.target.v4}_`) || set.startsWith(`${SHARED_SETS.rtarget.v4}_`);
}

/** One entry as the shared sets hold it. */
interface StoredEntry {
  readonly family: Family;
  readonly id: number;
  readonly holder: string;
  readonly remote?: string;
  readonly leftMs: number;
}

/** The elements of all shared sets that make up one entry, as delete or add operations. */
function entryElements(
  e: Omit<StoredEntry, 'leftMs'>,
  add?: { timeoutMs: number; expiresMs: number },
): SeedElement[] {
  const name = (kind: Parameters<typeof sharedSetName>[0]) => sharedSetName(kind, e.family, e.id);
  const at = add ?? {};
  if (e.remote === undefined) {
    return [
      ...(name('target')
        ? [{ set: name('target')!, key: `${e.id}`, ...(add ? { value: e.holder } : {}), ...at }]
        : []),
      { set: name('hold')!, key: `${e.id} . ${e.holder}`, ...at },
      { set: name('held')!, key: `${e.id}`, ...at },
    ];
  }
  return [
    ...(name('rtarget')
      ? [{ set: name('rtarget')!, key: `${e.id} . ${e.remote}`, ...(add ? { value: e.holder } : {}), ...at }]
      : []),
    { set: name('pair')!, key: `${e.id} . ${e.remote} . ${e.holder}`, ...at },
    { set: name('taken')!, key: `${e.id} . ${e.remote}`, ...at },
  ];
}

function storedEntries(state: KernelState): StoredEntry[] {
  const out: StoredEntry[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const e of state.sets.get(sharedSetName('hold', family)!)?.elements ?? []) {
      out.push({ family, id: Number(e.key[0]), holder: e.key[1]!, leftMs: e.expiresS * 1000 });
    }
    for (const e of state.sets.get(sharedSetName('pair', family)!)?.elements ?? []) {
      out.push({
        family,
        id: Number(e.key[0]),
        remote: e.key[1]!,
        holder: e.key[2]!,
        leftMs: e.expiresS * 1000,
      });
    }
  }
  return out;
}

/** The groups the kernel has any element of, as `family/rule number/remote`. */
function presentGroups(state: KernelState): Set<string> {
  const out = new Set<string>();
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const kind of ['held', 'hold', 'target'] as const) {
      for (const name of sharedSetNames(kind, family))
        for (const e of state.sets.get(name)?.elements ?? []) out.add(`${family}/${e.key[0]}/`);
    }
    for (const kind of ['taken', 'pair', 'rtarget'] as const) {
      for (const name of sharedSetNames(kind, family))
        for (const e of state.sets.get(name)?.elements ?? []) out.add(`${family}/${e.key[0]}/${e.key[1]}`);
    }
  }
  return out;
}

/** What an apply does to the entries the kernel holds: element operations and the counts of the report. */
export interface EntryChanges {
  readonly elements: SeedElement[];
  readonly kept: number;
  readonly dropped: number;
}

/**
 * The element operations that take the entries in the kernel (or, when the kernel lost our table, a remembered
 * trigger table) to the plan (docs/semantics.md, 12): entries of rules that are gone or changed are deleted,
 * holders that lanHosts no longer allows are deleted, expiry is capped at a shorter new idle timeout, and
 * remembered entries are added back with the time they had left at `now`.
 */
export function planEntryChanges(
  plan: Plan,
  state: KernelState,
  remembered?: TriggerTable,
  now?: number,
): EntryChanges {
  const index = indexRulePlans(plan);
  const elements: SeedElement[] = [];
  let kept = 0;
  let dropped = 0;
  const stored = storedEntries(state);
  // An earlier layout kept the DNAT targets in one map per family, which this apply deletes: kept entries get
  // their target in the split maps, and nothing is deleted from split maps that do not hold it yet.
  const legacy = state.maps.has(SHARED_SETS.target.v4) || state.maps.has(SHARED_SETS.rtarget.v4);
  const deletes = (e: StoredEntry) => entryElements(e).filter((x) => !legacy || !isTargetMap(x.set));
  for (const e of stored) {
    const r = index.get(`${e.family}/${e.id}`);
    const fits =
      r !== undefined && (r.rule.remote === 'contacted') === (e.remote !== undefined) && allowed(r, e.holder);
    if (!fits) {
      dropped++;
      if (e.leftMs >= DELETE_MARGIN_MS) elements.push(...deletes(e));
      continue;
    }
    kept++;
    const timeoutMs = r.rule.idleTimeout * 1000;
    if (e.leftMs > timeoutMs && e.leftMs >= DELETE_MARGIN_MS) {
      elements.push(...deletes(e), ...entryElements(e, { timeoutMs, expiresMs: timeoutMs }));
    } else if (legacy) {
      const expiresMs = Math.max(1, Math.min(e.leftMs, timeoutMs));
      elements.push(...entryElements(e, { timeoutMs, expiresMs }).filter((x) => isTargetMap(x.set)));
    }
  }
  if (remembered) {
    // Only entries of which the kernel has no element at all: broken groups are the repair's (consistency.ts),
    // and an entry the kernel holds keeps what the kernel says.
    const present = presentGroups(state);
    for (const x of remembered.entries) {
      const r = plan.rules.find((p) => p.rule.name === x.rule && p.family === x.family);
      const leftMs = Math.floor(x.expiresAt - (now ?? remembered.at));
      if (!r || leftMs <= 0 || !allowed(r, x.holder)) continue;
      if ((r.rule.remote === 'contacted') !== (x.remote !== undefined)) continue;
      if (present.has(`${x.family}/${r.id}/${x.remote ?? ''}`)) continue;
      const timeoutMs = r.rule.idleTimeout * 1000;
      const entry = {
        family: x.family,
        id: r.id,
        holder: x.holder,
        ...(x.remote ? { remote: x.remote } : {}),
        leftMs,
      };
      elements.push(...entryElements(entry, { timeoutMs, expiresMs: Math.min(leftMs, timeoutMs) }));
      kept++;
    }
  }
  // Addresses come from nft output or memory; re-check them before they go back into a script.
  const safe = (text: string) => text.split(' . ').every((k) => /^\d+$/.test(k) || parseAddress(k));
  return {
    elements: elements.filter((x) => safe(x.key) && (!x.value || parseAddress(x.value))),
    kept,
    dropped,
  };
}

/**
 * The element deletes that drop these entries of the trigger table now (a release), one group per entry the
 * plan knows; entries of rules the plan does not have are left out.
 */
export function releaseElements(plan: Plan, entries: readonly TriggerEntry[]): SeedElement[][] {
  const byName = new Map(plan.rules.map((r) => [`${r.family}/${r.rule.name}`, r]));
  const out: SeedElement[][] = [];
  for (const e of entries) {
    const r = byName.get(`${e.family}/${e.rule}`);
    if (!r) continue;
    // Addresses of a read table are canonical output of the core's parser, so they are safe in a script.
    out.push(
      entryElements({
        family: e.family,
        id: r.id,
        holder: e.holder,
        ...(e.remote !== undefined ? { remote: e.remote } : {}),
      }),
    );
  }
  return out;
}

/**
 * The element adds that set a live entry's expiry to `leftMs` from now. On a kernel that updates the expiry of
 * an existing element (Linux 6.12 and later) an add does exactly that, with no window where the entry is gone.
 */
export function entryExpiryElements(plan: Plan, entry: TriggerEntry, leftMs: number): SeedElement[] {
  const r = plan.rules.find((p) => p.rule.name === entry.rule && p.family === entry.family);
  if (!r || (r.rule.remote === 'contacted') !== (entry.remote !== undefined)) return [];
  const timeoutMs = r.rule.idleTimeout * 1000;
  const stored = {
    family: entry.family,
    id: r.id,
    holder: entry.holder,
    ...(entry.remote !== undefined ? { remote: entry.remote } : {}),
    leftMs,
  };
  const safe = (text: string) => text.split(' . ').every((k) => /^\d+$/.test(k) || parseAddress(k));
  return entryElements(stored, { timeoutMs, expiresMs: Math.max(1, Math.min(leftMs, timeoutMs)) }).filter(
    (x) => safe(x.key) && (!x.value || parseAddress(x.value)),
  );
}

/**
 * The entry sets as they are after these element operations (a change's deletes and adds), without listing
 * them again: deletes drop the element of that key, adds put it with their expiry (rounded down to the second,
 * as nft lists it).
 */
export function withElementChanges(state: KernelState, elements: readonly SeedElement[]): KernelState {
  if (elements.length === 0) return state;
  const sets = new Map(state.sets);
  const bySet = new Map<string, SeedElement[]>();
  for (const e of elements) bySet.set(e.set, [...(bySet.get(e.set) ?? []), e]);
  for (const [name, ops] of bySet) {
    const set = sets.get(name);
    if (!set) continue;
    const touched = new Set(ops.map((e) => e.key));
    const kept = set.elements.filter((e) => !touched.has(e.key.join(' . ')));
    const added = ops.flatMap((e) =>
      e.timeoutMs === undefined
        ? []
        : [
            {
              key: e.key.split(' . '),
              expiresS: Math.floor((e.expiresMs ?? e.timeoutMs) / 1000),
              timeoutS: Math.floor(e.timeoutMs / 1000),
              ...(e.value !== undefined ? { value: e.value } : {}),
            },
          ],
    );
    sets.set(name, { ...set, elements: [...kept, ...added] });
  }
  return { ...state, sets };
}
