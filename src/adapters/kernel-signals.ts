/**
 * The kernel's signals that the trigger table may have changed: `conntrack -E` for new connections that carry
 * the notify bit (triggers, conflicts, blocked triggers), and `nft monitor` for changes of our table by another
 * tool. Both are long-lived programs that print nothing while nothing happens.
 */
import type {
  DatapathSignal,
  DatapathSignals,
  DatapathSignalsStatus,
  SignalStreamState,
} from '../domain/datapath-signals.js';
import { TABLE_NAME } from '../domain/types.js';
import { CT_MARK } from '../nft/marks.js';
import { watchConntrack } from './conntrack-events.js';
import { onPath } from './exec.js';
import { type LineWatch, watchLines } from './line-watch.js';

/** How many of our own nft writers are remembered: far more than can run between two monitor lines. */
const OWN_WRITERS_KEPT = 256;
/**
 * A stream that (re)starts has subscribed a moment after its process spawned: whatever happened in between is
 * caught by one read this long after the start.
 */
const CATCH_UP_MS = 300;

/** How long `start` waits for the programs to run; a slow start is still reported by the status later. */
const START_WAIT_MS = 3_000;

/** The process ids of our own nft writes, so that the monitor can skip the changes we made. */
export class OwnWriters {
  readonly #pids: number[] = [];

  /** Remembers one writer (the nft runner's `onWrite`). */
  add(pid: number): void {
    this.#pids.push(pid);
    if (this.#pids.length > OWN_WRITERS_KEPT) this.#pids.shift();
  }

  has(pid: number): boolean {
    return this.#pids.includes(pid);
  }
}

/** Options for {@link createKernelSignals}. */
export interface KernelSignalsOptions {
  readonly netns?: string;
  readonly writers: OwnWriters;
  readonly conntrackBinary?: string;
  readonly nftBinary?: string;
  readonly clock?: () => number;
}

const GENERATION = /^# new generation \d+ by process (\d+)/;

/**
 * Reads `nft monitor` output: lines of one transaction, then `# new generation N by process PID (comm)`.
 * Calls `onChange` for each transaction that touched our table and was not written by one of `writers`.
 */
export function monitorReader(writers: OwnWriters, onChange: () => void): (line: string) => void {
  let ours = false;
  const mention = ` inet ${TABLE_NAME}`;
  return (line) => {
    const generation = GENERATION.exec(line);
    if (!generation) {
      // `delete table inet porttrigger`, `delete element inet porttrigger hold4 {…}`, `delete rule …`
      if (line.includes(`${mention} `) || line.endsWith(mention)) ours = true;
      return;
    }
    const touched = ours;
    ours = false;
    if (touched && !writers.has(Number(generation[1]))) onChange();
  };
}

/**
 * The kernel implementation of {@link DatapathSignals}. Without `conntrack` the connection stream is
 * `unavailable` and the service relies on its slow reconciliation; that is said in the status, not hidden.
 * @example const signals = createKernelSignals({ netns: 'router', writers })
 */
export function createKernelSignals(options: KernelSignalsOptions): DatapathSignals {
  const clock = options.clock ?? Date.now;
  const conntrack = options.conntrackBinary ?? 'conntrack';
  const nft = options.nftBinary ?? 'nft';
  const state: { connections: SignalStreamState; ruleset: SignalStreamState; detail: string[] } = {
    connections: 'restarting',
    ruleset: 'restarting',
    detail: [],
  };
  const watches: LineWatch[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const catchUp = (emit: (s: DatapathSignal) => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) emit({ kind: 'lost', at: clock() });
    }, CATCH_UP_MS);
    timer.unref();
    timers.add(timer);
  };

  return {
    async start(listener) {
      const emit = (s: DatapathSignal) => {
        if (!closed) listener(s);
      };
      const missing: string[] = [];
      const started: Promise<void>[] = [];
      const once = () => {
        let done: () => void = () => undefined;
        started.push(
          new Promise<void>((resolve) => {
            done = resolve;
            setTimeout(resolve, START_WAIT_MS).unref();
          }),
        );
        return () => done();
      };
      if (onPath(conntrack)) {
        const ran = once();
        watches.push(
          watchConntrack({
            filter: { types: ['new'], mark: { value: CT_MARK.notify, mask: CT_MARK.notify } },
            ...(options.netns ? { netns: options.netns } : {}),
            binary: conntrack,
            onEvent: (e) => emit({ kind: 'connection', at: e.at }),
            onStart: () => {
              state.connections = 'running';
              ran();
              catchUp(emit);
            },
            onError: () => {
              state.connections = 'restarting';
              ran();
              emit({ kind: 'lost', at: clock() });
            },
          }),
        );
      } else {
        state.connections = 'unavailable';
        missing.push(
          `${conntrack} is not installed (conntrack-tools): new entries are seen at the slow reconciliation`,
        );
      }
      if (onPath(nft)) {
        const ran = once();
        watches.push(
          watchLines({
            program: nft,
            args: ['monitor'],
            ...(options.netns ? { netns: options.netns } : {}),
            onLine: monitorReader(options.writers, () => emit({ kind: 'ruleset', at: clock() })),
            onStart: () => {
              state.ruleset = 'running';
              ran();
              catchUp(emit);
            },
            onError: () => {
              state.ruleset = 'restarting';
              ran();
              emit({ kind: 'lost', at: clock() });
            },
          }),
        );
      } else {
        state.ruleset = 'unavailable';
        missing.push(`${nft} cannot run: changes by other tools are seen at the slow reconciliation`);
      }
      state.detail = missing;
      await Promise.all(started);
    },
    status(): DatapathSignalsStatus {
      return {
        connections: state.connections,
        ruleset: state.ruleset,
        ...(state.detail.length > 0 ? { detail: state.detail.join('; ') } : {}),
      };
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      await Promise.all(watches.map((w) => w.close()));
    },
  };
}
