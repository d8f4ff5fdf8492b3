/**
 * The one route table of the HTTP API: each route's method, path, the schemas of its parameters, body and
 * reply, the error codes it answers, and examples. The server registers these routes in a loop (app.ts), the
 * OpenAPI document is generated from them (openapi.ts), the CLI's client derives its typed requests and replies
 * from them (cli/client/), and the panel calls their operations in-process (operations.ts).
 */
import type { z } from 'zod';
import type { ApiErrorCode } from '../domain/error-codes.js';
import {
  applyReport,
  checkQuery,
  checkReply,
  configInput,
  deleteReply,
  eventPageReply,
  eventsQuery,
  healthReply,
  learnApplyBody,
  learnProposalsReply,
  learnStartBody,
  learnStatusQuery,
  learnStatusReply,
  proposalParams,
  releaseBody,
  releaseReply,
  reloadReply,
  ruleChangeReply,
  ruleInput,
  ruleNameParams,
  ruleReply,
  rulesReply,
  streamQuery,
  switchReply,
  tableReply,
  validationReply,
} from './schemas.js';

/** Every route lives under this prefix. */
export const API_PREFIX = '/api/v1';

/** The methods the API uses. */
export type HttpMethod = 'get' | 'post' | 'put' | 'delete';

/** One route. `path` is in OpenAPI form (`/rules/{name}`), under `/api/v1`. */
export interface RouteSpec {
  readonly method: HttpMethod;
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: 'rules' | 'state' | 'events' | 'config' | 'learn' | 'meta';
  /** False for the one route served without a token. */
  readonly auth?: false;
  /** The path parameters; `what` names them in the message of an INVALID_INPUT. */
  readonly params?: { readonly schema: z.ZodObject; readonly what: string };
  readonly query?: { readonly schema: z.ZodObject; readonly example: Record<string, string> };
  readonly headers?: readonly { readonly name: string; readonly description: string }[];
  readonly body?: {
    readonly schema: z.ZodType;
    /** Names the body in the message of an INVALID_INPUT. */
    readonly what: string;
    readonly example: unknown;
    /** The operation validates this body itself (the service with the whole config, or the config validator with line numbers): the route passes it on as it came. */
    readonly validatedBy?: 'operation';
    /** An empty body is `{}`. */
    readonly optional?: true;
    /** Other media types the body may come as, described in words (YAML as text). */
    readonly alternatives?: readonly string[];
  };
  readonly reply: {
    readonly status: 200 | 201;
    readonly description: string;
    /** A JSON reply; absent for text replies. */
    readonly schema?: z.ZodType;
    readonly example?: unknown;
    readonly contentType?: 'text/plain' | 'text/event-stream';
  };
  /** The codes this route answers besides UNAUTHORIZED (implied by `auth`). */
  readonly errors: readonly ApiErrorCode[];
}

/** Keeps a route's literal types (its schemas, method and path) for the types derived from the table. */
function route<const R extends RouteSpec>(spec: R): R {
  return spec;
}

const rule = {
  name: 'Game',
  enabled: true,
  family: 'both',
  trigger: [{ protocol: 'tcp', ports: '6970' }],
  open: [{ protocol: 'udp', ports: '7000-7010' }],
  idleTimeout: 600,
  lanHosts: 'any',
  remote: 'any',
  onExpire: 'keep',
} as const;
const entry = {
  rule: 'Game',
  family: 'ipv4',
  holder: '192.168.1.10',
  openedAt: 1_750_000_000_000,
  expiresAt: 1_750_000_600_000,
} as const;
const change = { rule, warnings: [], applied: { kept: 0, dropped: 0 } };
const CHANGE_ERRORS: readonly ApiErrorCode[] = [
  'INVALID_INPUT',
  'RULE_EXISTS',
  'CONFIG_FILE_CHANGED',
  'CONFIG_WRITE_FAILED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'NFT_REJECTED',
  'NFT_TIMEOUT',
  'NFT_MISSING',
  'SERVICE_STOPPED',
];
const RULE_ERRORS: readonly ApiErrorCode[] = ['RULE_NOT_FOUND', 'INVALID_INPUT', ...CHANGE_ERRORS];
const SWITCH_ERRORS: readonly ApiErrorCode[] = [
  'CONFIG_FILE_CHANGED',
  'CONFIG_WRITE_FAILED',
  'NFT_REJECTED',
  'NFT_TIMEOUT',
  'NFT_MISSING',
  'SERVICE_STOPPED',
];

