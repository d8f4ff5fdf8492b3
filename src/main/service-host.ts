/** The service with its REST API, as `porttrigger run` and `porttrigger lab` start it in-process. */

import type { Logger } from '../adapters/logger.js';
import { ensureApiToken } from '../adapters/token.js';
import { DEFAULT_API_SETTINGS, serveApi } from '../api/server.js';
import type { ReloadResult, Service } from '../service/service.js';
import { panelFor } from './panel-wiring.js';
import { startKernelService } from './start-service.js';

/** Options for {@link startServiceHost}. */
export interface ServiceHostOptions {
  readonly configPath: string;
  readonly logger: Logger;
  /** Run nft inside this network namespace; the API still listens in ours. */
  readonly netns?: string;
  readonly keepTableOnStop?: boolean | (() => boolean);
  /** Serve no API (the service alone). */
  readonly noApi?: boolean;
  /** Told once when the API token file is created. */
  readonly announceToken?: (message: string) => void;
}

/** A running service and its API. */
export interface ServiceHost {
  readonly service: Service;
  /** The API's URL, e.g. `http://127.0.0.1:8080`; undefined without an API. */
  readonly url: string | undefined;
  reload(): Promise<ReloadResult>;
  /** Closes the API, then stops the service (which removes its table unless told to keep it). */
  stop(): Promise<void>;
}

/**
 * Starts the service from a config file, then its API on the config's `api.listen`.
 * @example const host = await startServiceHost({ configPath, logger }); await host.stop();
 */
export async function startServiceHost(options: ServiceHostOptions): Promise<ServiceHost> {
  const service = await startKernelService({
    configPath: options.configPath,
    logger: options.logger,
    ...(options.netns ? { netns: options.netns } : {}),
    ...(options.keepTableOnStop ? { keepTableOnStop: options.keepTableOnStop } : {}),
  });
  let api: Awaited<ReturnType<typeof serveApi>> | undefined;
  if (!options.noApi) {
    try {
      const settings = service.config.api ?? DEFAULT_API_SETTINGS;
      const { token } = await ensureApiToken(
        settings.tokenFile,
        options.announceToken ? { announce: options.announceToken } : {},
      );
      api = await serveApi(service, settings, {
        token,
        logger: options.logger,
        ...panelFor(service, token, {
          logger: options.logger,
          ...(options.netns ? { netns: options.netns } : {}),
        }),
      });
    } catch (error) {
      await service.stop().catch(() => undefined);
      throw error;
    }
  }
  let stopping: Promise<void> | undefined;
  return {
    service,
    url: api?.url,
    reload: () => service.reload(),
    stop: () => {
      stopping ??= (async () => {
        await api?.close();
        await service.stop();
      })();
      return stopping;
    },
  };
}
