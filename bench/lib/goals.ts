import type { GoalCheck } from './results.js';
import type { Summary } from './stats.js';

/** Which figure of a summary a goal is judged on. */
export type GoalStatistic = 'median' | 'max' | 'min';

/** The bound a goal sets on its figure. */
export type GoalBound = { readonly atMost: number } | { readonly atLeast: number };

/**
 * A goal judged on one figure of `summary`, remembering that figure so the report shows what was compared.
 * Undecided when nothing was measured.
 * @example goalOn('≤ 100 MB', rss, 'median', { atMost: 100 })
 */
export function goalOn(
  text: string,
  summary: Summary | undefined,
  statistic: GoalStatistic,
  bound: GoalBound,
): GoalCheck {
  if (!summary) return { text, met: undefined };
  const value = summary[statistic];
  const met = 'atMost' in bound ? value <= bound.atMost : value >= bound.atLeast;
  return { text, met, compared: { statistic, value } };
}
