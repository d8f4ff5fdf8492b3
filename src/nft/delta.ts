/**
 * One rule's change as one nft transaction: what differs between the plan the kernel holds and the next one
 * (rule chains, fan-out chains, dispatch map elements, the entries the change closes), and nothing else. The
 * global switch changes the base chains' rules alone (off, they look up no dispatch map): they are flushed and
 * declared again. A change that reshapes the base chains is left to the switch delta or the full apply: a first
 * rule of a protocol or the last one gone, a first one-port element or range element of a protocol in a dispatch
 * map or the last one gone (the kernel holds exactly the dispatch maps that have elements), a learning capture.
 */
import { TABLE_NAME } from '../domain/types.js';
import type { DispatchElement, DispatchMap, Plan, RulePlan } from './plan.js';
import { DISPATCH_MAPS } from './plan.js';
import { type PlanPatch, patchBetween } from './plan-patch.js';
import type { SeedElement } from './render.js';
import {
  baseChainNames,
  baseChainsText,
  dispatchElementText,
  dispatchKeysOf,
  dispatchMapName,
  elementLine,
  kernelDispatchMaps,
  ruleChains,
} from './render.js';

const T = `inet ${TABLE_NAME}`;

/** The objects of a plan by name, kept per plan so that the next change compares against it without work. */
interface PlanIndex {
  /** Rule and fan-out chains: the rule plan that renders one (its rule object says whether it changed). */
  readonly chains: ReadonlyMap<string, { readonly owner: RulePlan | string; readonly lines: () => string[] }>;
  /** Every dispatch map element as text, by kernel map name. */
  readonly elements: ReadonlyMap<string, ReadonlySet<string>>;
  readonly base: string;
  /** The base and lookup chains with the dispatch maps they may look up: the same, the switch is a flush. */
  readonly shape: string;
}

const indexes = new WeakMap<Plan, PlanIndex>();

function indexOf(plan: Plan): PlanIndex {
  const known = indexes.get(plan);
  if (known) return known;
  const chains = new Map<string, { owner: RulePlan | string; lines: () => string[] }>();
  for (const r of plan.chained) {
    // Lines are rendered only for the chains a change adds or compares: most rules are the same objects.
    const lines = (name: string) => ruleChains(r).find(([n]) => n === name)?.[1] ?? [];
    for (const name of Object.values(r.chains)) {
      if (name) chains.set(name, { owner: r, lines: () => lines(name) });
    }
  }
  for (const f of plan.fanouts) {
    const lines = f.targets.map((t) => `jump ${t}`);
    chains.set(f.name, { owner: lines.join('\n'), lines: () => lines });
  }
  const elements = new Map<string, Set<string>>();
  for (const m of kernelDispatchMaps(plan))
    elements.set(m.name, new Set(m.elements.map(dispatchElementText)));
  const shape = [...baseChainNames(plan), '', ...elements.keys()].join(' ');
  const index = { chains, elements, base: baseChainsText(plan), shape };
  indexes.set(plan, index);
  return index;
}

/**
 * Whether the two plans' configs differ in the switch and the rules alone: every other setting (interfaces,
 * mode, families) may shape the rule chains too, whose rules a rule's own object does not say.
 */
function switchedAlone(before: Plan, after: Plan): boolean {
  const a = before.config as unknown as Record<string, unknown>;
  const b = after.config as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => k === 'enabled' || k === 'rules' || a[k] === b[k]);
}

function sameChain(a: RulePlan | string, b: RulePlan | string): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  // The chain's name carries the family and the rule's number; its lines depend on the rule alone.
  return a.rule === b.rule;
}

/** What a delta touches, for the report and the tests. */
export interface PlanDelta {
  readonly script: string;
  readonly chainsAdded: readonly string[];
  readonly chainsReplaced: readonly string[];
  readonly chainsDeleted: readonly string[];
  readonly elementsAdded: number;
  readonly elementsDeleted: number;
}

/** What differs between two plans, as the script needs it. */
interface Difference {
  readonly added: string[];
  readonly replaced: string[];
  readonly deleted: string[];
  /** The lines of a chain the new plan declares. */
  readonly body: (name: string) => string[];
  readonly elementDeletes: string[];
  readonly elementAdds: string[];
  readonly elementsAdded: number;
  readonly elementsDeleted: number;
  readonly rebased: boolean;
  /** The new plan's base chains, when `rebased`. */
  readonly base: () => string;
}

