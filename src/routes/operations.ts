/**
 * The operation behind each JSON route of the table: parse the route's input with its schemas, call the
 * service, answer with the reply schema's shape. The server runs them for HTTP requests (app.ts) and the panel
 * calls them in-process, so both validate the same way and fail with the same error codes.
 */
import { parseConfigText, validateConfig } from '../domain/config.js';
import { InvalidInputError, PorttriggerError } from '../domain/errors.js';
import { findRule } from '../service/config-edit.js';
import type { ConfigChange, Service } from '../service/service.js';
import { compact, parseInput } from './params.js';
import type { JsonRouteId, OperationInput, OperationReply } from './route-types.js';
import { ROUTES, type RouteSpec } from './table.js';

/** A config sent as YAML text (`POST /config/validate`): validated with line numbers. */
export class YamlText {
  constructor(readonly text: string) {}
}

/** The operation of route `K`. */
export type Operation<K extends JsonRouteId> = (
  service: Service,
  input: OperationInput<K>,
) => OperationReply<K> | Promise<OperationReply<K>>;

function changeReply(change: ConfigChange) {
  return {
    ...(change.rule ? { rule: change.rule } : {}),
    warnings: change.warnings,
    applied: change.applied,
  };
}

function switchReply(change: ConfigChange) {
  return { enabled: change.config.enabled, warnings: change.warnings, applied: change.applied };
}

function ruleNamed(service: Service, name: string) {
  const rule = findRule(service.config, name);
  if (!rule) throw new PorttriggerError('RULE_NOT_FOUND', `no rule named "${name}"`);
  return rule;
}

/** Every JSON route's operation; the compiler checks each against its route's schemas. */
export const OPERATIONS: { readonly [K in JsonRouteId]: Operation<K> } = {
  listRules: (service) => ({ rules: service.config.rules }),
  getRule: (service, { params }) => ({ rule: ruleNamed(service, params.name) }),
  createRule: async (service, { body }) => changeReply(await service.createRule(body)),
  replaceRule: async (service, { params, body }) => changeReply(await service.replaceRule(params.name, body)),
  deleteRule: async (service, { params }) => {
    const change = await service.deleteRule(params.name);
    return { deleted: params.name, applied: change.applied };
  },
  enableRule: async (service, { params }) => changeReply(await service.setRuleEnabled(params.name, true)),
  disableRule: async (service, { params }) => changeReply(await service.setRuleEnabled(params.name, false)),
  switchOn: async (service) => switchReply(await service.setEnabled(true)),
  switchOff: async (service) => switchReply(await service.setEnabled(false)),
  readTable: (service) => service.table(),
  release: async (service, { body }) => ({
    released: await service.release({ ...compact(body), rule: body.rule }),
  }),
  checkPort: (service, { query }) => service.checkPort(query.port, query.protocol),
  listEvents: (service, { query }) => {
    const page = service.queryEvents(compact(query));
    return {
      events: page.events,
      ...(page.nextCursor !== undefined ? { nextCursor: String(page.nextCursor) } : {}),
    };
  },
  validateConfig: (_service, { body }) => {
    const result = body instanceof YamlText ? parseConfigText(body.text) : validateConfig(body);
    return { ok: result.ok, issues: result.ok ? [] : result.issues, warnings: result.warnings };
  },
  reload: async (service) => {
    const result = await service.reload();
    if (!result.ok) {
      throw new InvalidInputError(
        `the config file ${service.configPath} is invalid: the running config is unchanged`,
        result.issues,
      );
    }
    return result;
  },
  health: (service) => service.health(),
  learnStatus: (service, { query }) => service.learn.status(query.after),
  startLearning: (service, { body }) => service.learn.start(compact(body)),
  stopLearning: (service) => service.learn.stop(),
  learnProposals: async (service) => {
    const { proposals, notes } = await service.learn.proposals();
    return { proposals: [...proposals], notes: [...notes] };
  },
  applyProposal: async (service, { params, body }) =>
    changeReply(await service.learn.apply(params.id, compact(body ?? {}))),
};

/** A route's input as it arrived: path parameters and query as text, the body as parsed JSON (or YAML text). */
export interface RawInput {
  readonly params?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

/** Parses raw input with the route's schemas: INVALID_INPUT with every issue when it does not fit. */
export function parseRouteInput(route: RouteSpec, raw: RawInput) {
  const body = route.body;
  return {
    params: route.params ? parseInput(route.params.schema, raw.params ?? {}, route.params.what) : undefined,
    query: route.query ? parseInput(route.query.schema, raw.query ?? {}, 'query') : undefined,
    body:
      body === undefined || body.validatedBy === 'operation'
        ? raw.body
        : parseInput(body.schema, raw.body ?? (body.optional ? {} : undefined), body.what),
  };
}

/**
 * Runs the operation of route `id` on raw input, validated with the route's schemas first.
 * @example await runOperation(service, 'release', { body: { rule: 'Game' } }) // { released: 1 }
 */
export async function runOperation<K extends JsonRouteId>(
  service: Service,
  id: K,
  raw: RawInput = {},
): Promise<OperationReply<K>> {
  const input = parseRouteInput(ROUTES[id], raw) as OperationInput<K>;
  return (OPERATIONS[id] as Operation<K>)(service, input);
}
