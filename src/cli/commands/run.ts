import { existsSync, rmSync } from 'node:fs';
import { isLogThreshold } from '../../domain/logger.js';
import { booleanOption, stringOption } from '../args.js';
import { configPathOf } from '../client/lookup.js';
import type { CliSignal, Command } from '../context.js';
import { UsageError } from '../exit-codes.js';

/** `porttrigger run`: the service in the foreground, with its API; SIGHUP reloads, SIGTERM/SIGINT stop. */
export const runCommand: Command = {
  spec: {
    name: 'run',
    summary: 'run the service in the foreground (SIGHUP reloads the config, SIGTERM/SIGINT stop)',
    usage: [
      'run --config FILE [--netns NS] [--keep-table | --keep-table-if FILE] [--no-api] [--log-level LEVEL]',
    ],
    options: {
      netns: { type: 'string', value: 'NS', description: 'run nft inside this network namespace' },
      'keep-table': {
        type: 'boolean',
        description: 'leave the nftables table and its entries in place on stop (a restart adopts them)',
      },
      'keep-table-if': {
        type: 'string',
        value: 'FILE',
        description:
          'keep the table on stop if FILE exists then, and remove FILE (how upgrades keep entries)',
      },
      'no-api': { type: 'boolean', description: 'serve no REST API' },
      'log-level': {
        type: 'string',
        value: 'LEVEL',
        description: 'debug, info (default), warn, error or silent',
      },
    },
    positionals: { min: 0, max: 0 },
    details:
      'Logs go to standard error: readable lines on a terminal and in the journal, JSON lines otherwise.\n' +
      'Stopping removes the table `inet porttrigger` (and only it) unless --keep-table is given.',
  },
  async run(args, ctx) {
    const level = stringOption(args, 'log-level') ?? 'info';
    if (!isLogThreshold(level)) {
      throw new UsageError(`--log-level ${JSON.stringify(level)}: debug, info, warn, error or silent`, 'run');
    }
    const { path } = configPathOf(args, ctx);
    const logger = ctx.system.createLogger({ level, sink: ctx.stderr });
    const netns = stringOption(args, 'netns');
    const keepTableMarker = stringOption(args, 'keep-table-if');
    if (keepTableMarker && booleanOption(args, 'keep-table')) {
      throw new UsageError('--keep-table and --keep-table-if: give one of them', 'run');
    }
    // Signals that arrive while the service starts are handled once it runs.
    const pending: CliSignal[] = [];
    let onSignal: (s: CliSignal) => void = (s) => void pending.push(s);
    const offs = (['SIGHUP', 'SIGTERM', 'SIGINT'] as const).map((s) => ctx.onSignal(s, () => onSignal(s)));
    try {
      const host = await ctx.system.startServiceHost({
        configPath: path,
        logger,
        ...(netns ? { netns } : {}),
        keepTableOnStop: keepTableMarker
          ? () => takeMarker(keepTableMarker)
          : booleanOption(args, 'keep-table'),
        noApi: booleanOption(args, 'no-api'),
        announceToken: (m) => ctx.stderr.write(`${m}\n`),
      });
      await new Promise<void>((resolve, reject) => {
        let stopping = false;
        onSignal = (signal) => {
          if (signal === 'SIGHUP') {
            if (stopping) return;
            logger.info('SIGHUP: reloading the config');
            // The service logs the outcome: applied, or every issue of an invalid file.
            host.reload().catch(() => undefined);
            return;
          }
          if (stopping) return;
          stopping = true;
          logger.info(`${signal}: stopping`);
          host.stop().then(resolve, reject);
        };
        for (const s of pending.splice(0)) onSignal(s);
      });
    } finally {
      for (const off of offs) off();
    }
  },
};

/** Whether the marker file exists; it is removed, so that it keeps the table for one stop only. */
function takeMarker(path: string): boolean {
  if (!existsSync(path)) return false;
  rmSync(path, { force: true });
  return true;
}
