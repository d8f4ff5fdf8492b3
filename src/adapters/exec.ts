import { execFile } from 'node:child_process';
import { PorttriggerError } from '../domain/errors.js';

/** The result of a finished program. */
export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for {@link runProgram}. */
export interface ExecOptions {
  /** Written to the program's standard input (nft scripts go here, never into arguments). */
  readonly input?: string;
  readonly timeoutMs?: number;
  /** Run inside this network namespace (`ip netns exec NAME ...`). */
  readonly netns?: string;
}

/** Thrown when a program cannot be started or exits non-zero. */
export class ExecError extends PorttriggerError {
  constructor(
    message: string,
    readonly program: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    options?: { cause?: unknown; timedOut?: boolean; missing?: boolean },
  ) {
    super(
      options?.timedOut
        ? 'EXEC_TIMEOUT'
        : options?.missing
          ? 'EXEC_MISSING'
          : exitCode === null
            ? 'EXEC_FAILED'
            : 'EXEC_EXIT',
      message,
      options,
    );
  }
}

/**
 * Runs a program with an argument array (never a shell) and resolves with its output.
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
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      argv,
      { timeout: options.timeoutMs ?? 30_000, maxBuffer: 512 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ stdout, stderr });
          return;
        }
        const code = typeof error.code === 'number' ? error.code : null;
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        const timedOut = code === null && (error as { killed?: boolean }).killed === true && !missing;
        const reason = timedOut
          ? `${program} timed out after ${options.timeoutMs ?? 30_000} ms`
          : code === null
            ? `${program} could not run: ${missing ? 'not found' : error.message}`
            : `${program} exited with ${code}: ${stderr.trim() || stdout.trim()}`;
        reject(new ExecError(reason, program, args, code, stderr, { cause: error, timedOut, missing }));
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}
