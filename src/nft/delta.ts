/**
 * One rule's change as one nft transaction: what differs between the plan the kernel holds and the next one
 * (rule chains, fan-out chains, dispatch map elements, the entries the change closes), and nothing else. The
 * global switch changes the base chains' rules alone (off, they look up no dispatch map): they are flushed and
 * declared again. A change that reshapes the base chains is left to the switch delta or the full apply: a first
 * rule of a protocol or the last one gone, a first one-port element or range element of a protocol in a dispatch
 * map or the last one gone (the kernel holds exactly the dispatch maps that have elements), a learning capture.
 */
import { TABLE_NAME } from '../domain/types.js';
import type { Plan, RulePlan } from './plan.js';
import type { SeedElement } from './render.js';
import {
  baseChainNames,
  baseChainsText,
  dispatchElementText,
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

/**
 * The transaction that takes the kernel from `before` (what the last apply installed) to `after`, with the
 * entry element operations the change calls for; undefined when the base chains differ (then a full apply).
 * @example renderDelta(planConfig(config), planConfig(withRuleEnabled(config, 'game', false)), [])
 */
export function renderDelta(
  before: Plan,
  after: Plan,
  entries: readonly SeedElement[],
): PlanDelta | undefined {
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
  const elementDeletes: string[] = [];
  const elementAdds: string[] = [];
  let elementsAdded = 0;
  let elementsDeleted = 0;
  for (const map of new Set([...was.elements.keys(), ...now.elements.keys()])) {
    const old = was.elements.get(map) ?? new Set<string>();
    const next = now.elements.get(map) ?? new Set<string>();
    // A map element is deleted by its key: the port or range before the colon.
    const gone = [...old].filter((e) => !next.has(e)).map((e) => e.slice(0, e.indexOf(' : ')));
    const fresh = [...next].filter((e) => !old.has(e));
    if (gone.length > 0) elementDeletes.push(`delete element ${T} ${map} { ${gone.join(', ')} }`);
    if (fresh.length > 0) elementAdds.push(`add element ${T} ${map} { ${fresh.join(', ')} }`);
    elementsAdded += fresh.length;
    elementsDeleted += gone.length;
  }
  const body = (name: string) => now.chains.get(name)!.lines();
  const chainBlock = (name: string) => [`\tchain ${name} {`, ...body(name).map((l) => `\t\t${l}`), '\t}'];
  // Fan-out chains jump to rule chains: they go first, and are declared last.
  const fanFirst = (a: string, b: string) => Number(!a.startsWith('fan')) - Number(!b.startsWith('fan'));
  const declared = [...replaced, ...added].sort((a, b) => -fanFirst(a, b));
  const lines = [
    // The base chains go first: the rules of the lookups they lose may reference chains deleted below.
    ...(rebased ? baseChainNames(before).map((name) => `flush chain ${T} ${name}`) : []),
    // Dispatch elements next: they reference the chains deleted below.
    ...elementDeletes,
    ...replaced.map((name) => `flush chain ${T} ${name}`),
    ...deleted.sort(fanFirst).map((name) => `delete chain ${T} ${name}`),
    ...(declared.length > 0 ? [`table ${T} {`, ...declared.flatMap(chainBlock), '}'] : []),
    ...elementAdds,
    // Declared after the elements they look up are added.
    ...(rebased ? [`table ${T} {`, now.base, '}'] : []),
    ...entries.filter((e) => e.timeoutMs === undefined).map(elementLine),
    ...entries.filter((e) => e.timeoutMs !== undefined).map(elementLine),
  ];
  return {
    script: lines.length > 0 ? `${lines.join('\n')}\n` : '',
    chainsAdded: added,
    chainsReplaced: replaced,
    chainsDeleted: deleted,
    elementsAdded,
    elementsDeleted,
  };
}
