import { describe, expect, it } from 'vitest';
import { memoryGoal } from './b3-service.js';
import { summarize } from './lib/stats.js';

/** Thirty one-second VmRSS samples at rest, with the given outliers at the end. */
function samplesAt(levelMb: number, ...outliers: number[]): number[] {
  return [...Array.from({ length: 30 - outliers.length }, () => levelMb), ...outliers];
}

describe('the resident-memory goal of the service at rest', () => {
  it('is met by a service that rests at 92 MB under a 100 MB goal, though one sample saw a collection peak', () => {
    const goal = memoryGoal(summarize(samplesAt(92, 104)), 100);
    expect(goal.met).toBe(true);
    expect(goal.compared).toEqual({ statistic: 'median', value: 92 });
  });

  it.each([
    [samplesAt(101), 100, false],
    [samplesAt(100), 100, true],
    [samplesAt(99, 120, 130), 100, true],
    [samplesAt(49.9), 50, true],
    [samplesAt(50.1), 50, false],
  ])('judges the resting level (median) of %j against %d MB: met %s', (samples, goalMb, met) => {
    expect(memoryGoal(summarize(samples), goalMb).met).toBe(met);
  });

  it('is undecided when nothing was sampled', () => {
    expect(memoryGoal(summarize([]), 50).met).toBeUndefined();
  });
});
