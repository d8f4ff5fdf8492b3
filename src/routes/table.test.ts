import { describe, expect, it } from 'vitest';
import { MAX_PAGE } from '../domain/paging.js';
import { buildOpenApiDocument, jsonSchemaOf } from './openapi.js';
import { ROUTE_LIST as ROUTES } from './table.js';

describe('the route table', () => {
  it.each(ROUTES.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))(
    '%s: every documented example validates against its schema',
    (_name, route) => {
      if (route.body) expect(route.body.schema.safeParse(route.body.example).error).toBeUndefined();
      if (route.query) expect(route.query.schema.safeParse(route.query.example).error).toBeUndefined();
      if (route.reply.schema) {
        expect(route.reply.example, 'a JSON reply has an example').toBeDefined();
        expect(route.reply.schema.safeParse(route.reply.example).error).toBeUndefined();
      }
    },
  );

  it('refuses a wrong example (the check above can fail)', () => {
    const list = ROUTES.find((r) => r.path === '/rules' && r.method === 'get')!;
    expect(list.reply.schema!.safeParse({ rules: [{ name: 'x' }] }).success).toBe(false);
  });

  it('declares each route once', () => {
    const keys = ROUTES.map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('the generated OpenAPI document', () => {
  const doc = buildOpenApiDocument();
  // biome-ignore lint/suspicious/noExplicitAny: the document is plain JSON, checked by matchers
  const op = (path: string, method: string): any => doc.paths[path]?.[method];

  it('says what the schemas accept: ports as numbers or strings, bounded names, an integer cursor', () => {
    const ports = op('/rules', 'post').requestBody.content['application/json'].schema.properties.open.items
      .properties.ports;
    expect(ports.anyOf.map((s: { type: string }) => s.type)).toEqual(['string', 'integer']);
    const release = op('/release', 'post').requestBody.content['application/json'].schema;
    expect(release.properties.rule).toMatchObject({ type: 'string', minLength: 1, maxLength: 64 });
    const params = Object.fromEntries(
      op('/events', 'get').parameters.map((p: { name: string; schema: unknown }) => [p.name, p.schema]),
    );
    expect(params.cursor).toMatchObject({ type: 'integer', minimum: 0 });
    expect(params.limit).toMatchObject({ type: 'integer', minimum: 1, maximum: MAX_PAGE });
    expect(op('/rules/{name}', 'get').parameters).toMatchObject([
      { name: 'name', in: 'path', required: true, schema: { type: 'string', maxLength: 64 } },
    ]);
  });

  it('documents replies with their example and every error code with its status', () => {
    const table = op('/table', 'get');
    expect(table.responses['200'].content['application/json'].example.entries).toHaveLength(1);
    expect(table.responses['401'].description).toMatch(/^UNAUTHORIZED: /);
    expect(table.responses['502'].description).toContain('NFT_LIST_FAILED');
    const create = op('/rules', 'post');
    expect(create.responses['409'].description).toMatch(/RULE_EXISTS: .*; CONFIG_FILE_CHANGED: /);
    expect(op('/health', 'get').security).toEqual([]);
    expect(op('/health', 'get').responses['401']).toBeUndefined();
  });

  it('describes outputs after transforms and inputs before them', () => {
    const rule = jsonSchemaOf(ROUTES.find((r) => r.path === '/rules/{name}')!.reply.schema!, 'output') as {
      properties: {
        rule: { required: string[]; properties: { open: { items: { properties: { ports: unknown } } } } };
      };
    };
    expect(rule.properties.rule.required).toContain('enabled');
    expect(rule.properties.rule.properties.open.items.properties.ports).toEqual({ type: 'string' });
  });
});
