import type { IpPrefix } from '../domain/address.js';
import { PorttriggerError } from '../domain/errors.js';
import { parseLanPrefixes } from '../nft/adoption.js';
import type { ConntrackTimeouts, TrackedConnection } from '../nft/conntrack-state.js';
import {
  CONNTRACK_TIMEOUT_SYSCTLS,
  DEFAULT_CONNTRACK_TIMEOUTS,
  parseConntrackLine,
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
  /** Every tracked TCP and UDP connection, both families, whatever its mark (live trigger connections). */
  listAll(): Promise<TrackedConnection[]>;
  /**
   * Sets the bits `mask` of one connection's mark to `value`, found by its original tuple; resolves false when
   * the tracker no longer has it.
   */
  setMark(connection: TrackedConnection, value: number, mask: number): Promise<boolean>;
  /** The global addresses of the interfaces named (a trailing `*` matches a prefix) as prefixes. */
  lanPrefixes(interfaces: readonly string[]): Promise<IpPrefix[]>;
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
        throw failure(error, 'list connections');
      }
    },
    async listAll() {
      try {
        const { stdout } = await run(bin, ['-L', '-o', 'extended,id']);
        return stdout.split('\n').flatMap((line) => parseConntrackLine(line) ?? []);
      } catch (error) {
        throw failure(error, 'list connections');
      }
    },
    async setMark(c, value, mask) {
      const args = [
        '-U',
        '-f',
        c.family,
        '-p',
        c.protocol,
        '-s',
        c.original.src,
        '-d',
        c.original.dst,
        '--sport',
        String(c.original.sport),
        '--dport',
        String(c.original.dport),
        '-m',
        `${markHex(value)}/${markHex(mask)}`,
      ];
      try {
        await run(bin, args);
        return true;
      } catch (error) {
        // conntrack exits 1 when no connection matched: it closed in the meantime.
        if (error instanceof ExecError && error.code === 'EXEC_EXIT') return false;
        throw failure(error, 'mark a connection');
      }
    },
    async lanPrefixes(interfaces) {
      const { stdout } = await run('ip', ['-j', 'addr', 'show']);
      return parseLanPrefixes(stdout, interfaces);
    },
    timeouts() {
      timeouts ??= run('sysctl', ['-e', ...CONNTRACK_TIMEOUT_SYSCTLS.map(([, name]) => name)])
        .then(({ stdout }) => parseConntrackTimeouts(stdout))
        .catch(() => DEFAULT_CONNTRACK_TIMEOUTS);
      return timeouts;
    },
  };
}

/** A failed run of conntrack as the error family's codes, naming what it could not do. */
function failure(error: unknown, what: string): unknown {
  if (!(error instanceof ExecError)) return error;
  return new PorttriggerError(
    error.code === 'EXEC_MISSING'
      ? 'EXEC_MISSING'
      : error.code === 'EXEC_TIMEOUT'
        ? 'EXEC_TIMEOUT'
        : 'EXEC_EXIT',
    error.code === 'EXEC_MISSING'
      ? 'conntrack is not installed: install conntrack (conntrack-tools) so that traffic keeps entries open'
      : `conntrack could not ${what}: ${error.message}`,
    { cause: error },
  );
}
