import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EntryKeeper } from './entry-keeper.js';

/** A keeper on fake timers whose rounds report `next()` as their next check and are recorded by start time. */
function harness(next: () => number, roundMs = 10) {
  const rounds: number[] = [];
  const keeper = new EntryKeeper({
    clock: () => Date.now(),
    refresh: async () => {
      rounds.push(Date.now());
      await new Promise((resolve) => setTimeout(resolve, roundMs));
      return { nextCheckAt: next() };
    },
  });
  return { keeper, rounds };
}

describe('EntryKeeper', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sleeps as long as a round says while nothing is open, and wakes early when a read sees an entry', async () => {
    const quiet = () => Date.now() + 600_000;
    const h = harness(quiet);
    h.keeper.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(h.rounds).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(300_000);
    expect(h.rounds).toHaveLength(1);
    // A read saw an entry that is due for its refresh in 5 s.
    const due = Date.now() + 5_000;
    h.keeper.dueBy(due);
    await vi.advanceTimersByTimeAsync(4_900);
    expect(h.rounds).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(h.rounds).toEqual([1_000_000, due]);
    await h.keeper.stop();
  });

  it('never puts a round later than it was, and remembers a dueBy that came during a round', async () => {
    let next = () => Date.now() + 10_000;
    const h = harness(() => next(), 1_000);
    h.keeper.start();
    await vi.advanceTimersByTimeAsync(1_100);
    // Due at +10 s: a later dueBy changes nothing.
    h.keeper.dueBy(Date.now() + 60_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.rounds).toHaveLength(2);
    // During the second round (it takes 1 s), a read wants one 3 s from now, earlier than the round will say.
    next = () => Date.now() + 600_000;
    const wanted = Date.now() + 3_000;
    h.keeper.dueBy(wanted);
    await vi.advanceTimersByTimeAsync(3_100);
    expect(h.rounds).toHaveLength(3);
    expect(h.rounds[2]).toBe(wanted);
    // Stopping waits for the round in progress.
    const stopping = h.keeper.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    await stopping;
    h.keeper.dueBy(Date.now());
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.rounds).toHaveLength(3);
  });
});
