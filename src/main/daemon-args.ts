/**
 * The daemon's command line (`node dist/main/daemon.js --config FILE ...`), read without touching the
 * process: `--help` is usage, a wrong line is a usage error with its reason, never a stack trace.
 */
import { parseArgs } from 'node:util';
import { isLogThreshold, type LogThreshold } from '../adapters/logger.js';

/** The usage text of the daemon. */
export const DAEMON_USAGE = [
  'usage: node dist/main/daemon.js --config FILE [--netns NS] [--keep-table] [--no-api] [--log-level LEVEL]',
  '',
  'Runs the porttrigger service in the foreground (`porttrigger run` does the same).',
  '  --config FILE      the config file (required)',
  '  --netns NS         run nft inside this network namespace',
  '  --keep-table       leave the table inet porttrigger in the kernel on stop',
  '  --no-api           serve no API and no panel',
  '  --log-level LEVEL  debug, info, warn, error or silent (default info)',
  '  -h, --help         print this help',
  '',
].join('\n');

/** What the daemon's command line asks for. */
export type DaemonCommandLine =
  | { readonly kind: 'help' }
  | { readonly kind: 'usage-error'; readonly message: string }
  | {
      readonly kind: 'run';
      readonly config: string;
      readonly netns?: string;
      readonly keepTable: boolean;
      readonly noApi: boolean;
      readonly level: LogThreshold;
    };

/**
 * Reads the daemon's arguments (without `node` and the script).
 * @example parseDaemonArgs(['--help']) // { kind: 'help' }
 */
export function parseDaemonArgs(argv: readonly string[]): DaemonCommandLine {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string' },
        netns: { type: 'string' },
        'keep-table': { type: 'boolean', default: false },
        'no-api': { type: 'boolean', default: false },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    return {
      kind: 'usage-error',
      message: ((error as Error).message.split('. ')[0] ?? '').replace(/\.$/, ''),
    };
  }
  if (values['help'] === true) return { kind: 'help' };
  const config = values['config'];
  const level = values['log-level'];
  if (typeof config !== 'string' || config === '')
    return { kind: 'usage-error', message: '--config FILE is required' };
  if (typeof level !== 'string' || !isLogThreshold(level)) {
    return {
      kind: 'usage-error',
      message: `--log-level ${String(level)}: one of debug, info, warn, error, silent`,
    };
  }
  const netns = values['netns'];
  return {
    kind: 'run',
    config,
    ...(typeof netns === 'string' && netns !== '' ? { netns } : {}),
    keepTable: values['keep-table'] === true,
    noApi: values['no-api'] === true,
    level,
  };
}