const learnStatus = {
  state: 'running',
  host: '192.168.1.10',
  startedAt: 1_750_000_000_000,
  endsAt: 1_750_000_300_000,
  outbound: 1,
  inbound: 1,
  dropped: 0,
  recent: [
    {
      seq: 1,
      at: 1_750_000_001_000,
      direction: 'outbound',
      family: 'ipv4',
      protocol: 'tcp',
      source: '192.168.1.10',
      sourcePort: 40_000,
      destination: '203.0.113.10',
      port: 6970,
    },
    {
      seq: 2,
      at: 1_750_000_003_000,
      direction: 'inbound',
      family: 'ipv4',
      protocol: 'udp',
      source: '203.0.113.10',
      sourcePort: 5000,
      destination: '198.51.100.1',
      port: 7000,
    },
  ],
  lanSubnets: ['192.168.1.0/24'],
  outsideLan: 0,
  outsideLanSources: [],
} as const;
const proposal = {
  id: 1,
  rule: {
    name: 'Learned tcp 6970',
    trigger: [{ protocol: 'tcp', ports: '6970' }],
    open: [{ protocol: 'udp', ports: '7000-7003' }],
    remote: 'contacted',
    idleTimeout: 60,
  },
  confidence: 'high',
  confidenceReason:
    'high: the remote the device reached on tcp 6970 called back 3 times, and no other outbound connection explains the attempts as well',
  evidence:
    '3 inbound attempts on udp 7000-7003 from 203.0.113.10, 2-4 s after 192.168.1.10 connected to 203.0.113.10 tcp 6970',
  reasons: ['trigger tcp 6970: the attempts came from the remote the device reached on tcp 6970'],
  attempts: 3,
  sources: ['203.0.113.10'],
  conflicts: [
    'its udp ports overlap a static forward of table ip nat (chain prerouting) to 192.168.1.50:7001 (udp 7001)',
  ],
} as const;

/** The routes of learning sessions. */
const LEARN_ROUTES = {
  learnStatus: route({
    method: 'get',
    path: '/learn',
    summary: 'The running or last learning session: counts and the latest connections it recorded',
    tag: 'learn',
    query: { schema: learnStatusQuery, example: { after: '1' } },
    reply: { status: 200, description: 'The session', schema: learnStatusReply, example: learnStatus },
    errors: ['INVALID_INPUT'],
  }),
  startLearning: route({
    method: 'post',
    path: '/learn/start',
    summary: 'Start a learning session for one LAN device (or every LAN host)',
    description:
      "Records the device's outbound connections and the inbound attempts that nothing forwarded, until it is " +
      'stopped or its time is up (default 300 s, at most 3600 s). One session at a time.',
    tag: 'learn',
    body: {
      schema: learnStartBody,
      what: 'learning request',
      optional: true,
      example: { host: '192.168.1.10', durationS: 300 },
    },
    reply: { status: 201, description: 'Started', schema: learnStatusReply, example: learnStatus },
    errors: [
      'INVALID_INPUT',
      'LEARN_ACTIVE',
      'LEARN_UNAVAILABLE',
      'UNSUPPORTED_MEDIA_TYPE',
      'NFT_REJECTED',
      'NFT_TIMEOUT',
      'NFT_MISSING',
      'SERVICE_STOPPED',
    ],
  }),
  stopLearning: route({
    method: 'post',
    path: '/learn/stop',
    summary: 'Stop the running learning session; its recordings and proposals stay until the next one',
    tag: 'learn',
    reply: {
      status: 200,
      description: 'The session as it ended',
      schema: learnStatusReply,
      example: {
        ...learnStatus,
        state: 'finished',
        endsAt: undefined,
        endedAt: 1_750_000_060_000,
        endReason: 'stopped',
      },
    },
    errors: [],
  }),
  learnProposals: route({
    method: 'get',
    path: '/learn/proposals',
    summary: 'The rules the recordings of the running or last session suggest, with their evidence',
    tag: 'learn',
    reply: {
      status: 200,
      description:
        'The proposals, most certain first, checked against the rules and the static port forwards of other tools; notes say what could not be checked',
      schema: learnProposalsReply,
      example: { proposals: [proposal], notes: [] },
    },
    errors: ['LEARN_NOT_FOUND'],
  }),
  applyProposal: route({
    method: 'post',
    path: '/learn/proposals/{id}/apply',
    summary: 'Add a proposal as a rule, through the same path as POST /rules',
    description: 'A proposal of low confidence is refused (INVALID_INPUT) unless the body confirms it.',
    tag: 'learn',
    params: { schema: proposalParams, what: 'proposal number' },
    body: { schema: learnApplyBody, what: 'confirmation', optional: true, example: { lowConfidence: true } },
    reply: { status: 201, description: 'Created and applied', schema: ruleChangeReply, example: change },
    errors: ['LEARN_NOT_FOUND', 'UNSUPPORTED_MEDIA_TYPE', ...CHANGE_ERRORS],
  }),
} as const;

