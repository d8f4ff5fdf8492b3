/**
 * The OpenAPI 3.1 description of the REST API, written by hand as a typed object and served at
 * `/api/v1/openapi.json`. A test checks that it lists exactly the routes the app serves.
 */
import { LIMITS } from '../domain/config.js';
import { CLOSE_REASONS, EVENT_TYPES } from '../service/events.js';

/** A JSON Schema (2020-12) as OpenAPI 3.1 uses it; only the keywords this document needs. */
export interface SchemaObject {
  readonly $ref?: string;
  readonly type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly description?: string;
  readonly properties?: Readonly<Record<string, SchemaObject>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | SchemaObject;
  readonly items?: SchemaObject;
  readonly enum?: readonly (string | number | boolean)[];
  readonly const?: string | number | boolean;
  readonly oneOf?: readonly SchemaObject[];
  readonly format?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly default?: unknown;
}

/** A parameter in the path or the query. */
export interface ParameterObject {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required?: boolean;
  readonly description?: string;
  readonly schema: SchemaObject;
}

/** A body or response content by media type. */
export type ContentObject = Readonly<Record<string, { readonly schema: SchemaObject }>>;

/** One response. */
export interface ResponseObject {
  readonly description: string;
  readonly content?: ContentObject;
}

/** One operation (method of a path). */
export interface OperationObject {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly parameters?: readonly ParameterObject[];
  readonly requestBody?: { readonly required: boolean; readonly content: ContentObject };
  readonly responses: Readonly<Record<string, ResponseObject | { readonly $ref: string }>>;
  /** An empty list: no authentication (health). */
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
}

/** The methods the API uses. */
export type HttpMethod = 'get' | 'post' | 'put' | 'delete';

/** An OpenAPI 3.1 document. */
export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly servers: readonly { readonly url: string }[];
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
  readonly paths: Readonly<Record<string, Partial<Record<HttpMethod, OperationObject>>>>;
  readonly components: {
    readonly schemas: Readonly<Record<string, SchemaObject>>;
    readonly responses: Readonly<Record<string, ResponseObject>>;
    readonly securitySchemes: Readonly<Record<string, { readonly type: 'http'; readonly scheme: 'bearer' }>>;
  };
}

const ref = (name: string): SchemaObject => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: SchemaObject): ContentObject => ({ 'application/json': { schema } });
const ok = (description: string, schema: SchemaObject): ResponseObject => ({
  description,
  content: json(schema),
});
const err = (name: string) => ({ $ref: `#/components/responses/${name}` });
const ADDRESS: SchemaObject = { type: 'string', description: 'An IPv4 or IPv6 address.' };
const MS: SchemaObject = { type: 'integer', description: 'Milliseconds since the Unix epoch.' };
const FAMILY: SchemaObject = { type: 'string', enum: ['ipv4', 'ipv6'] };
const RULE_NAME: ParameterObject = {
  name: 'name',
  in: 'path',
  required: true,
  description: 'The rule name (URL-encoded).',
  schema: { type: 'string', minLength: 1, maxLength: LIMITS.ruleName },
};
const TIME_QUERY: SchemaObject = {
  type: 'string',
  description: 'Milliseconds since the epoch, or an ISO 8601 date.',
};
const FILTERS: readonly ParameterObject[] = [
  { name: 'rule', in: 'query', description: 'Only events of this rule.', schema: { type: 'string' } },
  {
    name: 'host',
    in: 'query',
    description: 'Only events of this host (holder, contender).',
    schema: ADDRESS,
  },
  { name: 'type', in: 'query', schema: { type: 'string', enum: EVENT_TYPES } },
];
const CHANGE_RESPONSES = {
  '400': err('InvalidInput'),
  '401': err('Unauthorized'),
  '409': err('Conflict'),
  '413': err('TooLarge'),
  '502': err('DatapathFailed'),
} as const;

const portSpec: SchemaObject = {
  type: 'object',
  required: ['protocol', 'ports'],
  additionalProperties: false,
  properties: {
    protocol: { type: 'string', enum: ['tcp', 'udp', 'both'] },
    ports: { type: 'string', description: 'Ports and ranges: "7000-7010,7020".', maxLength: 512 },
  },
};

