/**
 * The first rule or the last one gone as one nft transaction: the plan of no rule chains on one side has no
 * dispatch map, so the base chains change with the maps they look up, which the rule delta (delta.ts) leaves to
 * the full apply. This delta renders the same change from the plan the kernel holds instead of from a listing of
 * the whole table: the kernel ends up with exactly what a full apply of the new config makes, and the shared
 * sets (the entries, the records) are not touched. The global switch is the rule delta's: switched off, a plan
 * keeps its rule chains and maps (plan.ts), and only the base chains' rules change.
 */
import { TABLE_NAME } from '../domain/types.js';
import type { PlanDelta } from './delta.js';
import { type Plan, SHARED_SET_NAMES } from './plan.js';
import type { SeedElement } from './render.js';
import { baseChainNames, elementLine, kernelDispatchMaps, renderTable } from './render.js';

const T = `inet ${TABLE_NAME}`;

/** The rule and fan-out chains of a plan, fan-out chains first (they jump to rule chains). */
function ruleChainNames(plan: Plan): string[] {
  return [
    ...plan.fanouts.map((f) => f.name),
    ...plan.chained.flatMap((r) => Object.values(r.chains).filter((c): c is string => !!c)),
  ];
}

/** A declaration of one shared set or map on one line: the sets are kept, so it is left out of the delta. */
function declaresSharedSet(line: string): boolean {
  const name = /^\t(?:set|map) (\S+) \{.*\}$/.exec(line)?.[1];
  return name !== undefined && SHARED_SET_NAMES.includes(name);
}

/**
 * The transaction from `before` (what the last apply installed) to `after` when one of them plans no rule
 * chain (the first rule, or the last one gone, switched on or off), with the entry element operations the change calls
 * for; undefined otherwise (the rule delta or the full apply then). Base chains are flushed and declared again
 * from the new plan; the old plan's dispatch maps and chains are deleted; the new plan's are declared.
 * @example renderSwitchDelta(planConfig(config), planConfig({ ...config, rules: [] }), [])
 */
export function renderSwitchDelta(
  before: Plan,
  after: Plan,
  entries: readonly SeedElement[],
): PlanDelta | undefined {
  if (before.chained.length > 0 && after.chained.length > 0) return undefined;
  const baseBefore = baseChainNames(before);
  const baseAfter = new Set(baseChainNames(after));
  const deleted = ruleChainNames(before);
  const added = ruleChainNames(after);
  const count = (plan: Plan) => Object.values(plan.dispatch).reduce((n, list) => n + list.length, 0);
  // The new plan's maps, rule chains and base chains, without the shared sets, which stay as they are.
  const declared = renderTable(after)
    .split('\n')
    .filter((line) => line !== '' && !declaresSharedSet(line));
  const lines = [
    // The base and lookup chains reference the dispatch maps (and `forward` the `closing` chain): emptied first.
    ...baseBefore.map((name) => `flush chain ${T} ${name}`),
    // The maps' verdicts reference the rule chains deleted after them.
    ...kernelDispatchMaps(before).map((m) => `delete map ${T} ${m.name}`),
    ...deleted.map((name) => `delete chain ${T} ${name}`),
    ...baseBefore.filter((name) => !baseAfter.has(name)).map((name) => `delete chain ${T} ${name}`),
    ...declared,
    ...entries.filter((e) => e.timeoutMs === undefined).map(elementLine),
    ...entries.filter((e) => e.timeoutMs !== undefined).map(elementLine),
  ];
  return {
    script: `${lines.join('\n')}\n`,
    chainsAdded: added,
    chainsReplaced: [],
    chainsDeleted: deleted,
    elementsAdded: count(after),
    elementsDeleted: count(before),
  };
}
