import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PorttriggerError } from '../domain/errors.js';
import { TABLE_NAME } from '../domain/types.js';
import {
  parseSetReaderOutput,
  readerKernelState,
  type SetLayout,
  sharedSetLayouts,
} from '../nft/set-elements.js';
import type { KernelState } from '../nft/state.js';
import { ExecError, runProgram } from './exec.js';

/**
 * The set reader (native/set-reader): lists our sets' elements straight from the kernel over netlink, many
 * times faster than `nft -j list set` for a large table (docs/architecture.md, "Reading the sets").
 */

/** The reader's exit statuses (native/set-reader/set-reader.c). */
const EXIT_NO_TABLE = 3;
const EXIT_NO_SET = 4;

/** Longer than any read of a full table takes; a hung reader is stopped and the read falls back to nft. */
const READ_TIMEOUT_MS = 15_000;

/**
 * Where the build puts the reader, from this module: src/adapters/ and dist/<entry>/ (or dist/chunks/) are two
 * levels below the package root; the bench's build (dist/bench-build/src/adapters/) three below dist/.
 */
const CANDIDATES = ['../../dist/native/porttrigger-set-reader', '../../../native/porttrigger-set-reader'];

/** Where the build puts the reader, as it says it (a message names it when it is missing). */
export const BUILT_SET_READER = 'dist/native/porttrigger-set-reader';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The built reader, or undefined when the build did not make one. */
export function builtSetReaderPath(): string | undefined {
  return CANDIDATES.map((c) => fileURLToPath(new URL(c, import.meta.url))).find(executable);
}

/**
 * A failed read. `missingSet`: a set asked for is not in the table (the table is broken, not the reader);
 * otherwise the reader itself failed (cannot run, refused, unreadable output).
 */
export class SetReaderError extends PorttriggerError {
  constructor(
    message: string,
    readonly missingSet: boolean,
    options?: { cause?: unknown },
  ) {
    super('NFT_LIST_FAILED', message, options);
  }
}

/** Reads our table's sets with the set reader. */
export interface SetReader {
  /** The program it runs. */
  readonly binary: string;
  /**
   * Every set of our table, with the elements of `names`, as `nft -j list sets` shows them (with `expiresMs`
   * too); null when the table does not exist. Throws {@link SetReaderError}.
   */
  read(names: readonly string[]): Promise<KernelState | null>;
}

/** Options for {@link createSetReader}. */
export interface SetReaderOptions {
  readonly netns?: string;
  /** The program (default: the one the build made). */
  readonly binary?: string;
  readonly timeoutMs?: number;
  /** The layouts of the sets it may list (default: every shared set's). */
  readonly layouts?: ReadonlyMap<string, SetLayout>;
}

/**
 * The set reader of a gateway (or a namespace), or undefined when its program is not there to run.
 * @example const reader = createSetReader(); await reader?.read(['pair4'])
 */
export function createSetReader(options: SetReaderOptions = {}): SetReader | undefined {
  const binary = options.binary ?? builtSetReaderPath();
  if (binary === undefined || !executable(binary)) return undefined;
  const layouts = options.layouts ?? sharedSetLayouts();
  return {
    binary,
    async read(names) {
      let stdout: string;
      try {
        ({ stdout } = await runProgram(binary, ['inet', TABLE_NAME, ...names], {
          timeoutMs: options.timeoutMs ?? READ_TIMEOUT_MS,
          ...(options.netns ? { netns: options.netns } : {}),
        }));
      } catch (error) {
        if (error instanceof ExecError && error.exitCode === EXIT_NO_TABLE) return null;
        const detail = error instanceof ExecError ? error.stderr.trim() || error.message : String(error);
        throw new SetReaderError(
          `the set reader failed: ${detail}`,
          error instanceof ExecError && error.exitCode === EXIT_NO_SET,
          { cause: error },
        );
      }
      try {
        return readerKernelState(parseSetReaderOutput(stdout, layouts));
      } catch (error) {
        throw new SetReaderError(String((error as Error).message), false, { cause: error });
      }
    },
  };
}
