/** The loop the request fuzzers share: generated requests in turn, each answered below 500, the refused ones harmless. */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Fixture } from '../service/fixture.js';

/** How a run of generated requests came out: how many were sent, and how many got each status. */
export interface RequestTally {
  readonly runs: number;
  readonly statuses: ReadonlyMap<number, number>;
}

/** How many requests at most, and until when. */
export interface RequestBudget {
  readonly numRuns: number;
  readonly timeLimitMs: number;
}

/** One generated request: what `send` sends, named in failure messages by `label`. */
export interface RequestCase<T> {
  send(value: T): Promise<Response>;
  label(value: T): string;
  /**
   * The checks of one answer beyond "below 500"; `expectUnchanged` fails unless the config file and the running
   * config are exactly as they were before the request.
   */
  check(value: T, res: Response, expectUnchanged: () => void): Promise<void> | void;
}

/**
 * Sends requests generated from `values` one at a time against the fixture's service until the budget is spent,
 * and checks each answer. The time limit is a deadline checked before each request, not fast-check's
 * interruption: an interrupted request would go on beside the next one.
 * @example const { runs, statuses } = await fuzzRequests(fx, posts, { numRuns: 2_000, timeLimitMs: 4_000 }, { send, label, check })
 */
export async function fuzzRequests<T>(
  fx: Fixture,
  values: fc.Arbitrary<T>,
  budget: RequestBudget,
  request: RequestCase<T>,
): Promise<RequestTally> {
  const deadline = Date.now() + budget.timeLimitMs;
  let runs = 0;
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(values, async (value) => {
      if (Date.now() > deadline) return;
      runs++;
      const fileBefore = readFileSync(fx.configPath);
      const configBefore = fx.service.config;
      const label = request.label(value);
      const res = await request.send(value);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect(res.status, label).toBeLessThan(500);
      await request.check(value, res, () => {
        expect(readFileSync(fx.configPath).equals(fileBefore), label).toBe(true);
        expect(fx.service.config, label).toBe(configBefore);
      });
    }),
    { numRuns: budget.numRuns },
  );
  return { runs, statuses };
}
