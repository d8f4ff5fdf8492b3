/** Reads that never wait on a slow kernel: the last known table answers when a fresh one is late. */
import type { TriggerTable } from '../domain/types.js';

/** How long a read waits for a fresh table before it answers with the last one. */
export const FRESH_READ_WAIT_MS = 1_500;

/**
 * The fresh table if it arrives within `waitMs`, else the last table known then, marked `stale` (its `at` says
 * how old it is). Without a last table the fresh one is awaited however long it takes; a failing fresh read
 * that loses the race is left to its other callers.
 * @example await freshOrLast(readNow(), () => tracker.last, 1_500)
 */
export function freshOrLast(
  fresh: Promise<TriggerTable>,
  last: () => TriggerTable | undefined,
  waitMs: number,
): Promise<TriggerTable> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const table = last();
      if (table) resolve({ ...table, stale: true });
    }, waitMs);
    fresh.then(
      (table) => {
        clearTimeout(timer);
        resolve(table);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
