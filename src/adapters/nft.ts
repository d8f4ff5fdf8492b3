import { NftError, type NftErrorCode, type NftRunner } from '../domain/programs.js';
import { TABLE_NAME } from '../domain/types.js';
import { ExecError, onPath, runProgram } from './exec.js';

/** The nft port and its error, declared in the domain. */
export { NftError, type NftErrorCode, type NftRunner };

/** How long a listing of a small table may take before it is stopped and reported (NFT_TIMEOUT). */
export const LIST_TIMEOUT_MS = 15_000;
/** How long an apply (or check) of a small table may take before it is stopped and reported (NFT_TIMEOUT). */
export const APPLY_TIMEOUT_MS = 60_000;
/**
 * The time a listing or an apply is given on top of its base for each object of our table (see
 * `tableObjects`). nft's time grows with the table: on 2 shared cores at a load average of 8–11, 1,000
 * dual-stack rules (15,000 objects) listed in 3.9–4.5 s and 10,000 (150,000 objects) in 40–47 s (their applies
 * 3.7 s and 20 s), and a slower machine's bench saw the full listing of 10,000 rules pass a fixed 15 s. Half a
 * millisecond per object is about twice the slowest of those, so a large table is not taken for a hung nft,
 * while a home config's hung nft is still stopped within a few milliseconds of the base.
 *
 * The allowance follows the object count rather than the last listing's duration: the count is known before
 * the first listing of a table of that size (a reload from 3 to 10,000 rules lists the new table right after
 * applying it, when the only duration known is the small table's), and it does not inherit the load of the
 * moment a previous listing ran.
 */
export const TIMEOUT_MS_PER_OBJECT = 0.5;

/** The timeout of one nft run: the base, plus the allowance for a table of `objects` objects. */
export function nftTimeoutMs(baseMs: number, objects: number): number {
  return Math.round(baseMs + Math.max(0, objects) * TIMEOUT_MS_PER_OBJECT);
}

/** Options for {@link createNftRunner}. */
export interface NftRunnerOptions {
  readonly netns?: string;
  /** The nft program (default `nft` on PATH). */
  readonly binary?: string;
  /** Listings and `--version`, for a small table (default {@link LIST_TIMEOUT_MS}); see {@link nftTimeoutMs}. */
  readonly listTimeoutMs?: number;
  /** Scripts: apply and check, for a small table (default {@link APPLY_TIMEOUT_MS}); see {@link nftTimeoutMs}. */
  readonly applyTimeoutMs?: number;
  /**
   * Told the process id of every nft that writes (applies a script), so that the ruleset monitor can tell our
   * own changes from another tool's.
   */
  readonly onWrite?: (pid: number) => void;
}

/**
 * Names the failure of one nft run from what the runner knows: the process' own outcome, and whether the
 * binary exists at all (inside a namespace `ip netns exec` runs nft, so its exit says only that *something*
 * failed to start).
 */
function failure(error: unknown, failed: 'refused' | 'list', what: string, binary: string): NftError {
  if (!(error instanceof ExecError)) {
    return new NftError('NFT_LIST_FAILED', `nft failed on the ${what}: ${String(error)}`, { cause: error });
  }
  if (error.code === 'EXEC_TIMEOUT') {
    return new NftError('NFT_TIMEOUT', `nft did not finish the ${what}: ${error.message}`, { cause: error });
  }
  if (error.exitCode === null || !onPath(binary)) {
    return new NftError('NFT_MISSING', `nft could not run (${error.message}): install nftables`, {
      cause: error,
    });
  }
  const detail = error.stderr.trim().split('\n').slice(0, 6).join('\n') || error.message;
  return failed === 'refused'
    ? new NftError('NFT_REJECTED', `nft rejected the ${what}: ${detail}`, { cause: error })
    : new NftError('NFT_LIST_FAILED', `nft failed the ${what}: ${detail}`, { cause: error });
}

/**
 * The nft adapter: scripts go to standard input, never into arguments, and never through a shell.
 * @example await createNftRunner().apply(script)
 */
export function createNftRunner(options: NftRunnerOptions = {}): NftRunner {
  const bin = options.binary ?? 'nft';
  // The timeouts leave room for a slow machine and for the size of the table, and a hung nft is reported
  // instead of blocking the caller for minutes.
  let objects = 0;
  const exec = (args: readonly string[], input?: string | Promise<string>, onSpawn?: (pid: number) => void) =>
    runProgram(bin, args, {
      timeoutMs: nftTimeoutMs(
        input === undefined
          ? (options.listTimeoutMs ?? LIST_TIMEOUT_MS)
          : (options.applyTimeoutMs ?? APPLY_TIMEOUT_MS),
        objects,
      ),
      ...(input !== undefined ? { input } : {}),
      ...(options.netns ? { netns: options.netns } : {}),
      ...(onSpawn ? { onSpawn } : {}),
    });
  const hasOurTable = async (): Promise<boolean> => {
    const { stdout } = await exec(['-j', 'list', 'tables', 'inet']).catch((e: unknown) => {
      throw failure(e, 'list', 'listing (nft -j list tables inet)', bin);
    });
    let items: { table?: { name?: string } }[];
    try {
      items = (JSON.parse(stdout) as { nftables?: { table?: { name?: string } }[] }).nftables ?? [];
    } catch (e) {
      throw new NftError('NFT_LIST_FAILED', 'nft listed its tables as something that is not JSON', {
        cause: e,
      });
    }
    return items.some((item) => item.table?.name === TABLE_NAME);
  };
  return {
    expectTableSize(count) {
      objects = count;
    },
    async check(script) {
      await exec(['-c', '-f', '-'], script).catch((e) => {
        throw failure(e, 'refused', 'ruleset', bin);
      });
    },
    async apply(script) {
      await exec(['-f', '-'], script, options.onWrite).catch((e) => {
        throw failure(e, 'refused', 'ruleset', bin);
      });
    },
    async version() {
      try {
        return (await exec(['--version'])).stdout;
      } catch (e) {
        throw failure(e, 'list', 'version query', bin);
      }
    },
    prepareApply() {
      let give: (script: string) => void = () => undefined;
      const script = new Promise<string>((resolve) => {
        give = resolve;
      });
      const done = exec(['-f', '-'], script, options.onWrite).then(
        () => undefined,
        (e: unknown) => {
          throw failure(e, 'refused', 'ruleset', bin);
        },
      );
      // A cancelled run's outcome is nobody's business.
      done.catch(() => undefined);
      return {
        apply(text) {
          give(text);
          return done;
        },
        cancel() {
          give('');
        },
      };
    },
    async listText(args) {
      try {
        return (await exec(args)).stdout;
      } catch (e) {
        throw failure(e, 'list', `listing (nft ${args.join(' ')})`, bin);
      }
    },
    async listJson(args) {
      const what = `listing (nft -j ${args.join(' ')})`;
      let stdout: string;
      try {
        ({ stdout } = await exec(['-j', ...args]));
      } catch (e) {
        const failed = failure(e, 'list', what, bin);
        // A listing of our table fails when the table is absent: ask nft which tables exist rather than
        // reading its wording.
        if (failed.code === 'NFT_LIST_FAILED' && args.includes(TABLE_NAME) && !(await hasOurTable())) {
          return null;
        }
        throw failed;
      }
      try {
        return JSON.parse(stdout) as unknown;
      } catch (e) {
        throw new NftError('NFT_LIST_FAILED', `nft answered the ${what} with something that is not JSON`, {
          cause: e,
        });
      }
    },
  };
}
