/** Serves the API over HTTP with @hono/node-server: the only place that knows the Node runtime. */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { PorttriggerError } from '../domain/errors.js';
import { parseListenAddress } from '../domain/listen.js';
import type { Logger } from '../domain/logger.js';
import type { ApiSettings } from '../domain/types.js';
import { type AllowedHosts, LOOPBACK_HOSTS } from '../routes/host-check.js';
import type { TokenGate } from '../routes/token-gate.js';
import type { FeedLimits } from '../service/live-feed.js';
import type { Service } from '../service/service.js';
import { createApp } from './app.js';

export { DEFAULT_API_SETTINGS } from '../domain/config.js';

/** Options for {@link serveApi} besides the config's `api` section. */
export interface ServeOptions {
  /** The bearer token every route but /health requires (the composition root reads or creates it). */
  readonly token: string;
  readonly logger?: Logger;
  /** The bounds of an event stream's client (default: DEFAULT_FEED_LIMITS). */
  readonly feed?: Partial<FeedLimits>;
  /** A handler for every path outside `/api/` (the web panel). */
  readonly site?: SiteHandler;
  /** The token check shared with the site (default: the API's own on `token`). */
  readonly gate?: TokenGate;
  /**
   * The Host headers the API answers, as the panel does (default: loopback, `localhost` and the listen
   * address); anything else is 421 FOREIGN_HOST.
   */
  readonly allowedHosts?: AllowedHosts;
}

/** What serves the paths outside `/api/` (a hono app fits). */
export interface SiteHandler {
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
}

/** A running HTTP server. */
export interface ApiServer {
  /** e.g. `http://127.0.0.1:8080` (the real port when `listen` asked for port 0). */
  readonly url: string;
  /** Stops accepting connections and ends open ones (event streams included). */
  close(): Promise<void>;
}

/** Splits `host:port`, `[v6]:port` or `:port` (all addresses); INVALID_INPUT when it is none of them. */
export function parseListen(listen: string): { host: string; port: number } {
  const parsed = parseListenAddress(listen);
  if ('error' in parsed) throw new PorttriggerError('INVALID_INPUT', parsed.error);
  return { host: parsed.host || '0.0.0.0', port: parsed.port };
}

/**
 * Starts the HTTP server of the API on `settings.listen`.
 * @example const api = await serveApi(service, service.config.api ?? DEFAULT_API_SETTINGS, { token })
 */
export async function serveApi(
  service: Service,
  settings: ApiSettings,
  options: ServeOptions,
): Promise<ApiServer> {
  const { host, port } = parseListen(settings.listen);
  const allowedHosts = options.allowedHosts ?? {
    addresses: [...LOOPBACK_HOSTS.addresses, host],
    names: LOOPBACK_HOSTS.names,
  };
  const app = createApp({
    service,
    token: options.token,
    allowedHosts,
    ...(options.gate ? { gate: options.gate } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.feed !== undefined ? { feed: options.feed } : {}),
  });
  const site = options.site;
  // The API keeps `/api/`; everything else is the site's, on the same origin.
  const fetch = site
    ? (request: Request, env: unknown) =>
        new URL(request.url).pathname.startsWith('/api/') ? app.fetch(request, env) : site.fetch(request, env)
    : app.fetch;
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch, hostname: host, port }, () => resolve(s));
    s.once('error', (error) =>
      reject(
        new PorttriggerError('API_LISTEN_FAILED', `cannot listen on ${settings.listen}: ${error.message}`, {
          cause: error,
        }),
      ),
    );
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  options.logger?.info('API listening', { url });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Event streams never end on their own.
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}