const ruleProperties: Record<string, SchemaObject> = {
  name: { type: 'string', minLength: 1, maxLength: LIMITS.ruleName },
  description: { type: 'string', maxLength: LIMITS.description },
  enabled: { type: 'boolean', default: true },
  family: { type: 'string', enum: ['ipv4', 'ipv6', 'both'], default: 'both' },
  trigger: { type: 'array', items: portSpec, minItems: 1, maxItems: LIMITS.specsPerSide },
  open: { type: 'array', items: portSpec, minItems: 1, maxItems: LIMITS.specsPerSide },
  idleTimeout: {
    type: 'integer',
    minimum: LIMITS.idleTimeoutMin,
    maximum: LIMITS.idleTimeoutMax,
    default: 600,
    description: 'Seconds without trigger or inbound traffic after which the entry closes.',
  },
  lanHosts: {
    oneOf: [
      { const: 'any' },
      { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: LIMITS.lanHosts },
    ],
    default: 'any',
    description: '"any", or the addresses and CIDRs allowed to trigger.',
  },
  remote: { type: 'string', enum: ['any', 'contacted'], default: 'any' },
  onExpire: { type: 'string', enum: ['keep', 'close'], default: 'keep' },
};

const eventBase = {
  id: { type: 'integer', description: 'Position in the history (absent if it could not be stored).' },
  at: MS,
  rule: { type: 'string' },
  family: FAMILY,
} as const satisfies Record<string, SchemaObject>;

