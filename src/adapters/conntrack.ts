import { PorttriggerError } from '../domain/errors.js';
import type { ConntrackTimeouts, TrackedConnection } from '../nft/conntrack-state.js';
import {
  CONNTRACK_TIMEOUT_SYSCTLS,
  DEFAULT_CONNTRACK_TIMEOUTS,
  parseConntrackListing,
  parseConntrackTimeouts,
} from '../nft/conntrack-state.js';
import { CT_MARK, markHex } from '../nft/marks.js';
import { ExecError, runProgram } from './exec.js';

/** Reads the connection tracker; the only place that runs `conntrack`. */
export interface ConntrackRunner {
  /** The connections that carry our mark, both families (the kernel filters by mark). */
  listMarked(): Promise<TrackedConnection[]>;
  /** The tracker's timeouts by state, read once from the namespace's sysctls. */
  timeouts(): Promise<ConntrackTimeouts>;
}

/** Options for {@link createConntrackRunner}. */
export interface ConntrackRunnerOptions {
  readonly netns?: string;
  readonly binary?: string;
  /** A listing of tens of thousands of connections takes well under a second; a hung one must not block. */
  readonly timeoutMs?: number;
}

/**
 * The conntrack adapter: argument arrays only, never a shell.
 * @example await createConntrackRunner({ netns: 'router' }).listMarked()
 */
export function createConntrackRunner(options: ConntrackRunnerOptions = {}): ConntrackRunner {
  const bin = options.binary ?? 'conntrack';
  const run = (program: string, args: readonly string[]) =>
    runProgram(program, args, {
      timeoutMs: options.timeoutMs ?? 5_000,
      ...(options.netns ? { netns: options.netns } : {}),
    });
  let timeouts: Promise<ConntrackTimeouts> | undefined;
  return {
    async listMarked() {
      const mark = `${markHex(CT_MARK.ours)}/${markHex(CT_MARK.ours)}`;
      try {
        const { stdout } = await run(bin, ['-L', '-m', mark, '-o', 'extended,id']);
        return parseConntrackListing(stdout);
      } catch (error) {
        if (!(error instanceof ExecError)) throw error;
        throw new PorttriggerError(
          error.code === 'EXEC_MISSING'
            ? 'EXEC_MISSING'
            : error.code === 'EXEC_TIMEOUT'
              ? 'EXEC_TIMEOUT'
              : 'EXEC_EXIT',
          error.code === 'EXEC_MISSING'
            ? 'conntrack is not installed: install conntrack (conntrack-tools) so that traffic keeps entries open'
            : `conntrack could not list connections: ${error.message}`,
          { cause: error },
        );
      }
    },
    timeouts() {
      timeouts ??= run('sysctl', ['-e', ...CONNTRACK_TIMEOUT_SYSCTLS.map(([, name]) => name)])
        .then(({ stdout }) => parseConntrackTimeouts(stdout))
        .catch(() => DEFAULT_CONNTRACK_TIMEOUTS);
      return timeouts;
    },
  };
}