/** Every route of the API, by the name of its operation. */
export const ROUTES = {
  listRules: route({
    method: 'get',
    path: '/rules',
    summary: 'The rules of the running config, defaults filled in',
    tag: 'rules',
    reply: { status: 200, description: 'The rules', schema: rulesReply, example: { rules: [rule] } },
    errors: [],
  }),
  createRule: route({
    method: 'post',
    path: '/rules',
    summary: 'Add a rule',
    description: 'Validated with the whole config, applied, then written to the config file.',
    tag: 'rules',
    body: {
      schema: ruleInput,
      what: 'rule',
      validatedBy: 'operation',
      example: {
        name: 'Game',
        trigger: [{ protocol: 'tcp', ports: '6970' }],
        open: [{ protocol: 'udp', ports: 7000 }],
      },
    },
    reply: { status: 201, description: 'Created and applied', schema: ruleChangeReply, example: change },
    errors: CHANGE_ERRORS,
  }),
  getRule: route({
    method: 'get',
    path: '/rules/{name}',
    summary: 'One rule',
    tag: 'rules',
    params: { schema: ruleNameParams, what: 'rule name' },
    reply: { status: 200, description: 'The rule', schema: ruleReply, example: { rule } },
    errors: ['RULE_NOT_FOUND', 'INVALID_INPUT'],
  }),
  replaceRule: route({
    method: 'put',
    path: '/rules/{name}',
    summary: 'Replace a rule',
    description: 'The body may rename the rule; without `name` it keeps the one in the path.',
    tag: 'rules',
    params: { schema: ruleNameParams, what: 'rule name' },
    body: {
      schema: ruleInput,
      what: 'rule',
      validatedBy: 'operation',
      example: { ...rule, idleTimeout: 300 },
    },
    reply: {
      status: 200,
      description: 'Replaced and applied',
      schema: ruleChangeReply,
      example: { ...change, rule: { ...rule, idleTimeout: 300 }, applied: { kept: 1, dropped: 0 } },
    },
    errors: RULE_ERRORS,
  }),
  deleteRule: route({
    method: 'delete',
    path: '/rules/{name}',
    summary: 'Delete a rule (its entries close)',
    tag: 'rules',
    params: { schema: ruleNameParams, what: 'rule name' },
    reply: {
      status: 200,
      description: 'Deleted',
      schema: deleteReply,
      example: { deleted: 'Game', applied: { kept: 0, dropped: 1 } },
    },
    errors: RULE_ERRORS,
  }),
  enableRule: route({
    method: 'post',
    path: '/rules/{name}/enable',
    summary: 'Enable a rule',
    tag: 'rules',
    params: { schema: ruleNameParams, what: 'rule name' },
    reply: { status: 200, description: 'Enabled', schema: ruleChangeReply, example: change },
    errors: RULE_ERRORS,
  }),
  disableRule: route({
    method: 'post',
    path: '/rules/{name}/disable',
    summary: 'Disable a rule (its entries close)',
    tag: 'rules',
    params: { schema: ruleNameParams, what: 'rule name' },
    reply: {
      status: 200,
      description: 'Disabled',
      schema: ruleChangeReply,
      example: { ...change, rule: { ...rule, enabled: false }, applied: { kept: 0, dropped: 1 } },
    },
    errors: RULE_ERRORS,
  }),
  switchOn: route({
    method: 'post',
    path: '/enable',
    summary: 'Switch port triggering on: the enabled rules open their ports again when triggered',
    description:
      'Writes `enabled: true` to the config file (the rest of the file as it was) after one nft transaction ' +
      'that declares the rules; already on, the ruleset and the text of the file stay as they are.',
    tag: 'config',
    reply: {
      status: 200,
      description: 'Switched on',
      schema: switchReply,
      example: { enabled: true, warnings: [], applied: { kept: 0, dropped: 0 } },
    },
    errors: SWITCH_ERRORS,
  }),
  switchOff: route({
    method: 'post',
    path: '/disable',
    summary: 'Switch port triggering off: no rule opens anything, open entries close',
    description:
      'Writes `enabled: false` to the config file (the rest of the file as it was) after one nft transaction ' +
      'that removes the rules from the ruleset; already off, the ruleset and the text of the file stay as they are.',
    tag: 'config',
    reply: {
      status: 200,
      description: 'Switched off',
      schema: switchReply,
      example: { enabled: false, warnings: [], applied: { kept: 0, dropped: 1 } },
    },
    errors: SWITCH_ERRORS,
  }),
  readTable: route({
    method: 'get',
    path: '/table',
    summary: 'The live trigger table',
    tag: 'state',
    reply: {
      status: 200,
      description:
        'The table, read now; when a fresh read takes longer than about 1.5 s, the last table read, marked stale',
      schema: tableReply,
      example: {
        at: 1_750_000_001_000,
        entries: [entry],
        conflicts: [
          {
            rule: 'Game',
            family: 'ipv4',
            contender: '192.168.1.20',
            holder: '192.168.1.10',
            at: 1_750_000_000_500,
          },
        ],
        blocked: [],
      },
    },
    errors: ['NFT_LIST_FAILED', 'NFT_TIMEOUT', 'NFT_MISSING', 'SERVICE_STOPPED'],
  }),
  release: route({
    method: 'post',
    path: '/release',
    summary: 'Close entries of a rule now',
    tag: 'state',
    body: { schema: releaseBody, what: 'release request', example: { rule: 'Game', holder: '192.168.1.10' } },
    reply: { status: 200, description: 'How many closed', schema: releaseReply, example: { released: 1 } },
    errors: [
      'INVALID_INPUT',
      'RULE_NOT_FOUND',
      'UNSUPPORTED_MEDIA_TYPE',
      'NFT_REJECTED',
      'NFT_TIMEOUT',
      'NFT_MISSING',
      'SERVICE_STOPPED',
    ],
  }),
  checkPort: route({
    method: 'get',
    path: '/check',
    summary: 'Is a port open now, for which rule, to which host',
    tag: 'state',
    query: { schema: checkQuery, example: { port: '7000', protocol: 'udp' } },
    reply: {
      status: 200,
      description: 'The answer',
      schema: checkReply,
      example: {
        port: 7000,
        protocol: 'udp',
        open: true,
        matches: [{ rule: 'Game', enabled: true, entries: [entry] }],
        at: 1_750_000_001_000,
      },
    },
    errors: ['INVALID_INPUT', 'NFT_LIST_FAILED', 'NFT_TIMEOUT', 'NFT_MISSING', 'SERVICE_STOPPED'],
  }),
  listEvents: route({
    method: 'get',
    path: '/events',
    summary: 'The event history, newest first, by pages',
    tag: 'events',
    query: { schema: eventsQuery, example: { rule: 'Game', since: '2025-06-01T00:00:00Z', limit: '50' } },
    reply: {
      status: 200,
      description: 'A page of events',
      schema: eventPageReply,
      example: {
        events: [
          {
            id: 2,
            type: 'closed',
            at: 1_750_000_600_000,
            rule: 'Game',
            family: 'ipv4',
            host: '192.168.1.10',
            reason: 'expired',
            openedAt: 1_750_000_000_000,
          },
          {
            id: 1,
            type: 'opened',
            at: 1_750_000_000_000,
            rule: 'Game',
            family: 'ipv4',
            host: '192.168.1.10',
            expiresAt: 1_750_000_600_000,
          },
        ],
        nextCursor: '1',
      },
    },
    errors: ['INVALID_INPUT', 'EVENT_STORE_FAILED'],
  }),
  streamEvents: route({
    method: 'get',
    path: '/events/stream',
    summary: 'Live events (Server-Sent Events)',
    description:
      'Each event is sent as `event: <type>`, `data: <event JSON>` (the schema of `GET /events` items), ' +
      '`id: <id>`; a comment line every 15 s keeps the connection open. With `Last-Event-ID`, stored events ' +
      'after that id are sent first.',
    tag: 'events',
    query: { schema: streamQuery, example: { type: 'opened' } },
    headers: [{ name: 'Last-Event-ID', description: 'Replay the stored events after this id first.' }],
    reply: { status: 200, description: 'The event stream', contentType: 'text/event-stream' },
    errors: ['INVALID_INPUT'],
  }),
  validateConfig: route({
    method: 'post',
    path: '/config/validate',
    summary: 'Validate a config without applying it',
    description: 'The body is JSON, or YAML text with `Content-Type: text/yaml` or `application/yaml`.',
    tag: 'config',
    body: {
      schema: configInput,
      what: 'config',
      validatedBy: 'operation',
      example: { interfaces: { lan: ['br-lan'], wan: ['eth0'] }, rules: [rule] },
      alternatives: ['text/yaml', 'application/yaml'],
    },
    reply: {
      status: 200,
      description: 'Every issue and warning',
      schema: validationReply,
      example: {
        ok: false,
        issues: [
          {
            path: ['rules', 0, 'open', 0, 'ports'],
            code: 'bad_ports',
            message: '"8000-7000": range goes backwards (use "N", "N-M" or "N-M,K")',
          },
        ],
        warnings: [],
      },
    },
    errors: ['INVALID_INPUT', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'],
  }),
  reload: route({
    method: 'post',
    path: '/reload',
    summary: 'Read the config file again and apply it',
    description: 'An invalid file changes nothing: 400 with every issue.',
    tag: 'config',
    reply: {
      status: 200,
      description: 'Applied',
      schema: reloadReply,
      example: { ok: true, warnings: [], applied: applyReport.parse({ kept: 2, dropped: 0 }) },
    },
    errors: [
      'INVALID_INPUT',
      'CONFIG_NOT_FOUND',
      'CONFIG_READ_FAILED',
      'NFT_REJECTED',
      'NFT_TIMEOUT',
      'NFT_MISSING',
      'SERVICE_STOPPED',
    ],
  }),
  openapi: route({
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    tag: 'meta',
    reply: { status: 200, description: 'OpenAPI 3.1' },
    errors: [],
  }),
  metrics: route({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    tag: 'meta',
    reply: { status: 200, description: 'Text exposition format 0.0.4', contentType: 'text/plain' },
    errors: [],
  }),
  health: route({
    method: 'get',
    path: '/health',
    summary: 'Liveness and the state of the datapath and the event history (no authentication)',
    tag: 'meta',
    auth: false,
    reply: {
      status: 200,
      description:
        'ok, or degraded when a part fails or the last successful read of the trigger table is too old',
      schema: healthReply,
      example: {
        status: 'ok',
        reasons: [],
        datapath: { status: 'ok', entries: 1, lastReadAt: 1_750_000_001_000 },
        eventStore: { status: 'ok', path: '/var/lib/porttrigger/events.db' },
        uptime: 3600,
      },
    },
    errors: [],
  }),
  ...LEARN_ROUTES,
} as const;

/** The name of a route's operation. */
export type RouteId = keyof typeof ROUTES;

/** Every route as a list, in the table's order. */
export const ROUTE_LIST: readonly (RouteSpec & { readonly id: RouteId })[] = Object.entries(ROUTES).map(
  ([id, spec]) => ({ ...(spec as RouteSpec), id: id as RouteId }),
);
