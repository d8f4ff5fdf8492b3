import type { Summary } from './stats.js';

/** How a part of the bench ended. */
export type PartStatus = 'ok' | 'partial' | 'skipped' | 'failed';

/** A goal from the issue and whether this run met it (undefined: not decidable from what was measured). */
export interface GoalCheck {
  readonly text: string;
  readonly met: boolean | undefined;
  /**
   * The figure the verdict was judged on, in the row's unit, when it is not simply the median the tables show
   * (a p99, a maximum, a total over the whole sampling time): the Goals table shows this figure.
   */
  readonly compared?: { readonly statistic: string; readonly value: number };
}

/**
 * One line of a results table: a figure measured for the subject and for its baseline in the same run.
 * `ratio` is always subject median ÷ baseline median; `better` says which direction is good.
 */
export interface Row {
  readonly id: string;
  /** Rows of one group share a table in RESULTS.md. */
  readonly group: string;
  readonly label: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  readonly baselineLabel: string;
  readonly baseline: Summary | undefined;
  readonly value: Summary | undefined;
  readonly ratio: number | undefined;
  /** Smallest and largest ratio of paired repetitions, where the repetitions were paired. */
  readonly ratioRange?: readonly [number, number];
  readonly goal?: GoalCheck;
  /** Why a figure is missing, or what to keep in mind when reading it. */
  readonly note?: string;
  /** Extra measured figures kept in the JSON (never shown as a claim). */
  readonly extra?: Readonly<Record<string, Summary | number | string | undefined>>;
}

/** The outcome of one part (B1 to B7). */
export interface PartResult {
  readonly id: 'b1' | 'b2' | 'b3' | 'b4' | 'b5' | 'b6' | 'b7';
  readonly title: string;
  status: PartStatus;
  /** Why the part was skipped, failed or is partial. */
  reason?: string;
  readonly method: string[];
  readonly rows: Row[];
  /** Findings written from evidence captured in this run (profiles, ruleset shape). */
  readonly findings: string[];
  /** Raw measurements for the JSON file. */
  readonly raw: Record<string, unknown>;
  durationS?: number;
}

/** Creates an empty part result. */
export function newPart(id: PartResult['id'], title: string): PartResult {
  return { id, title, status: 'ok', method: [], rows: [], findings: [], raw: {} };
}

/** What the run was done on and how. */
export interface RunMeta {
  readonly startedAt: string;
  finishedAt?: string;
  readonly mode: 'full' | 'quick';
  readonly machine: Readonly<Record<string, string>>;
  readonly versions: Readonly<Record<string, string>>;
  readonly loadBefore: readonly number[];
  loadAfter?: readonly number[];
  /** Other processes that used CPU while the bench ran (the machine is shared). */
  busyNeighbours?: string[];
  readonly notes: string[];
}

/** Everything one run produced. */
export interface RunResults {
  readonly meta: RunMeta;
  readonly parts: PartResult[];
}
