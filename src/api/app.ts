/**
 * The REST API of the service (hono). A thin adapter: it checks the token, parses and validates parameters,
 * calls the service and maps errors to statuses in one place (errors.ts). Testable in-process with
 * `app.request()`.
 */

import { zValidator } from '@hono/zod-validator';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import type { z } from 'zod';
import { parseConfigText, validateConfig } from '../domain/config.js';
import { InvalidInputError, PorttriggerError, type Result } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import { MAX_PAGE } from '../domain/paging.js';
import type { Config } from '../domain/types.js';
import type { PublishedEvent } from '../service/events.js';
import {
  DEFAULT_FEED_LIMITS,
  type FeedLimits,
  feedSinkOf,
  runLiveFeed,
  sseMessage,
} from '../service/live-feed.js';
import type { ConfigChange, Service } from '../service/service.js';
import { bearerToken, tokensEqual } from './auth.js';
import { API_PREFIX } from './contract.js';
import { errorResponse } from './errors.js';
import { buildOpenApiDocument } from './openapi.js';
import { compact, parseInput, zodIssues } from './params.js';
import {
  checkQuery,
  type checkReply,
  type deleteReply,
  type eventPageReply,
  eventsQuery,
  type healthReply,
  type learnProposalsReply,
  learnStartBody,
  learnStatusQuery,
  type learnStatusReply,
  proposalParams,
  releaseBody,
  type releaseReply,
  type reloadReply,
  type ruleChangeReply,
  ruleNameParams,
  type ruleReply,
  type rulesReply,
  streamQuery,
  type tableReply,
  type validationReply,
} from './schemas.js';

export { API_PREFIX } from './contract.js';

/** The largest request body accepted (413 beyond). */
export const MAX_BODY_BYTES = 256 * 1024;

/** What the app needs; the composition root hands it in. */
export interface AppDeps {
  readonly service: Service;
  /** The bearer token every route but /health requires (read or created by the composition root). */
  readonly token: string;
  readonly logger?: Logger;
  /** The bounds of an event stream: heartbeat, backlog and write timeout of a client (default: DEFAULT_FEED_LIMITS). */
  readonly feed?: Partial<FeedLimits>;
  readonly maxBodyBytes?: number;
}

// A reconnecting client gets at most one page of the history replayed.
const REPLAY_LIMIT = MAX_PAGE;

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
  return parseJson(await c.req.text());
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidInputError('the body is not JSON', [
      { path: [], code: 'invalid_json', message: (error as Error).message },
    ]);
  }
}

/** A reply as the schema describes it; the values the service returns are readonly, the schema's are not. */
type Reply<S extends z.ZodType> = DeepReadonly<z.output<S>>;
type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** Checks query and path parameters with their schema; a failure is INVALID_INPUT with every issue. */
function valid<T extends 'query' | 'param', S extends z.ZodObject>(target: T, schema: S, what: string) {
  return zValidator(target, schema, (result) => {
    if (!result.success) {
      throw new InvalidInputError(`invalid ${what}`, zodIssues(result.error.issues, result.data));
    }
  });
}

