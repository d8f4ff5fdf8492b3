#!/usr/bin/env node
/**
 * The service entry point: `node dist/main/daemon.js --config FILE [--netns NS] [--keep-table]`. The only
 * daemon file that touches the process: arguments, signals, exit codes. `porttrigger run` does the same.
 */
import { createLogger } from '../adapters/logger.js';
import { ensureApiToken } from '../adapters/token.js';
import { DEFAULT_API_SETTINGS, serveApi } from '../api/server.js';
import { formatPath, InvalidInputError } from '../domain/errors.js';
import type { Service } from '../service/service.js';
import { DAEMON_USAGE, parseDaemonArgs } from './daemon-args.js';
import { panelFor } from './panel-wiring.js';
import { startKernelService } from './start-service.js';

async function main(): Promise<void> {
  const line = parseDaemonArgs(process.argv.slice(2));
  if (line.kind === 'help') {
    process.stdout.write(DAEMON_USAGE);
    process.exit(0);
  }
  if (line.kind === 'usage-error') {
    process.stderr.write(`daemon.js: ${line.message}\n${DAEMON_USAGE}`);
    process.exit(2);
  }
  const values = {
    config: line.config,
    netns: line.netns,
    'keep-table': line.keepTable,
    'no-api': line.noApi,
  };
  const logger = createLogger({ level: line.level });
  let service: Service;
  try {
    service = await startKernelService({
      configPath: values.config,
      logger,
      keepTableOnStop: values['keep-table'],
      ...(values.netns ? { netns: values.netns } : {}),
    });
  } catch (error) {
    if (error instanceof InvalidInputError) {
      logger.error(error.message);
      for (const issue of error.issues)
        logger.error(issue.message, { path: formatPath(issue.path), code: issue.code });
      process.exit(2);
    }
    logger.error('the service could not start', { error });
    process.exit(1);
  }
  const settings = service.config.api ?? DEFAULT_API_SETTINGS;
  const apiToken = values['no-api'] ? '' : (await ensureApiToken(settings.tokenFile)).token;
  const api = values['no-api']
    ? undefined
    : await serveApi(service, settings, {
        token: apiToken,
        logger,
        ...panelFor(service, apiToken, { logger, ...(values.netns ? { netns: values.netns } : {}) }),
      });

  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reloading the config');
    // The service logs the outcome (applied, or every issue of an invalid file).
    service.reload().catch(() => undefined);
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: stopping`);
    (async () => {
      await api?.close();
      await service.stop();
    })().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('stopping failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
