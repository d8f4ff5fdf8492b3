import type { Plan } from './plan.js';

/**
 * How many objects a plan puts in our table: every rule's chains (a few statements each), the dispatch maps'
 * elements and the fan-out chains. nft lists and loads a table in time that grows with these, so its timeouts
 * are given in proportion to them (src/adapters/nft.ts).
 */
export function tableObjects(plan: Plan): number {
  let objects = plan.fanouts.length;
  for (const r of plan.chained) objects += Object.values(r.chains).filter((c) => c !== undefined).length;
  for (const elements of Object.values(plan.dispatch)) objects += elements.length;
  return objects;
}