const schemas: Record<string, SchemaObject> = {
  PortSpec: portSpec,
  Rule: {
    type: 'object',
    description: 'A rule as validated (defaults filled in).',
    required: [
      'name',
      'enabled',
      'family',
      'trigger',
      'open',
      'idleTimeout',
      'lanHosts',
      'remote',
      'onExpire',
    ],
    properties: ruleProperties,
  },
  RuleInput: {
    type: 'object',
    description: 'A rule as written in the config file; omitted fields take their defaults.',
    required: ['name', 'trigger', 'open'],
    additionalProperties: false,
    properties: ruleProperties,
  },
  Issue: {
    type: 'object',
    required: ['path', 'code', 'message'],
    properties: {
      path: { type: 'array', items: { oneOf: [{ type: 'string' }, { type: 'integer' }] } },
      code: { type: 'string', description: 'Stable code, e.g. bad_ports, open_overlap, required.' },
      message: { type: 'string' },
    },
  },
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: {
          code: {
            type: 'string',
            description: 'Stable code, e.g. INVALID_INPUT, RULE_NOT_FOUND, NFT_REJECTED.',
          },
          message: { type: 'string' },
          issues: { type: 'array', items: ref('Issue') },
        },
      },
    },
  },
  ApplyReport: {
    type: 'object',
    required: ['kept', 'dropped'],
    properties: {
      kept: { type: 'integer', description: 'Entries carried over.' },
      dropped: { type: 'integer', description: 'Entries closed by the change.' },
    },
  },
  RuleChange: {
    type: 'object',
    required: ['rule', 'warnings', 'applied'],
    properties: {
      rule: ref('Rule'),
      warnings: { type: 'array', items: ref('Issue') },
      applied: ref('ApplyReport'),
    },
  },
  TriggerEntry: {
    type: 'object',
    required: ['rule', 'family', 'holder', 'expiresAt'],
    properties: {
      rule: { type: 'string' },
      family: FAMILY,
      holder: ADDRESS,
      remote: { ...ADDRESS, description: 'The only remote admitted (rules with remote: contacted).' },
      openedAt: MS,
      expiresAt: MS,
    },
  },
  TriggerTable: {
    type: 'object',
    required: ['at', 'entries', 'conflicts', 'blocked'],
    properties: {
      at: MS,
      entries: { type: 'array', items: ref('TriggerEntry') },
      conflicts: {
        type: 'array',
        items: {
          type: 'object',
          required: ['rule', 'family', 'contender', 'at'],
          properties: {
            rule: { type: 'string' },
            family: FAMILY,
            contender: ADDRESS,
            holder: ADDRESS,
            remote: ADDRESS,
            at: MS,
          },
        },
      },
      blocked: {
        type: 'array',
        items: {
          type: 'object',
          required: ['rule', 'family', 'host', 'at'],
          properties: { rule: { type: 'string' }, family: FAMILY, host: ADDRESS, at: MS },
        },
      },
    },
  },
  Event: {
    oneOf: [
      {
        type: 'object',
        required: ['type', 'at', 'rule', 'family', 'host', 'expiresAt'],
        properties: {
          ...eventBase,
          type: { const: 'opened' },
          host: ADDRESS,
          remote: ADDRESS,
          expiresAt: MS,
          adopted: { const: true, description: 'Already in the kernel when the service started.' },
        },
      },
      {
        type: 'object',
        required: ['type', 'at', 'rule', 'family', 'host', 'reason', 'openedAt'],
        properties: {
          ...eventBase,
          type: { const: 'closed' },
          host: ADDRESS,
          remote: ADDRESS,
          reason: { type: 'string', enum: CLOSE_REASONS },
          openedAt: MS,
        },
      },
      {
        type: 'object',
        required: ['type', 'at', 'rule', 'family', 'contender'],
        properties: {
          ...eventBase,
          type: { const: 'conflict' },
          contender: ADDRESS,
          holder: ADDRESS,
          remote: ADDRESS,
        },
      },
      {
        type: 'object',
        required: ['type', 'at', 'rule', 'family', 'host'],
        properties: { ...eventBase, type: { const: 'blocked' }, host: ADDRESS },
      },
    ],
  },
  EventPage: {
    type: 'object',
    required: ['events'],
    properties: {
      events: { type: 'array', items: ref('Event') },
      nextCursor: { type: 'string', description: 'Pass as `cursor` for the next page; absent on the last.' },
    },
  },
  ValidationResult: {
    type: 'object',
    required: ['ok', 'issues', 'warnings'],
    properties: {
      ok: { type: 'boolean' },
      issues: { type: 'array', items: ref('Issue') },
      warnings: { type: 'array', items: ref('Issue') },
    },
  },
  PortCheck: {
    type: 'object',
    required: ['port', 'protocol', 'open', 'matches'],
    properties: {
      port: { type: 'integer' },
      protocol: { type: 'string', enum: ['tcp', 'udp'] },
      open: { type: 'boolean', description: 'Some entry forwards this port now.' },
      matches: {
        type: 'array',
        items: {
          type: 'object',
          required: ['rule', 'enabled', 'entries'],
          properties: {
            rule: { type: 'string' },
            enabled: { type: 'boolean' },
            entries: { type: 'array', items: ref('TriggerEntry') },
          },
        },
      },
    },
  },
  Health: {
    type: 'object',
    required: ['status', 'datapath', 'eventStore', 'uptime'],
    properties: {
      status: { type: 'string', enum: ['ok', 'degraded'] },
      datapath: {
        type: 'object',
        required: ['status', 'entries'],
        properties: {
          status: { type: 'string', enum: ['ok', 'failing'] },
          error: { type: 'string' },
          entries: { type: 'integer' },
          lastReadAt: MS,
        },
      },
      eventStore: {
        type: 'object',
        required: ['status', 'path'],
        properties: {
          status: { type: 'string', enum: ['ok', 'failing'] },
          error: { type: 'string' },
          path: { type: 'string' },
        },
      },
      uptime: { type: 'integer', description: 'Seconds since the service started.' },
    },
  },
};

const errorResponse = (description: string): ResponseObject => ({ description, content: json(ref('Error')) });

