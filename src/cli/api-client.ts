/**
 * The CLI's client of the service's REST API, derived from the route table (src/routes/table.ts): each method
 * calls a route, sends what its schemas take and parses the reply with its schema, so its types are the
 * server's. Transport, stream parsing and the lookup of the service live in client/.
 */
import type { ClientInput, ClientReply } from '../routes/route-types.js';
import {
  type EventReply,
  eventSchema,
  type LearnProposalsReply,
  type LearnStatusReply,
  type RuleReply,
  type TableReply,
} from '../routes/schemas.js';
import type { ParsedArgs } from './args.js';
import { locateService } from './client/lookup.js';
import { readSse } from './client/sse.js';
import { ApiError, ApiTransport, describeCause, type TransportOptions } from './client/transport.js';
import type { CliContext } from './context.js';

export { ApiError } from './client/transport.js';

/** One event of the service as the API returns it. */
export type ApiEvent = EventReply;

/** A page of the event history. */
export type EventPage = ClientReply<'listEvents'>;

/** The answer of `GET /check`: is the port open now, for which rules, to which hosts. */
export type CheckResult = ClientReply<'checkPort'>;

/** Filters of the event history (the query of `GET /events`). */
export type EventQuery = NonNullable<ClientInput<'listEvents'>['query']>;

/** Filters of the live events (the query of `GET /events/stream`). */
export type StreamQuery = NonNullable<ClientInput<'streamEvents'>['query']>;

/** Which entries to release (the body of `POST /release`). */
export type ReleaseRequest = ClientInput<'release'>['body'];

/** A rule as `POST /rules` takes it: fields left out take their defaults. */
export type RuleInput = ClientInput<'createRule'>['body'];

/**
 * A client of the service's REST API (`/api/v1`): one method per route the commands use, each a call of the
 * route table, so its requests and replies have the types of the route's schemas.
 */
export class ApiClient {
  readonly #http: ApiTransport;

  constructor(options: TransportOptions) {
    this.#http = new ApiTransport(options);
  }

  /** The base URL requests go to (without `/api/v1`). */
  get baseUrl(): string {
    return this.#http.baseUrl;
  }

  /** `GET /health`. */
  health() {
    return this.#http.call('health', {});
  }

