import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ExecError, type ExecOptions, type ExecResult } from '../domain/programs.js';

/** The error, options and result of a program run, declared with the port in the domain. */
export { ExecError, type ExecOptions, type ExecResult };

/** After a timeout the program gets SIGTERM, then SIGKILL this much later; the caller waits no longer than that. */
export const KILL_GRACE_MS = 1_000;

/**
 * Runs a program with an argument array (never a shell) and resolves with its output. A program that outlives
 * `timeoutMs` is stopped (SIGTERM, then SIGKILL) and the call fails with EXEC_TIMEOUT at most
 * {@link KILL_GRACE_MS} later, even when the program ignores signals or a child of it keeps its output open.
 * @example await runProgram('nft', ['-j', 'list', 'ruleset'])
 */
export function runProgram(
  program: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const [file, argv] = options.netns
    ? ['ip', ['netns', 'exec', options.netns, program, ...args]]
    : [program, args];
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    let timedOut = false;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      outcome();
    };
    const timeoutError = (cause?: unknown) =>
      new ExecError(`${program} timed out after ${timeoutMs} ms`, program, args, null, '', {
        cause,
        timedOut: true,
      });
    const child = execFile(
      file,
      argv,
      { maxBuffer: 512 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (timedOut) {
          settle(() => reject(timeoutError(error)));
          return;
        }
        if (!error) {
          settle(() => resolve({ stdout, stderr }));
          return;
        }
        const code = typeof error.code === 'number' ? error.code : null;
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        const reason =
          code === null
            ? `${program} could not run: ${missing ? 'not found' : error.message}`
            : `${program} exited with ${code}: ${stderr.trim() || stdout.trim()}`;
        settle(() => reject(new ExecError(reason, program, args, code, stderr, { cause: error, missing })));
      },
    );
    timers.push(
      setTimeout(() => {
        timedOut = true;
        // A child of the program (a wrapper script's) may hold the pipes open: closing our ends lets the
        // program's exit finish the call.
        child.stdout?.destroy();
        child.stderr?.destroy();
        child.kill('SIGTERM');
        timers.push(
          setTimeout(() => {
            child.kill('SIGKILL');
            // A program stuck in the kernel may not even die: the caller is answered anyway.
            settle(() => reject(timeoutError()));
          }, KILL_GRACE_MS),
        );
      }, timeoutMs),
    );
    // A program that does not read its input closes the pipe: that is its business, not a crash of ours.
    child.stdin?.on('error', () => undefined);
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    const input = options.input;
    if (typeof input === 'string') child.stdin?.end(input);
    else if (input !== undefined) {
      input.then(
        (text) => child.stdin?.end(text),
        () => child.stdin?.end(),
      );
    } else child.stdin?.end();
  });
}

/** Whether a program name resolves to an executable file on PATH (or is one, given with a slash). */
export function onPath(binary: string): boolean {
  const candidates = binary.includes('/')
    ? [binary]
    : (process.env['PATH'] ?? '').split(delimiter).map((dir) => join(dir || '.', binary));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
