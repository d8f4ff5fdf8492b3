/**
 * The REST API of the service (hono): the routes of the table (routes.ts) registered in one loop. Around them:
 * the Host allowlist, the token gate, the body limit, and errors mapped to statuses in one place (errors.ts).
 * Testable in-process with `app.request()`.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import { PorttriggerError } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import { MAX_PAGE } from '../domain/paging.js';
import { bearerToken } from '../routes/auth.js';
import { errorResponse } from '../routes/errors.js';
import {
  type AllowedHosts,
  clientOf,
  hostAllowed,
  LOOPBACK_HOSTS,
  requestHost,
} from '../routes/host-check.js';
import type { OpenApiDocument } from '../routes/openapi.js';
import { OPERATIONS, parseRouteInput } from '../routes/operations.js';
import { compact } from '../routes/params.js';
import type { JsonRouteId } from '../routes/route-types.js';
import { API_PREFIX, ROUTE_LIST, type RouteId } from '../routes/table.js';
import { TokenGate } from '../routes/token-gate.js';
import { hostsOfEvent, type PublishedEvent } from '../service/events.js';
import {
  DEFAULT_FEED_LIMITS,
  type FeedLimits,
  feedSinkOf,
  runLiveFeed,
  sseMessage,
} from '../service/live-feed.js';
import type { Service } from '../service/service.js';
import { readBody } from './body.js';

export { API_PREFIX } from '../routes/table.js';

/** The largest request body accepted (413 beyond). */
export const MAX_BODY_BYTES = 256 * 1024;

/** What the app needs; the composition root hands it in. */
export interface AppDeps {
  readonly service: Service;
  /** The bearer token every route but /health requires (read or created by the composition root). */
  readonly token: string;
  /** The one token check, shared with the panel (default: a gate of its own on `token`). */
  readonly gate?: TokenGate;
  /** The Host headers answered (default: loopback and `localhost`). */
  readonly allowedHosts?: AllowedHosts;
  readonly logger?: Logger;
  /** The bounds of an event stream: heartbeat, backlog and write timeout of a client (default: DEFAULT_FEED_LIMITS). */
  readonly feed?: Partial<FeedLimits>;
  readonly maxBodyBytes?: number;
}

// A reconnecting client gets at most one page of the history replayed.
const REPLAY_LIMIT = MAX_PAGE;

/** The routes whose reply is not JSON of a schema: they answer with the request's context. */
type RawRouteId = Exclude<RouteId, JsonRouteId>;
type RawHandler = (c: Context, input: ReturnType<typeof parseRouteInput>) => Response | Promise<Response>;

function matches(filter: { rule?: string; host?: string; type?: string }, e: PublishedEvent): boolean {
  if (filter.rule !== undefined && ('rule' in e ? e.rule : undefined) !== filter.rule) return false;
  if (filter.type !== undefined && e.type !== filter.type) return false;
  return filter.host === undefined || hostsOfEvent(e).includes(filter.host);
}

function streamEvents(deps: AppDeps, feed: FeedLimits): RawHandler {
  const { service } = deps;
  return (c, input) => {
    const filter = compact((input.query ?? {}) as { rule?: string; host?: string; type?: string });
    const lastId = Number(c.req.header('last-event-id') ?? Number.NaN);
    return streamSSE(c, async (stream) => {
      let sentId = 0;
      const json = (event: PublishedEvent) =>
        sseMessage({
          event: event.type,
          data: JSON.stringify(event),
          ...(event.id !== undefined ? { id: String(event.id) } : {}),
        });
      await runLiveFeed(feedSinkOf(stream, c.env), {
        ...feed,
        subscribe: (listener, onClose) => service.subscribe(listener, onClose),
        accept: (event) => matches(filter, event),
        // Live events the replay already sent are skipped.
        render: (events) =>
          events
            .filter((e) => e.id === undefined || e.id > sentId)
            .map(json)
            .join(''),
        prelude: async (write) => {
          if (!Number.isInteger(lastId) || lastId < 0) return;
          let replay: PublishedEvent[];
          try {
            replay = [
              ...service.queryEvents({ ...filter, cursor: lastId, order: 'asc', limit: REPLAY_LIMIT }).events,
            ];
          } catch {
            await write(': the event history is unavailable, live events only\n\n');
            return;
          }
          for (const event of replay) {
            await write(json(event));
            sentId = event.id ?? sentId;
          }
        },
        onDrop: (why) => deps.logger?.warn('an event stream client was dropped', { why }),
      });
    });
  };
}

