/**
 * The REST API of the service (hono). A thin adapter: it checks the token, parses and validates parameters,
 * calls the service and maps errors to statuses in one place (errors.ts). Testable in-process with
 * `app.request()`.
 */

import type { Context } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import type { Logger } from '../adapters/logger.js';
import { tokensEqual } from '../adapters/token.js';
import { parseConfigText, validateConfig } from '../domain/config.js';
import { InvalidInputError, PorttriggerError, type Result } from '../domain/errors.js';
import type { Config } from '../domain/types.js';
import type { PublishedEvent } from '../service/events.js';
import type { ConfigChange, Service } from '../service/service.js';
import { errorResponse } from './errors.js';
import { OPENAPI_DOCUMENT } from './openapi.js';
import {
  checkQuery,
  compact,
  eventsQuery,
  parseInput,
  releaseBody,
  ruleNameParam,
  streamQuery,
} from './params.js';

/** Every route lives under this prefix. */
export const API_PREFIX = '/api/v1';

/** The largest request body accepted (413 beyond). */
export const MAX_BODY_BYTES = 256 * 1024;

/** What the app needs. */
export interface AppDeps {
  readonly service: Service;
  /** The bearer token every route but /health requires. */
  readonly token: string;
  readonly logger?: Logger;
  /** How often an idle event stream gets a comment line (default 15 s). */
  readonly heartbeatMs?: number;
  readonly maxBodyBytes?: number;
}

// A client that reads slower than events come is dropped rather than buffered without bound.
const MAX_STREAM_BACKLOG = 1_000;
const REPLAY_LIMIT = 1_000;

function isJson(type: string): boolean {
  return /^application\/([\w.+-]+\+)?json\b/i.test(type);
}

function isYaml(type: string): boolean {
  return /^(text|application)\/(x-)?yaml\b/i.test(type);
}

async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (type && !isJson(type)) {
    throw new PorttriggerError('UNSUPPORTED_MEDIA_TYPE', `expected application/json, got ${type}`);
  }
  const text = await c.req.text();
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidInputError('the body is not JSON', [
      { path: [], code: 'invalid_json', message: (error as Error).message },
    ]);
  }
}

function changeBody(change: ConfigChange) {
  return { rule: change.rule, warnings: change.warnings, applied: change.applied };
}

function matches(filter: { rule?: string; host?: string; type?: string }, e: PublishedEvent): boolean {
  if (filter.rule !== undefined && e.rule !== filter.rule) return false;
  if (filter.type !== undefined && e.type !== filter.type) return false;
  if (filter.host === undefined) return true;
  const hosts = e.type === 'conflict' ? [e.contender, e.holder] : [e.host];
  return hosts.includes(filter.host);
}

/**
 * Builds the API.
 * @example const app = createApp({ service, token }); await app.request('/api/v1/health')
 */