function changeBody(change: ConfigChange): Reply<typeof ruleChangeReply> {
  return {
    ...(change.rule ? { rule: change.rule } : {}),
    warnings: change.warnings,
    applied: change.applied,
  };
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
  const feed: FeedLimits = { ...DEFAULT_FEED_LIMITS, ...deps.feed };
  const named = valid('param', ruleNameParams, 'rule name');
  const document = buildOpenApiDocument();

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
    const presented = bearerToken(c.req.header('authorization'));
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

  api.get('/rules', (c) => c.json({ rules: service.config.rules } satisfies Reply<typeof rulesReply>));
  api.get('/rules/:name', named, (c) => {
    const { name } = c.req.valid('param');
    const rule = service.config.rules.find((r) => r.name === name);
    if (!rule) throw new PorttriggerError('RULE_NOT_FOUND', `no rule named "${name}"`);
    return c.json({ rule } satisfies Reply<typeof ruleReply>);
  });
  api.post('/rules', async (c) => c.json(changeBody(await service.createRule(await readJson(c))), 201));
  api.put('/rules/:name', named, async (c) => {
    const { name } = c.req.valid('param');
    return c.json(changeBody(await service.replaceRule(name, await readJson(c))));
  });
  api.delete('/rules/:name', named, async (c) => {
    const { name } = c.req.valid('param');
    const change = await service.deleteRule(name);
    return c.json({ deleted: name, applied: change.applied } satisfies Reply<typeof deleteReply>);
  });
  api.post('/rules/:name/enable', named, async (c) =>
    c.json(changeBody(await service.setRuleEnabled(c.req.valid('param').name, true))),
  );
  api.post('/rules/:name/disable', named, async (c) =>
    c.json(changeBody(await service.setRuleEnabled(c.req.valid('param').name, false))),
  );

  api.get('/table', async (c) => c.json((await service.table()) satisfies Reply<typeof tableReply>));
  api.post('/release', async (c) => {
    const selector = parseInput(releaseBody, await readJson(c), 'release request');
    const released = await service.release({ ...compact(selector), rule: selector.rule });
    return c.json({ released } satisfies Reply<typeof releaseReply>);
  });
  api.get('/check', valid('query', checkQuery, 'query'), async (c) => {
    const { port, protocol } = c.req.valid('query');
    return c.json((await service.checkPort(port, protocol)) satisfies Reply<typeof checkReply>);
  });

  api.get('/events', valid('query', eventsQuery, 'query'), (c) => {
    const page = service.queryEvents(compact(c.req.valid('query')));
    return c.json({
      events: page.events,
      ...(page.nextCursor !== undefined ? { nextCursor: String(page.nextCursor) } : {}),
    } satisfies Reply<typeof eventPageReply>);
  });
  api.get('/events/stream', valid('query', streamQuery, 'query'), (c) => {
    const filter = compact(c.req.valid('query'));
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
  });

  api.post('/config/validate', async (c) => {
    const type = c.req.header('content-type') ?? '';
    let result: Result<Config>;
    if (isYaml(type)) result = parseConfigText(await c.req.text());
    else if (!type || isJson(type)) result = validateConfig(await readJson(c));
    else throw new PorttriggerError('UNSUPPORTED_MEDIA_TYPE', `expected YAML or JSON, got ${type}`);
    return c.json({
      ok: result.ok,
      issues: result.ok ? [] : result.issues,
      warnings: result.warnings,
    } satisfies Reply<typeof validationReply>);
  });
  api.post('/reload', async (c) => {
    const result = await service.reload();
    if (!result.ok) {
      throw new InvalidInputError(
        `the config file ${service.configPath} is invalid: the running config is unchanged`,
        result.issues,
      );
    }
    return c.json(result satisfies Reply<typeof reloadReply>);
  });

  api.get('/learn', valid('query', learnStatusQuery, 'query'), (c) =>
    c.json(service.learn.status(c.req.valid('query').after) satisfies Reply<typeof learnStatusReply>),
  );
  api.post('/learn/start', async (c) => {
    const text = await c.req.text();
    const type = c.req.header('content-type') ?? '';
    if (type && !isJson(type)) {
      throw new PorttriggerError('UNSUPPORTED_MEDIA_TYPE', `expected application/json, got ${type}`);
    }
    const body = parseInput(learnStartBody, text.trim() === '' ? {} : parseJson(text), 'learning request');
    return c.json((await service.learn.start(compact(body))) satisfies Reply<typeof learnStatusReply>, 201);
  });
  api.post('/learn/stop', async (c) =>
    c.json((await service.learn.stop()) satisfies Reply<typeof learnStatusReply>),
  );
  api.get('/learn/proposals', async (c) => {
    const { proposals, notes } = await service.learn.proposals();
    return c.json({ proposals: [...proposals], notes: [...notes] } satisfies Reply<
      typeof learnProposalsReply
    >);
  });
  api.post('/learn/proposals/:id/apply', valid('param', proposalParams, 'proposal number'), async (c) =>
    c.json(changeBody(await service.learn.apply(c.req.valid('param').id)), 201),
  );

  api.get('/openapi.json', (c) => c.json(document));
  api.get('/metrics', (c) =>
    c.body(service.metricsText(), 200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }),
  );
  api.get('/health', (c) => c.json(service.health() satisfies Reply<typeof healthReply>));

  app.route(API_PREFIX, api);
  return app;
}