/** Every dispatch map element's change as the add and delete lines of its kernel map. */
function elementLines(
  maps: Iterable<string>,
  gone: ReadonlyMap<string, readonly string[]>,
  fresh: ReadonlyMap<string, readonly string[]>,
): Pick<Difference, 'elementDeletes' | 'elementAdds' | 'elementsAdded' | 'elementsDeleted'> {
  const elementDeletes: string[] = [];
  const elementAdds: string[] = [];
  let elementsAdded = 0;
  let elementsDeleted = 0;
  for (const map of maps) {
    const old = gone.get(map) ?? [];
    const next = fresh.get(map) ?? [];
    const oldSet = new Set(old);
    const nextSet = new Set(next);
    // A map element is deleted by its key: the port or range before the colon.
    const deletes = old.filter((e) => !nextSet.has(e)).map((e) => e.slice(0, e.indexOf(' : ')));
    const adds = next.filter((e) => !oldSet.has(e));
    if (deletes.length > 0) elementDeletes.push(`delete element ${T} ${map} { ${deletes.join(', ')} }`);
    if (adds.length > 0) elementAdds.push(`add element ${T} ${map} { ${adds.join(', ')} }`);
    elementsAdded += adds.length;
    elementsDeleted += deletes.length;
  }
  return { elementDeletes, elementAdds, elementsAdded, elementsDeleted };
}

/** The difference of two whole plans: every chain and element of both compared (their indexes kept). */
function wholeDifference(before: Plan, after: Plan): Difference | undefined {
  const was = indexOf(before);
  const now = indexOf(after);
  // The base chains look up every dispatch map that has elements: with them the same, so are the maps. With
  // the same chains and maps, only the switch (or the interfaces) changed their rules: they are declared again.
  const rebased = was.base !== now.base;
  if (rebased && (was.shape !== now.shape || before.learn !== after.learn || !switchedAlone(before, after)))
    return undefined;
  const added: string[] = [];
  const replaced: string[] = [];
  const deleted: string[] = [];
  for (const [name, chain] of now.chains) {
    const old = was.chains.get(name);
    if (!old) added.push(name);
    else if (!sameChain(old.owner, chain.owner) && old.lines().join('\n') !== chain.lines().join('\n'))
      replaced.push(name);
  }
  for (const name of was.chains.keys()) if (!now.chains.has(name)) deleted.push(name);
  const maps = new Set([...was.elements.keys(), ...now.elements.keys()]);
  const listed = (index: PlanIndex) => new Map([...index.elements].map(([map, set]) => [map, [...set]]));
  return {
    added,
    replaced,
    deleted,
    body: (name) => now.chains.get(name)!.lines(),
    ...elementLines(maps, listed(was), listed(now)),
    rebased,
    base: () => now.base,
  };
}

/** The kernel dispatch maps' element counts of a dispatch, kept per dispatch object (a patch keeps its own). */
const counts = new WeakMap<Plan['dispatch'], ReadonlyMap<string, number>>();

function kernelMapOf(map: DispatchMap, e: DispatchElement): string {
  return dispatchMapName(map, e.protocol, dispatchKeysOf(e));
}

function countsOf(plan: Plan): ReadonlyMap<string, number> {
  let known = counts.get(plan.dispatch);
  if (!known) {
    known = new Map(kernelDispatchMaps(plan).map((m) => [m.name, m.elements.length]));
    counts.set(plan.dispatch, known);
  }
  return known;
}

function listOf(lists: Map<string, string[]>, name: string): string[] {
  let list = lists.get(name);
  if (!list) {
    list = [];
    lists.set(name, list);
  }
  return list;
}

/** The kernel maps that hold elements, in the order the table declares them. */
function kernelMapNames(present: ReadonlyMap<string, number>): string[] {
  return DISPATCH_MAPS.flatMap((map) =>
    (['tcp', 'udp'] as const).flatMap((protocol) =>
      (['ports', 'ranges'] as const)
        .map((keys) => dispatchMapName(map, protocol, keys))
        .filter((name) => (present.get(name) ?? 0) > 0),
    ),
  );
}

/**
 * The difference of a plan and the plan patched from it (plan-patch.ts): only the patch's rule plans and
 * elements are compared, which is what the whole comparison finds (the rest are the same objects). Undefined
 * when the kernel maps that hold elements change (the whole comparison decides then).
 */
