/**
 * Proposals of learn mode against the static port forwards of other tools: a proposed rule whose open ports
 * another table already DNATs elsewhere would fight it, so the proposal says so, like a clash with a rule.
 */
import type { ForeignRuleset } from '../domain/foreign-ruleset.js';
import type { LearnProposal } from '../domain/learn/proposals.js';
import { findDnatOverlaps, type StaticDnatOverlap } from '../nft/ruleset-analysis.js';
import { describeError } from './context.js';

/** How long proposals wait for the ruleset before they come without the check. */
export const FOREIGN_RULESET_WAIT_MS = 3000;

/** Proposals with what could not be checked. */
export interface CheckedProposals {
  readonly proposals: readonly LearnProposal[];
  /** What the proposals could not take into account, in words (empty when everything was checked). */
  readonly notes: readonly string[];
}

/** One overlap in the words of a conflict with an existing rule. */
export function describeStaticForward(o: StaticDnatOverlap): string {
  const ports = o.ports === 'all' ? 'every port' : o.ports;
  return `its ${o.protocol} ports overlap a static forward of table ${o.family} ${o.table} (chain ${o.chain}) to ${o.target} (${o.protocol} ${ports})`;
}

/** Adds to each proposal's conflicts the static forwards of other tables over its open ports. Pure. */
export function withStaticForwards(proposals: readonly LearnProposal[], ruleset: unknown): LearnProposal[] {
  return proposals.map((p) => {
    const found = findDnatOverlaps(ruleset, [{ name: p.rule.name, open: p.rule.open }]);
    return found.length === 0
      ? p
      : { ...p, conflicts: [...p.conflicts, ...new Set(found.map(describeStaticForward))] };
  });
}

async function readBounded(read: ForeignRuleset, waitMs: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${waitMs} ms`)), waitMs);
    timer.unref();
  });
  try {
    return await Promise.race([read(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads the ruleset once, bounded in time, and checks the proposals against it. A failed or slow read leaves
 * the proposals as they are, with a note that static forwards were not checked: never without proposals.
 */
export async function checkStaticForwards(
  proposals: readonly LearnProposal[],
  read: ForeignRuleset | undefined,
  waitMs = FOREIGN_RULESET_WAIT_MS,
): Promise<CheckedProposals> {
  if (!read || proposals.length === 0) return { proposals, notes: [] };
  try {
    const ruleset = await readBounded(read, waitMs);
    return { proposals: withStaticForwards(proposals, ruleset), notes: [] };
  } catch (error) {
    return {
      proposals,
      notes: [`static port forwards of other tools could not be checked: ${describeError(error)}`],
    };
  }
}
