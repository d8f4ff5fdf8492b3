/** Median, min and max of repeated measurements, with the samples kept for the JSON. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
  readonly samples: readonly number[];
}

/**
 * Summarises samples; undefined when there are none (a figure that was not measured has no summary).
 * @example summarize([3, 1, 2]) // { median: 2, min: 1, max: 3, n: 3, samples: [3, 1, 2] }
 */
export function summarize(samples: readonly number[]): Summary | undefined {
  const finite = samples.filter((x) => Number.isFinite(x));
  if (finite.length === 0) return undefined;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, n: finite.length, samples: finite };
}

/** value ÷ baseline of two medians; undefined unless both exist and the baseline is not zero. */
export function ratioOf(value: Summary | undefined, baseline: Summary | undefined): number | undefined {
  if (!value || !baseline || baseline.median === 0) return undefined;
  return value.median / baseline.median;
}

/** Elapsed milliseconds of a high-resolution start mark. */
export function elapsedMs(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e6;
}

/** Times one async call in milliseconds. */
export async function timeMs<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { ms: elapsedMs(start), value };
}
