/**
 * The ports to the programs of the system: running a program (a process runner) and running nft (an nft
 * runner), with the errors they raise. src/adapters implements them; the composition root hands them to the
 * service, the doctor and the lab, which never start a program themselves.
 */
import { type ErrorCode, PorttriggerError } from './errors.js';

/** The result of a finished program. */
export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for a {@link ProgramRunner}. */
export interface ExecOptions {
  /**
   * Written to the program's standard input (nft scripts go here, never into arguments). A promise is written
   * when it resolves: the program starts now and gets its input later.
   */
  readonly input?: string | Promise<string>;
  readonly timeoutMs?: number;
  /** Run inside this network namespace (`ip netns exec NAME ...`). */
  readonly netns?: string;
  /** Told the process id once the program is started (`ip netns exec` execs it, so the id is its own). */
  readonly onSpawn?: (pid: number) => void;
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
 * Runs a program with an argument array (never a shell) and resolves with its output; rejects with
 * {@link ExecError}. `runProgram` in src/adapters/exec.ts is the implementation.
 */
export type ProgramRunner = (
  program: string,
  args: readonly string[],
  options?: ExecOptions,
) => Promise<ExecResult>;

/** The ways nft fails, each named where it happens. */
export type NftErrorCode = Extract<
  ErrorCode,
  'NFT_MISSING' | 'NFT_TIMEOUT' | 'NFT_REJECTED' | 'NFT_LIST_FAILED'
>;

/** Thrown when nft is missing, times out, refuses a script, or fails to list. */
export class NftError extends PorttriggerError {
  constructor(code: NftErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** An `nft -f -` started ahead of its script: exactly one of the two calls, once. */
export interface PreparedApply {
  /** Applies the script as one transaction; fails as {@link NftRunner.apply} does. */
  apply(script: string): Promise<void>;
  /** Ends the program without a script (it applies nothing). */
  cancel(): void;
}

/** Runs nft: the port the datapath and the doctor use (src/adapters/nft.ts is the one implementation). */
export interface NftRunner {
  /** Checks a script without applying it (`nft -c -f -`). */
  check(script: string): Promise<void>;
  /** Applies a script as one transaction (`nft -f -`). */
  apply(script: string): Promise<void>;
  /** Runs `nft -j <args>` and parses the JSON; resolves null when our table does not exist. */
  listJson(args: readonly string[]): Promise<unknown | null>;
  /**
   * Runs `nft <args>` and returns its text: the only listing with the milliseconds an element has left
   * (`expires 1s234ms`; JSON rounds down to the second). Optional: without it, ends are found by polling.
   */
  listText?(args: readonly string[]): Promise<string>;
  /**
   * Starts `nft -f -` now for a script given later: a program's start (ms, or hundreds of them on a loaded
   * machine) is paid before the moment the script must take effect. Optional, as {@link NftRunner.listText}.
   */
  prepareApply?(): PreparedApply;
  /** The output of `nft --version`. */
  version(): Promise<string>;
  /**
   * Tells the runner how many objects our table holds (or is about to): a listing or an apply of a large table
   * gets time in proportion before it counts as hung. Optional: without it, the runner's base timeouts hold.
   */
  expectTableSize?(objects: number): void;
}
