import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Sizes, repetitions and time budgets of one run. */
export interface BenchPlan {
  readonly mode: 'full' | 'quick';
  readonly reps: number;
  readonly b1: {
    readonly ruleSizes: readonly number[];
    /** The largest number of active entries and of miniupnpd mappings. */
    readonly manyEntries: number;
    readonly udpSeconds: number;
    readonly tcpSeconds: number;
    /** Stop starting new rounds after this long (the part reports how many rounds it did). */
    readonly budgetS: number;
    /** How long miniupnpd may spend adding mappings through upnpc before the rest are installed with nft. */
    readonly upnpcBudgetS: number;
  };
  readonly b2: {
    readonly trialsPerGap: number;
    readonly gapsMs: readonly number[];
    readonly openTrials: number;
    readonly budgetS: number;
  };
  readonly b3: {
    readonly ruleSizes: readonly number[];
    readonly entrySizes: readonly number[];
    /** Per size: stop repeating once this much time went into it (at least one repetition runs). */
    readonly sizeBudgetS: number;
    readonly serviceSeconds: number;
  };
  readonly b4: { readonly rules: number; readonly entries: number; readonly iterations: number };
  /** B6: the table sizes a change is timed at, and the rounds of changes per size. */
  readonly b6: { readonly ruleSizes: readonly number[]; readonly reps: number };
  /** Triggers whose rows are timed on the screen, and toggles of a rule's switch. */
  readonly b7: { readonly triggers: number; readonly toggles: number };
}

/** The plan of `npm run bench` and of `npm run bench -- --quick`. */
export function benchPlan(quick: boolean): BenchPlan {
  return quick
    ? {
        mode: 'quick',
        reps: 3,
        b1: {
          ruleSizes: [1, 1000],
          manyEntries: 1000,
          udpSeconds: 1,
          tcpSeconds: 1,
          budgetS: 240,
          upnpcBudgetS: 5,
        },
        b2: { trialsPerGap: 100, gapsMs: [0, 1, 5], openTrials: 5, budgetS: 60 },
        b3: { ruleSizes: [100, 1000], entrySizes: [1000, 10_000], sizeBudgetS: 30, serviceSeconds: 10 },
        b4: { rules: 10_000, entries: 100_000, iterations: 5 },
        b6: { ruleSizes: [3, 100], reps: 3 },
        b7: { triggers: 20, toggles: 6 },
      }
    : {
        mode: 'full',
        reps: 5,
        b1: {
          ruleSizes: [1, 100, 1000, 10_000],
          manyEntries: 10_000,
          udpSeconds: 1.5,
          tcpSeconds: 1,
          budgetS: 600,
          upnpcBudgetS: 20,
        },
        b2: { trialsPerGap: 1000, gapsMs: [0, 1, 5], openTrials: 20, budgetS: 240 },
        b3: {
          ruleSizes: [100, 1000, 10_000],
          entrySizes: [1000, 10_000, 65_000],
          sizeBudgetS: 60,
          serviceSeconds: 30,
        },
        b4: { rules: 10_000, entries: 100_000, iterations: 9 },
        b6: { ruleSizes: [3, 100, 1000, 10_000], reps: 20 },
        b7: { triggers: 100, toggles: 20 },
      };
}

/** A cleanup step, run in reverse order of registration. */
type Undo = () => Promise<void> | void;

/**
 * What every part shares: the plan, a scratch directory, logging, and the cleanup list that removes every
 * namespace, process and file the run created, also on failure or interruption.
 */
export class BenchContext {
  readonly scratch: string;
  readonly #undo: { name: string; run: Undo }[] = [];
  #closed = false;

  constructor(
    readonly plan: BenchPlan,
    readonly log: (line: string) => void,
  ) {
    this.scratch = mkdtempSync(join(tmpdir(), 'porttrigger-bench-'));
    this.defer('scratch directory', () => rmSync(this.scratch, { recursive: true, force: true }));
  }

  /** Registers a cleanup step; returns a function that runs it now (once) and unregisters it. */
  defer(name: string, run: Undo): () => Promise<void> {
    const entry = { name, run };
    this.#undo.push(entry);
    return async () => {
      const i = this.#undo.indexOf(entry);
      if (i < 0) return;
      this.#undo.splice(i, 1);
      await run();
    };
  }

  /** Registers a child process: it is killed (SIGTERM, then SIGKILL) at cleanup unless it exited already. */
  track(child: ChildProcess, name: string): () => Promise<void> {
    return this.defer(name, () => stopChild(child));
  }

  /** Runs every cleanup step, newest first; failures are logged, not thrown. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    while (this.#undo.length > 0) {
      const step = this.#undo.pop()!;
      try {
        await step.run();
      } catch (error) {
        this.log(`cleanup of ${step.name} failed: ${(error as Error).message}`);
      }
    }
  }
}

/** Stops a child process by its id: SIGTERM, then SIGKILL after a second. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
  await exited;
  clearTimeout(timer);
}