  /** `GET /rules`. */
  async listRules(): Promise<RuleReply[]> {
    return (await this.#http.call('listRules', {}, 'listing rules')).rules;
  }

  /** `POST /rules`: adds a rule; resolves with the rule as the service stored it. */
  async addRule(rule: RuleInput): Promise<RuleReply | undefined> {
    return (await this.#http.call('createRule', { body: rule }, 'adding the rule')).rule;
  }

  /** `GET /rules/{name}`: one rule as the service has it. */
  async getRule(name: string): Promise<RuleReply> {
    return (await this.#http.call('getRule', { params: { name } }, `reading rule "${name}"`)).rule;
  }

  /** `PUT /rules/{name}`: replaces a rule (the body may rename it); resolves with the rule as stored. */
  async replaceRule(name: string, rule: RuleInput): Promise<RuleReply | undefined> {
    return (await this.#http.call('replaceRule', { params: { name }, body: rule }, `changing rule "${name}"`))
      .rule;
  }

  /** `POST /reload`: the service reads its config file again and applies it. */
  reload() {
    return this.#http.call('reload', {}, 'reloading the config');
  }

  /** `DELETE /rules/{name}`. */
  async removeRule(name: string): Promise<void> {
    await this.#http.call('deleteRule', { params: { name } }, `removing rule "${name}"`);
  }

  /** `POST /rules/{name}/enable` or `/disable`. */
  async setRuleEnabled(name: string, enabled: boolean): Promise<void> {
    const what = `${enabled ? 'enabling' : 'disabling'} rule "${name}"`;
    await this.#http.call(enabled ? 'enableRule' : 'disableRule', { params: { name } }, what);
  }

  /** `POST /enable` or `/disable`: the global switch; resolves with its state and what the apply did. */
  setEnabled(enabled: boolean) {
    const what = `switching port triggering ${enabled ? 'on' : 'off'}`;
    return this.#http.call(enabled ? 'switchOn' : 'switchOff', {}, what);
  }

  /** `GET /table`: the trigger table now. */
  readTable(): Promise<TableReply> {
    return this.#http.call('readTable', {}, 'reading the table');
  }

  /** `POST /release`: resolves with how many entries were released. */
  async release(request: ReleaseRequest): Promise<number> {
    return (await this.#http.call('release', { body: request }, `releasing rule "${request.rule}"`)).released;
  }

  /** `GET /check`: whether a port is open now, for which rule, to which host. */
  check(port: number, protocol: 'tcp' | 'udp'): Promise<CheckResult> {
    return this.#http.call('checkPort', { query: { port, protocol } }, `checking port ${port}`);
  }

  /** `GET /events`: one page of the event history. */
  listEvents(query: EventQuery): Promise<EventPage> {
    return this.#http.call('listEvents', { query }, 'reading events');
  }

  /** `POST /learn/start`: starts a learning session. */
  startLearning(request: ClientInput<'startLearning'>['body']): Promise<LearnStatusReply> {
    return this.#http.call('startLearning', { body: request }, 'starting to learn');
  }

  /** `GET /learn`: the running or last session; `after` keeps only newer connections in `recent`. */
  learnStatus(after?: number): Promise<LearnStatusReply> {
    return this.#http.call(
      'learnStatus',
      { query: after === undefined ? {} : { after } },
      'reading the learning session',
    );
  }

  /** `POST /learn/stop`. */
  stopLearning(): Promise<LearnStatusReply> {
    return this.#http.call('stopLearning', {}, 'stopping learning');
  }

  /** `GET /learn/proposals`. */
  learnProposals(): Promise<LearnProposalsReply> {
    return this.#http.call('learnProposals', {}, 'reading the proposals');
  }

  /** `POST /learn/proposals/{id}/apply`: adds the proposal as a rule; `lowConfidence` confirms a doubtful one. */
  async applyProposal(id: number, options: { lowConfidence?: boolean } = {}): Promise<RuleReply | undefined> {
    const body = options.lowConfidence ? { lowConfidence: true } : {};
    return (await this.#http.call('applyProposal', { params: { id }, body }, `adding proposal ${id}`)).rule;
  }

  /**
   * `GET /events/stream`: calls `onEvent` for each live event until `signal` aborts (then resolves) or the
   * service closes the stream (then rejects with API_UNREACHABLE). Messages that are not events are skipped.
   */
  async streamEvents(
    query: StreamQuery,
    onEvent: (event: ApiEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    let response: Response;
    try {
      response = await this.#http.send(this.#http.url('/events/stream', { ...query }), {
        headers: this.#http.headers({ accept: 'text/event-stream' }),
        signal,
      });
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
    if (!response.ok) throw await this.#http.failure(response, 'following events');
    if (!response.body) throw new ApiError('API_FAILED', 'the event stream has no body');
    try {
      await readSse(response.body, (m) => {
        let data: unknown;
        try {
          data = JSON.parse(m.data);
        } catch {
          return;
        }
        const event = eventSchema.safeParse({ type: m.event, ...(data as object) });
        if (event.success) onEvent(event.data as ApiEvent);
      });
    } catch (error) {
      if (signal.aborted) return;
      throw new ApiError(
        'API_UNREACHABLE',
        `the event stream broke: ${describeCause(error)}`,
        undefined,
        [],
        {
          cause: error,
        },
      );
    }
    if (!signal.aborted) throw new ApiError('API_UNREACHABLE', 'the service closed the event stream');
  }
}

/** The API client the global flags point at (see {@link locateService}). */
export async function createApiClient(args: ParsedArgs, ctx: CliContext): Promise<ApiClient> {
  return new ApiClient({ ...(await locateService(args, ctx)), fetch: ctx.fetch });
}
