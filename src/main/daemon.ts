#!/usr/bin/env node
/**
 * The service entry point: `node dist/main/daemon.js --config FILE [--netns NS] [--keep-table]`. The only
 * daemon file that touches the process: arguments, signals, exit codes. `porttrigger run` does the same.
 */
import { parseArgs } from 'node:util';
import { createLogger, isLogThreshold } from '../adapters/logger.js';
import { ensureApiToken } from '../adapters/token.js';
import { DEFAULT_API_SETTINGS, serveApi } from '../api/server.js';
import { formatPath, InvalidInputError } from '../domain/errors.js';
import type { Service } from '../service/service.js';
import { panelFor } from './panel-wiring.js';
import { startKernelService } from './start-service.js';

const USAGE = 'usage: main.js --config FILE [--netns NS] [--keep-table] [--no-api] [--log-level LEVEL]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      netns: { type: 'string' },
      'keep-table': { type: 'boolean', default: false },
      'no-api': { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'info' },
    },
  });
  const level = values['log-level'];
  if (!values.config || !isLogThreshold(level)) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  const logger = createLogger({ level });
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
