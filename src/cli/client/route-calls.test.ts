/**
 * The CLI's client and the route table: for every JSON route, a call sends the table's method, path, query and
 * body, and parses the reply with the table's reply schema (an answer that does not fit it is refused).
 */
import { describe, expect, it } from 'vitest';
import type { ClientInput, JsonRouteId } from '../../routes/route-types.js';
import { ROUTE_LIST, type RouteSpec } from '../../routes/table.js';
import { ApiTransport } from './transport.js';

const JSON_ROUTES = ROUTE_LIST.filter((r) => r.reply.schema !== undefined);

/** Example path parameters of a route (the table documents bodies and queries, not paths). */
function paramsOf(route: RouteSpec): Record<string, string | number> | undefined {
  if (!route.params) return undefined;
  return route.path.includes('{id}') ? { id: 3 } : { name: 'voice call' };
}

function transportAnswering(reply: unknown, seen: { method?: string; url?: string; body?: unknown }[]) {
  return new ApiTransport({
    baseUrl: 'http://127.0.0.1:8080',
    token: 't',
    fetch: async (url, init) => {
      seen.push({
        method: init?.method ?? 'GET',
        url: String(url),
        body: init?.body === undefined ? undefined : JSON.parse(String(init.body)),
      });
      return new Response(JSON.stringify(reply), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    },
  });
}

describe('the client derived from the route table', () => {
  it('covers every JSON route of the table', () => {
    expect(JSON_ROUTES.length).toBeGreaterThan(15);
  });

  it.each(JSON_ROUTES.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))(
    '%s: sends what the table says and parses the reply with its schema',
    async (_name, route) => {
      const seen: { method?: string; url?: string; body?: unknown }[] = [];
      const params = paramsOf(route);
      const input = {
        ...(params ? { params } : {}),
        ...(route.query ? { query: route.query.example } : {}),
        ...(route.body ? { body: route.body.example } : {}),
      } as unknown as ClientInput<JsonRouteId>;
      const reply = await transportAnswering(route.reply.example, seen).call(route.id as JsonRouteId, input);
      expect(reply).toEqual(route.reply.schema!.parse(route.reply.example));
      const url = new URL(seen[0]!.url!);
      expect(seen[0]!.method).toBe(route.method.toUpperCase());
      const path = route.path.replace('{name}', encodeURIComponent('voice call')).replace('{id}', '3');
      expect(url.pathname).toBe(`/api/v1${path}`);
      expect(Object.fromEntries(url.searchParams)).toEqual(route.query?.example ?? {});
      expect(seen[0]!.body).toEqual(route.body?.example);

      // An answer that does not fit the reply schema is refused, naming what is wrong.
      const wrong = transportAnswering({ unexpected: true }, []).call(route.id as JsonRouteId, input);
      await expect(wrong).rejects.toMatchObject({ code: 'API_FAILED' });
    },
  );
});
