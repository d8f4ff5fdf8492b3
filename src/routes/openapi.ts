/**
 * The OpenAPI 3.1 document of the API, generated from the route table (routes.ts) and its zod schemas with
 * zod's own JSON Schema output. Nothing here is written by hand but the words.
 */
import { z } from 'zod';
import { API_ERROR_CODE_MEANINGS, type ApiErrorCode } from '../domain/error-codes.js';
import { STATUS_BY_CODE } from './errors.js';
import { errorReply } from './schemas.js';
import { ROUTE_LIST, type RouteSpec } from './table.js';

/** A JSON Schema (2020-12), as OpenAPI 3.1 uses it. */
export type JsonSchema = Record<string, unknown>;

/** The OpenAPI document, as served at `/api/v1/openapi.json`. */
export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly servers: readonly { readonly url: string }[];
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
  readonly paths: Readonly<Record<string, Readonly<Record<string, JsonSchema>>>>;
  readonly components: {
    readonly schemas: Readonly<Record<string, JsonSchema>>;
    readonly securitySchemes: Readonly<Record<string, JsonSchema>>;
  };
}

/** A schema as JSON Schema: `input` for what clients send (before transforms), `output` for replies. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function parametersOf(route: RouteSpec): JsonSchema[] {
  const parameters: JsonSchema[] = [];
  for (const [where, schema] of [
    ['path', route.params?.schema],
    ['query', route.query?.schema],
  ] as const) {
    if (!schema) continue;
    const json = jsonSchemaOf(schema, 'input') as {
      properties?: Record<string, JsonSchema>;
      required?: string[];
    };
    for (const [name, property] of Object.entries(json.properties ?? {})) {
      const { description, ...rest } = property;
      parameters.push({
        name,
        in: where,
        required: where === 'path' || (json.required ?? []).includes(name),
        ...(description !== undefined ? { description } : {}),
        schema: rest,
        ...(route.query?.example[name] !== undefined && where === 'query'
          ? { example: route.query.example[name] }
          : {}),
      });
    }
  }
  for (const header of route.headers ?? []) {
    parameters.push({
      name: header.name,
      in: 'header',
      description: header.description,
      schema: { type: 'string' },
    });
  }
  return parameters;
}

const ERROR_CONTENT = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };

function errorResponses(route: RouteSpec): Record<string, JsonSchema> {
  const door: ApiErrorCode[] =
    route.auth === false ? ['FOREIGN_HOST'] : ['UNAUTHORIZED', 'TOO_MANY_ATTEMPTS', 'FOREIGN_HOST'];
  const codes: ApiErrorCode[] = [...door, ...route.errors];
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of codes) {
    const status = STATUS_BY_CODE[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, list]) => [
        String(status),
        {
          description: list.map((c) => `${c}: ${API_ERROR_CODE_MEANINGS[c]}`).join('; '),
          content: ERROR_CONTENT,
        },
      ]),
  );
}

function operationId(route: RouteSpec): string {
  const words = route.path.split(/[^A-Za-z]+/).filter(Boolean);
  return route.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

function operationOf(route: RouteSpec): JsonSchema {
  const parameters = parametersOf(route);
  const { reply, body } = route;
  const content: JsonSchema = reply.contentType
    ? { [reply.contentType]: { schema: { type: 'string' } } }
    : {
        'application/json': {
          schema: reply.schema ? jsonSchemaOf(reply.schema, 'output') : { type: 'object' },
          ...(reply.example !== undefined ? { example: reply.example } : {}),
        },
      };
  return {
    operationId: operationId(route),
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    ...(route.auth === false ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body
      ? {
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: jsonSchemaOf(body.schema, 'input'), example: body.example },
              ...Object.fromEntries(
                (body.alternatives ?? []).map((type) => [type, { schema: { type: 'string' } }]),
              ),
            },
          },
        }
      : {}),
    responses: {
      [String(reply.status)]: { description: reply.description, content },
      ...errorResponses(route),
    },
  };
}

/** Builds the document from a route table (the API's by default). */
export function buildOpenApiDocument(routes: readonly RouteSpec[] = ROUTE_LIST): OpenApiDocument {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    paths[route.path] = { ...paths[route.path], [route.method]: operationOf(route) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'porttrigger',
      version: '1',
      description:
        'Port triggering for Linux gateways. Every route but /health needs `Authorization: Bearer <token>` ' +
        '(the token file is `api.tokenFile`). Errors are `{ error: { code, message, issues? } }`.',
    },
    servers: [{ url: '/api/v1' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: { Error: jsonSchemaOf(errorReply, 'output') },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
  };
}