export function createApp(deps: AppDeps): Hono {
  const { service } = deps;
  const app = new Hono();
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const name = (c: Context) => parseInput(ruleNameParam, c.req.param('name'), 'rule name');

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

  app.use('*', async (c, next) => {
    if (c.req.path === `${API_PREFIX}/health`) return next();
    const presented = /^Bearer +(\S+) *$/i.exec(c.req.header('authorization') ?? '')?.[1];
    if (presented === undefined || !tokensEqual(deps.token, presented)) {
      throw new PorttriggerError(
        'UNAUTHORIZED',
        'a valid bearer token is required (Authorization: Bearer <token>)',
      );
    }
    await next();
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

  api.get('/rules', (c) => c.json({ rules: service.config.rules }));
  api.get('/rules/:name', (c) => {
    const wanted = name(c);
    const rule = service.config.rules.find((r) => r.name === wanted);
    if (!rule) throw new PorttriggerError('RULE_NOT_FOUND', `no rule named "${wanted}"`);
    return c.json({ rule });
  });
  api.post('/rules', async (c) => c.json(changeBody(await service.createRule(await readJson(c))), 201));
  api.put('/rules/:name', async (c) => {
    const wanted = name(c);
    return c.json(changeBody(await service.replaceRule(wanted, await readJson(c))));
  });
  api.delete('/rules/:name', async (c) => {
    const wanted = name(c);
    const change = await service.deleteRule(wanted);
    return c.json({ deleted: wanted, applied: change.applied });
  });
  api.post('/rules/:name/enable', async (c) =>
    c.json(changeBody(await service.setRuleEnabled(name(c), true))),
  );
  api.post('/rules/:name/disable', async (c) =>
    c.json(changeBody(await service.setRuleEnabled(name(c), false))),
  );

  api.get('/table', async (c) => c.json(await service.table()));
  api.post('/release', async (c) => {
    const selector = parseInput(releaseBody, await readJson(c), 'release request');
    return c.json({ released: await service.release({ ...compact(selector), rule: selector.rule }) });
  });
  api.get('/check', async (c) => {
    const { port, protocol } = parseInput(checkQuery, c.req.query(), 'query');
    return c.json(await service.checkPort(port, protocol));
  });

  api.get('/events', (c) => {
    const query = compact(parseInput(eventsQuery, c.req.query(), 'query'));
    const page = service.queryEvents(query);
    return c.json({
      events: page.events,
      ...(page.nextCursor !== undefined ? { nextCursor: String(page.nextCursor) } : {}),
    });
  });
  api.get('/events/stream', (c) => {
    const filter = compact(parseInput(streamQuery, c.req.query(), 'query'));
    const lastId = Number(c.req.header('last-event-id') ?? Number.NaN);
    return streamSSE(c, async (stream) => {
      const backlog: PublishedEvent[] = [];
      let closed = false;
      let wake: (() => void) | undefined;
      const notify = () => {
        wake?.();
        wake = undefined;
      };
      // Subscribed before the replay, so nothing falls between the stored events and the live ones.
      const unsubscribe = service.subscribe(
        (event) => {
          if (!matches(filter, event)) return;
          backlog.push(event);
          if (backlog.length > MAX_STREAM_BACKLOG) closed = true;
          notify();
        },
        () => {
          closed = true;
          notify();
        },
      );
      stream.onAbort(() => {
        closed = true;
        notify();
      });
      try {
        let sentId = 0;
        if (Number.isInteger(lastId) && lastId >= 0) {
          try {
            const replay = service.queryEvents({
              ...filter,
              cursor: lastId,
              order: 'asc',
              limit: REPLAY_LIMIT,
            });
            for (const event of replay.events) {
              await stream.writeSSE({ event: event.type, data: JSON.stringify(event), id: String(event.id) });
              sentId = event.id;
            }
          } catch {
            await stream.write(': the event history is unavailable, live events only\n\n');
          }
        }
        await stream.write(': live\n\n');
        while (!closed && !stream.aborted) {
          const event = backlog.shift();
          if (event) {
            if (event.id !== undefined && event.id <= sentId) continue;
            await stream.writeSSE({
              event: event.type,
              data: JSON.stringify(event),
              ...(event.id !== undefined ? { id: String(event.id) } : {}),
            });
            continue;
          }
          const woke = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(false), heartbeatMs);
            wake = () => {
              clearTimeout(timer);
              resolve(true);
            };
          });
          if (!woke && !closed) await stream.write(': heartbeat\n\n');
        }
      } finally {
        unsubscribe();
      }
    });
  });

  api.post('/config/validate', async (c) => {
    const type = c.req.header('content-type') ?? '';
    let result: Result<Config>;
    if (isYaml(type)) result = parseConfigText(await c.req.text());
    else if (!type || isJson(type)) result = validateConfig(await readJson(c));
    else throw new PorttriggerError('UNSUPPORTED_MEDIA_TYPE', `expected YAML or JSON, got ${type}`);
    return c.json({ ok: result.ok, issues: result.ok ? [] : result.issues, warnings: result.warnings });
  });
  api.post('/reload', async (c) => {
    const result = await service.reload();
    if (!result.ok) {
      throw new InvalidInputError(
        `the config file ${service.configPath} is invalid: the running config is unchanged`,
        result.issues,
      );
    }
    return c.json(result);
  });

  api.get('/openapi.json', (c) => c.json(OPENAPI_DOCUMENT));
  api.get('/metrics', (c) =>
    c.body(service.metricsText(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }),
  );
  api.get('/health', (c) => c.json(service.health()));

  app.route(API_PREFIX, api);
  return app;
}
