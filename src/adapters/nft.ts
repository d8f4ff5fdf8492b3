import { PorttriggerError } from '../domain/errors.js';
import { TABLE_NAME } from '../domain/types.js';
import { ExecError, runProgram } from './exec.js';

/** Thrown when nft is missing, refuses a script, or fails to list. */
export class NftError extends PorttriggerError {
  constructor(
    code: 'NFT_MISSING' | 'NFT_REJECTED' | 'NFT_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** Runs nft; the only place that does. */
export interface NftRunner {
  /** Checks a script without applying it (`nft -c -f -`). */
  check(script: string): Promise<void>;
  /** Applies a script as one transaction (`nft -f -`). */
  apply(script: string): Promise<void>;
  /** Runs `nft -j <args>` and parses the JSON; resolves null when our table does not exist. */
  listJson(args: readonly string[]): Promise<unknown | null>;
  /** The output of `nft --version`. */
  version(): Promise<string>;
}

/** Options for {@link createNftRunner}. */
export interface NftRunnerOptions {
  readonly netns?: string;
  readonly binary?: string;
}

function describe(error: unknown, what: string): NftError {
  // Inside a namespace `ip netns exec` runs nft, and reports a missing binary as its own failure.
  const missingInNetns = error instanceof ExecError && /exec of ".*" failed: No such file/.test(error.stderr);
  if (error instanceof ExecError && error.code === 'EXEC_TIMEOUT') {
    return new NftError('NFT_FAILED', `nft did not finish the ${what}: ${error.message}`, { cause: error });
  }
  if (error instanceof ExecError && (error.exitCode === null || missingInNetns)) {
    return new NftError('NFT_MISSING', `nft could not run (${error.message}): install nftables`, {
      cause: error,
    });
  }
  if (error instanceof ExecError) {
    const detail = error.stderr.trim().split('\n').slice(0, 6).join('\n') || error.message;
    return new NftError('NFT_REJECTED', `nft rejected the ${what}: ${detail}`, { cause: error });
  }
  return new NftError('NFT_FAILED', `nft failed on the ${what}: ${String(error)}`, { cause: error });
}

/**
 * The nft adapter: scripts go to standard input, never into arguments, and never through a shell.
 * @example await createNftRunner().apply(script)
 */
export function createNftRunner(options: NftRunnerOptions = {}): NftRunner {
  const bin = options.binary ?? 'nft';
  const exec = (args: readonly string[], input?: string) =>
    runProgram(bin, args, {
      timeoutMs: 120_000,
      ...(input !== undefined ? { input } : {}),
      ...(options.netns ? { netns: options.netns } : {}),
    });
  return {
    async check(script) {
      await exec(['-c', '-f', '-'], script).catch((e) => {
        throw describe(e, 'ruleset');
      });
    },
    async apply(script) {
      await exec(['-f', '-'], script).catch((e) => {
        throw describe(e, 'ruleset');
      });
    },
    async version() {
      try {
        return (await exec(['--version'])).stdout;
      } catch (e) {
        throw describe(e, 'version query');
      }
    },
    async listJson(args) {
      try {
        const { stdout } = await exec(['-j', ...args]);
        return JSON.parse(stdout) as unknown;
      } catch (e) {
        if (
          e instanceof ExecError &&
          /No such file or directory/.test(e.stderr) &&
          args.includes(TABLE_NAME)
        ) {
          return null;
        }
        throw describe(e, `listing (nft -j ${args.join(' ')})`);
      }
    },
  };
}