/** `/rules/{name}` → `/rules/:name`. */
function honoPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}

/**
 * Builds the API.
 * @example const app = createApp({ service, token }); await app.request('/api/v1/health')
 */
export function createApp(deps: AppDeps): Hono {
  const { service } = deps;
  const app = new Hono();
  const feed: FeedLimits = { ...DEFAULT_FEED_LIMITS, ...deps.feed };
  const gate = deps.gate ?? new TokenGate(deps.token, deps.logger ? { logger: deps.logger } : {});
  const allowedHosts = deps.allowedHosts ?? LOOPBACK_HOSTS;
  // Generated on its first request: converting every schema costs memory a gateway need not hold at rest.
  let document: OpenApiDocument | undefined;
  const raw: Readonly<Record<RawRouteId, RawHandler>> = {
    streamEvents: streamEvents(deps, feed),
    openapi: async (c) => {
      document ??= (await import('../routes/openapi.js')).buildOpenApiDocument();
      return c.json(document);
    },
    metrics: (c) =>
      c.body(service.metricsText(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }),
  };

  app.onError((error, c) => {
    const { status, body } = errorResponse(error);
    if (status >= 500) deps.logger?.error('API request failed', { path: c.req.path, error });
    if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="porttrigger"');
    return c.json(body, status);
  });
  app.notFound((c) => {
    const { status, body } = errorResponse(
      new PorttriggerError('NOT_FOUND', `no route ${c.req.method} ${c.req.path}`),
    );
    return c.json(body, status);
  });

  // DNS rebinding: a foreign name that resolves to this machine gets nothing, not even /health.
  app.use('*', async (c, next) => {
    const host = requestHost(c);
    if (!hostAllowed(host, allowedHosts)) {
      deps.logger?.warn('API request with a foreign Host refused', { host, client: clientOf(c) });
      throw new PorttriggerError('FOREIGN_HOST', `"${host}" is not an address or name of this machine`);
    }
    await next();
  });
  app.use('*', async (c, next) => {
    if (c.req.path === `${API_PREFIX}/health`) return next();
    const presented = bearerToken(c.req.header('authorization'));
    const verdict = presented === undefined ? undefined : gate.check(presented, clientOf(c), 'api');
    if (verdict?.ok) return next();
    if (verdict?.limited) {
      c.header('Retry-After', String(verdict.retryAfterSeconds));
      throw new PorttriggerError(
        'TOO_MANY_ATTEMPTS',
        `too many wrong tokens: try again in ${verdict.retryAfterSeconds} s`,
      );
    }
    throw new PorttriggerError(
      'UNAUTHORIZED',
      'a valid bearer token is required (Authorization: Bearer <token>)',
    );
  });
  app.use(
    '*',
    bodyLimit({
      maxSize: deps.maxBodyBytes ?? MAX_BODY_BYTES,
      onError: (c) => {
        const limit = deps.maxBodyBytes ?? MAX_BODY_BYTES;
        const { status, body } = errorResponse(
          new PorttriggerError('PAYLOAD_TOO_LARGE', `the body is larger than ${limit} bytes`),
        );
        return c.json(body, status);
      },
    }),
  );

  const api = new Hono();
  for (const route of ROUTE_LIST) {
    const handler = async (c: Context) => {
      const input = parseRouteInput(route, {
        params: c.req.param(),
        query: c.req.query(),
        body: await readBody(c, route),
      });
      if (route.id in raw) return raw[route.id as RawRouteId](c, input);
      const operation = OPERATIONS[route.id as JsonRouteId] as (s: Service, i: unknown) => unknown;
      return c.json((await operation(service, input)) as object, route.reply.status);
    };
    api.on(route.method.toUpperCase(), honoPath(route.path), handler);
  }
  app.route(API_PREFIX, api);
  return app;
}