function patchDifference(before: Plan, after: Plan, patch: PlanPatch): Difference | undefined {
  const gone = new Map<string, string[]>();
  const fresh = new Map<string, string[]>();
  const next = new Map(countsOf(before));
  for (const map of DISPATCH_MAPS) {
    for (const e of patch.gone[map]) {
      const name = kernelMapOf(map, e);
      listOf(gone, name).push(dispatchElementText(e));
      next.set(name, (next.get(name) ?? 0) - 1);
    }
    for (const e of patch.fresh[map]) {
      const name = kernelMapOf(map, e);
      listOf(fresh, name).push(dispatchElementText(e));
      next.set(name, (next.get(name) ?? 0) + 1);
    }
  }
  const maps = kernelMapNames(next);
  if (maps.join(' ') !== kernelMapNames(countsOf(before)).join(' ')) return undefined;
  counts.set(after.dispatch, next);
  const rebased =
    before.config.enabled !== after.config.enabled && baseChainsText(before) !== baseChainsText(after);
  const chainsOf = (plans: readonly RulePlan[]) => {
    const out = new Map<string, { plan: RulePlan; lines: string[] }>();
    for (const p of plans) for (const [name, lines] of ruleChains(p)) out.set(name, { plan: p, lines });
    return out;
  };
  const was = chainsOf(patch.removed);
  const now = chainsOf(patch.added);
  const added: string[] = [];
  const replaced: string[] = [];
  for (const [name, chain] of now) {
    const old = was.get(name);
    if (!old) added.push(name);
    else if (old.plan.rule !== chain.plan.rule && old.lines.join('\n') !== chain.lines.join('\n'))
      replaced.push(name);
  }
  added.push(...patch.fanoutsAdded.map((f) => f.name));
  const deleted = [...was.keys()].filter((name) => !now.has(name));
  deleted.push(...patch.fanoutsGone.map((f) => f.name));
  const fanouts = new Map(patch.fanoutsAdded.map((f) => [f.name, f.targets.map((t) => `jump ${t}`)]));
  return {
    added,
    replaced,
    deleted,
    body: (name) => now.get(name)?.lines ?? fanouts.get(name) ?? [],
    ...elementLines(maps, gone, fresh),
    rebased,
    base: () => baseChainsText(after),
  };
}

/**
 * The transaction that takes the kernel from `before` (what the last apply installed) to `after`, with the
 * entry element operations the change calls for; undefined when the base chains differ (then a full apply).
 * A plan patched from `before` (plan-patch.ts) is compared by its patch alone: the same script, in time that
 * grows with the change.
 * @example renderDelta(planConfig(config), planConfig(withRuleEnabled(config, 'game', false)), [])
 */
export function renderDelta(
  before: Plan,
  after: Plan,
  entries: readonly SeedElement[],
): PlanDelta | undefined {
  const patch = before.learn === after.learn ? patchBetween(before, after) : undefined;
  const diff = (patch && patchDifference(before, after, patch)) ?? wholeDifference(before, after);
  if (!diff) return undefined;
  const { added, replaced, deleted, rebased } = diff;
  const chainBlock = (name: string) => [
    `\tchain ${name} {`,
    ...diff.body(name).map((l) => `\t\t${l}`),
    '\t}',
  ];
  // Fan-out chains jump to rule chains: they go first, and are declared last.
  const fanFirst = (a: string, b: string) => Number(!a.startsWith('fan')) - Number(!b.startsWith('fan'));
  const declared = [...replaced, ...added].sort((a, b) => -fanFirst(a, b));
  const lines = [
    // The base chains go first: the rules of the lookups they lose may reference chains deleted below.
    ...(rebased ? baseChainNames(before).map((name) => `flush chain ${T} ${name}`) : []),
    // Dispatch elements next: they reference the chains deleted below.
    ...diff.elementDeletes,
    ...replaced.map((name) => `flush chain ${T} ${name}`),
    ...deleted.sort(fanFirst).map((name) => `delete chain ${T} ${name}`),
    ...(declared.length > 0 ? [`table ${T} {`, ...declared.flatMap(chainBlock), '}'] : []),
    ...diff.elementAdds,
    // Declared after the elements they look up are added.
    ...(rebased ? [`table ${T} {`, diff.base(), '}'] : []),
    ...entries.filter((e) => e.timeoutMs === undefined).map(elementLine),
    ...entries.filter((e) => e.timeoutMs !== undefined).map(elementLine),
  ];
  return {
    script: lines.length > 0 ? `${lines.join('\n')}\n` : '',
    chainsAdded: added,
    chainsReplaced: replaced,
    chainsDeleted: deleted,
    elementsAdded: diff.elementsAdded,
    elementsDeleted: diff.elementsDeleted,
  };
}