/** The OpenAPI document of the API. */
export const OPENAPI_DOCUMENT: OpenApiDocument = {
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
  paths: {
    '/rules': {
      get: {
        operationId: 'listRules',
        summary: 'The rules of the running config',
        tags: ['rules'],
        responses: {
          '200': ok('The rules', {
            type: 'object',
            required: ['rules'],
            properties: { rules: { type: 'array', items: ref('Rule') } },
          }),
          '401': err('Unauthorized'),
        },
      },
      post: {
        operationId: 'createRule',
        summary: 'Add a rule',
        description: 'Validated with the whole config, applied, then written to the config file.',
        tags: ['rules'],
        requestBody: { required: true, content: json(ref('RuleInput')) },
        responses: { '201': ok('Created and applied', ref('RuleChange')), ...CHANGE_RESPONSES },
      },
    },
    '/rules/{name}': {
      get: {
        operationId: 'getRule',
        summary: 'One rule',
        tags: ['rules'],
        parameters: [RULE_NAME],
        responses: {
          '200': ok('The rule', { type: 'object', required: ['rule'], properties: { rule: ref('Rule') } }),
          '401': err('Unauthorized'),
          '404': err('NotFound'),
        },
      },
      put: {
        operationId: 'replaceRule',
        summary: 'Replace a rule',
        description: 'The body may rename the rule; without `name` it keeps the one in the path.',
        tags: ['rules'],
        parameters: [RULE_NAME],
        requestBody: { required: true, content: json(ref('RuleInput')) },
        responses: {
          '200': ok('Replaced and applied', ref('RuleChange')),
          '404': err('NotFound'),
          ...CHANGE_RESPONSES,
        },
      },
      delete: {
        operationId: 'deleteRule',
        summary: 'Delete a rule (its entries close)',
        tags: ['rules'],
        parameters: [RULE_NAME],
        responses: {
          '200': ok('Deleted', {
            type: 'object',
            required: ['deleted', 'applied'],
            properties: { deleted: { type: 'string' }, applied: ref('ApplyReport') },
          }),
          '404': err('NotFound'),
          ...CHANGE_RESPONSES,
        },
      },
    },
    '/rules/{name}/enable': {
      post: {
        operationId: 'enableRule',
        summary: 'Enable a rule',
        tags: ['rules'],
        parameters: [RULE_NAME],
        responses: { '200': ok('Enabled', ref('RuleChange')), '404': err('NotFound'), ...CHANGE_RESPONSES },
      },
    },
    '/rules/{name}/disable': {
      post: {
        operationId: 'disableRule',
        summary: 'Disable a rule (its entries close)',
        tags: ['rules'],
        parameters: [RULE_NAME],
        responses: { '200': ok('Disabled', ref('RuleChange')), '404': err('NotFound'), ...CHANGE_RESPONSES },
      },
    },
    '/table': {
      get: {
        operationId: 'getTable',
        summary: 'The live trigger table',
        tags: ['state'],
        responses: {
          '200': ok('The table, read now', ref('TriggerTable')),
          '401': err('Unauthorized'),
          '502': err('DatapathFailed'),
        },
      },
    },
    '/release': {
      post: {
        operationId: 'release',
        summary: 'Close entries of a rule now',
        tags: ['state'],
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            required: ['rule'],
            additionalProperties: false,
            properties: { rule: { type: 'string' }, holder: ADDRESS, remote: ADDRESS, family: FAMILY },
          }),
        },
        responses: {
          '200': ok('How many closed', {
            type: 'object',
            required: ['released'],
            properties: { released: { type: 'integer' } },
          }),
          '400': err('InvalidInput'),
          '401': err('Unauthorized'),
          '404': err('NotFound'),
          '502': err('DatapathFailed'),
        },
      },
    },
    '/events': {
      get: {
        operationId: 'listEvents',
        summary: 'The event history, newest first, by pages',
        tags: ['events'],
        parameters: [
          ...FILTERS,
          { name: 'since', in: 'query', schema: TIME_QUERY },
          { name: 'until', in: 'query', schema: TIME_QUERY },
          {
            name: 'limit',
            in: 'query',
            schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
          {
            name: 'cursor',
            in: 'query',
            description: 'The `nextCursor` of the previous page.',
            schema: { type: 'string' },
          },
          { name: 'order', in: 'query', schema: { type: 'string', enum: ['desc', 'asc'], default: 'desc' } },
        ],
        responses: {
          '200': ok('A page of events', ref('EventPage')),
          '400': err('InvalidInput'),
          '401': err('Unauthorized'),
          '503': err('Unavailable'),
        },
      },
    },
    '/events/stream': {
      get: {
        operationId: 'streamEvents',
        summary: 'Live events (Server-Sent Events)',
        description:
          'Each event is sent as `event: <type>`, `data: <Event JSON>`, `id: <id>`; a comment line every 15 s ' +
          'keeps the connection open. With `Last-Event-ID`, stored events after that id are sent first.',
        tags: ['events'],
        parameters: [...FILTERS, { name: 'Last-Event-ID', in: 'header', schema: { type: 'string' } }],
        responses: {
          '200': {
            description: 'The event stream',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          '400': err('InvalidInput'),
          '401': err('Unauthorized'),
        },
      },
    },
    '/config/validate': {
      post: {
        operationId: 'validateConfig',
        summary: 'Validate a config without applying it',
        tags: ['config'],
        requestBody: {
          required: true,
          content: {
            'text/yaml': { schema: { type: 'string' } },
            'application/yaml': { schema: { type: 'string' } },
            'application/json': { schema: { type: 'object' } },
          },
        },
        responses: {
          '200': ok('Every issue and warning', ref('ValidationResult')),
          '400': err('InvalidInput'),
          '401': err('Unauthorized'),
          '413': err('TooLarge'),
          '415': errorResponse('Neither YAML nor JSON'),
        },
      },
    },
    '/reload': {
      post: {
        operationId: 'reload',
        summary: 'Read the config file again and apply it',
        description: 'An invalid file changes nothing: 400 with every issue.',
        tags: ['config'],
        responses: {
          '200': ok('Applied', {
            type: 'object',
            required: ['ok', 'warnings', 'applied'],
            properties: {
              ok: { const: true },
              warnings: { type: 'array', items: ref('Issue') },
              applied: ref('ApplyReport'),
            },
          }),
          '400': err('InvalidInput'),
          '401': err('Unauthorized'),
          '502': err('DatapathFailed'),
        },
      },
    },
    '/check': {
      get: {
        operationId: 'checkPort',
        summary: 'Is a port open now, for which rule, to which host',
        tags: ['state'],
        parameters: [
          {
            name: 'port',
            in: 'query',
            required: true,
            schema: { type: 'integer', minimum: 1, maximum: 65535 },
          },
          { name: 'protocol', in: 'query', required: true, schema: { type: 'string', enum: ['tcp', 'udp'] } },
        ],
        responses: {
          '200': ok('The answer', ref('PortCheck')),
          '400': err('InvalidInput'),
          '401': err('Unauthorized'),
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        tags: ['meta'],
        responses: { '200': ok('OpenAPI 3.1', { type: 'object' }), '401': err('Unauthorized') },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        tags: ['meta'],
        responses: {
          '200': {
            description: 'Text exposition format 0.0.4',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          '401': err('Unauthorized'),
        },
      },
    },
    '/health': {
      get: {
        operationId: 'health',
        summary: 'Liveness and the state of the datapath and the event history (no authentication)',
        tags: ['meta'],
        security: [],
        responses: { '200': ok('ok, or degraded when a part fails', ref('Health')) },
      },
    },
  },
  components: {
    schemas,
    responses: {
      InvalidInput: errorResponse('Invalid input: `issues` lists every problem (INVALID_INPUT)'),
      Unauthorized: errorResponse('Missing or wrong bearer token (UNAUTHORIZED)'),
      NotFound: errorResponse('No such rule (RULE_NOT_FOUND)'),
      Conflict: errorResponse(
        'The name exists (RULE_EXISTS), or the file changed on disk (CONFIG_FILE_CHANGED)',
      ),
      TooLarge: errorResponse('Body over 256 KiB (PAYLOAD_TOO_LARGE)'),
      DatapathFailed: errorResponse('nft refused or failed (NFT_REJECTED, NFT_FAILED); nothing changed'),
      Unavailable: errorResponse('The event history or the service is unavailable'),
    },
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
  },
};
