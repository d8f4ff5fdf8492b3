import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { onPath } from './exec.js';

/** Options for {@link watchLines}. */
export interface LineWatchOptions {
  readonly program: string;
  readonly args: readonly string[];
  /** Run inside this network namespace (`ip netns exec NAME ...`). */
  readonly netns?: string;
  /** One line the program printed, without its end. */
  readonly onLine: (line: string) => void;
  /**
   * The program ended, could not start, or printed to stderr. It is restarted after a pause that doubles up to
   * `maxBackoffMs`: lines printed between two runs are lost, so the owner should read the full state again.
   */
  readonly onError?: (error: Error) => void;
  /**
   * The running program printed to stderr (one chunk as it arrived). `ip monitor` keeps running after its
   * netlink socket overflowed and only says so there: the events in between are lost.
   */
  readonly onStderr?: (text: string) => void;
  /** The program is running (again); called after every start, once the process is spawned. */
  readonly onStart?: () => void;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** A running watch; `close` ends the program (by its own pid) and stops restarting it. */
export interface LineWatch {
  close(): Promise<void>;
  /** Whether the program runs right now. */
  readonly running: boolean;
}

/**
 * The command, run through util-linux's `setpriv --pdeathsig KILL` when it is installed: the kernel then kills
 * the program when this process dies, even by SIGKILL, so no `conntrack -E` or `nft monitor` outlives the service.
 * `setpriv` and `ip netns exec` both exec the next program, so the pid stays the program's own.
 */
export function withParentDeathSignal(command: readonly [string, ...string[]]): [string, ...string[]] {
  setprivInstalled ??= onPath('setpriv');
  return setprivInstalled ? ['setpriv', '--pdeathsig', 'KILL', '--', ...command] : [...command];
}

let setprivInstalled: boolean | undefined;

/**
 * Runs a long-lived program that prints one event a line (`conntrack -E`, `nft monitor`) and hands each line
 * over as it arrives; restarts the program when it ends. Argument arrays only, never a shell.
 * @example const w = watchLines({ program: 'conntrack', args: ['-E'], onLine: console.log })
 */
export function watchLines(options: LineWatchOptions): LineWatch {
  const minBackoff = options.minBackoffMs ?? 250;
  const maxBackoff = options.maxBackoffMs ?? 10_000;
  let backoff = minBackoff;
  let child: ChildProcess | undefined;
  let closed = false;
  let restart: NodeJS.Timeout | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = () => {
    restart = undefined;
    if (closed) return;
    const command: [string, ...string[]] = options.netns
      ? ['ip', 'netns', 'exec', options.netns, options.program, ...options.args]
      : [options.program, ...options.args];
    const [file, ...argv] = withParentDeathSignal(command);
    const startedAt = Date.now();
    const proc = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    exited = new Promise((resolve) => proc.once('close', () => resolve()));
    proc.once('spawn', () => options.onStart?.());
    createInterface({ input: proc.stdout }).on('line', (line) => options.onLine(line));
    let stderr = '';
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2_000);
      if (!closed) options.onStderr?.(chunk);
    });
    proc.once('error', (error) => {
      if (!closed) options.onError?.(new Error(`${options.program} could not run: ${error.message}`));
    });
    proc.once('close', (code, signal) => {
      child = undefined;
      if (closed) return;
      // A run that lasted a while was healthy: the next failure starts the backoff from the beginning.
      if (Date.now() - startedAt > maxBackoff) backoff = minBackoff;
      const why = signal ? `was ended by ${signal}` : `exited with ${code}`;
      options.onError?.(
        new Error(`${options.program} ${why}${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`),
      );
      restart = setTimeout(start, backoff);
      restart.unref();
      backoff = Math.min(backoff * 2, maxBackoff);
    });
  };
  start();

  return {
    get running() {
      return child !== undefined && child.exitCode === null;
    },
    async close() {
      closed = true;
      if (restart) clearTimeout(restart);
      // `ip netns exec` execs the program, so this pid is the program's own.
      child?.kill('SIGTERM');
      await exited;
    },
  };
}
