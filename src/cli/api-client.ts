/**
 * The CLI's client of the service's REST API: one method per route it uses, every reply parsed with the API's
 * own schema (src/api/schemas.ts), so its types are the server's. Transport, stream parsing and the lookup of
 * the service live in client/.
 */
import {
  type CheckReply,
  checkReply,
  deleteReply,
  type EventPageReply,
  type EventReply,
  eventPageReply,
  eventSchema,
  healthReply,
  type LearnProposalsReply,
  type LearnStatusReply,
  learnProposalsReply,
  learnStatusReply,
  type RuleReply,
  releaseReply,
  ruleChangeReply,
  rulesReply,
  type TableReply,
  tableReply,
} from '../api/schemas.js';
import type { ParsedArgs } from './args.js';
import { locateService } from './client/lookup.js';
import { readSse } from './client/sse.js';
import { ApiError, ApiTransport, describeCause, type TransportOptions } from './client/transport.js';
import type { CliContext } from './context.js';

export { ApiError } from './client/transport.js';

/** One event of the service as the API returns it. */
export type ApiEvent = EventReply;

/** A page of the event history. */
export type EventPage = EventPageReply;

/** The answer of `GET /check`: is the port open now, for which rules, to which hosts. */
export type CheckResult = CheckReply;

/** Filters of the event history and stream. */
export interface EventQuery {
  readonly rule?: string;
  readonly host?: string;
  readonly type?: string;
  readonly since?: string;
  readonly until?: string;
  readonly limit?: number;
  readonly cursor?: string | number;
  /** `desc` (the API's default): newest first. */
  readonly order?: 'asc' | 'desc';
}

/** Which entries to release. */
export interface ReleaseRequest {
  readonly rule: string;
  readonly holder?: string;
  readonly remote?: string;
}

/** A client of the service's REST API (`/api/v1`). */
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
    return this.#http.request('GET', '/health', healthReply);
  }

  /** `GET /rules`. */
  async listRules(): Promise<RuleReply[]> {
    return (await this.#http.request('GET', '/rules', rulesReply, { what: 'listing rules' })).rules;
  }

  /** `POST /rules`: adds a rule; resolves with the rule as the service stored it. */
  async addRule(rule: unknown): Promise<RuleReply | undefined> {
    const change = await this.#http.request('POST', '/rules', ruleChangeReply, {
      body: rule,
      what: 'adding the rule',
    });
    return change.rule;
  }

  /** `DELETE /rules/:name`. */
  async removeRule(name: string): Promise<void> {
    await this.#http.request('DELETE', `/rules/${encodeURIComponent(name)}`, deleteReply, {
      what: `removing rule "${name}"`,
    });
  }

  /** `POST /rules/:name/enable` or `/disable`. */
  async setRuleEnabled(name: string, enabled: boolean): Promise<void> {
    const verb = enabled ? 'enable' : 'disable';
    await this.#http.request('POST', `/rules/${encodeURIComponent(name)}/${verb}`, ruleChangeReply, {
      what: `${enabled ? 'enabling' : 'disabling'} rule "${name}"`,
    });
  }

  /** `GET /table`: the trigger table now. */
  readTable(): Promise<TableReply> {
    return this.#http.request('GET', '/table', tableReply, { what: 'reading the table' });
  }

  /** `POST /release`: resolves with how many entries were released. */
  async release(request: ReleaseRequest): Promise<number> {
    const body = await this.#http.request('POST', '/release', releaseReply, {
      body: request,
      what: `releasing rule "${request.rule}"`,
    });
    return body.released;
  }

  /** `GET /check`: whether a port is open now, for which rule, to which host. */
  check(port: number, protocol: 'tcp' | 'udp'): Promise<CheckResult> {
    return this.#http.request('GET', '/check', checkReply, {
      query: { port, protocol },
      what: `checking port ${port}`,
    });
  }

  /** `GET /events`: one page of the event history. */
  listEvents(query: EventQuery): Promise<EventPage> {
    return this.#http.request('GET', '/events', eventPageReply, {
      query: { ...query },
      what: 'reading events',
    });
  }

  /** `POST /learn/start`: starts a learning session. */
  startLearning(request: { host?: string; durationS?: number }): Promise<LearnStatusReply> {
    return this.#http.request('POST', '/learn/start', learnStatusReply, {
      body: request,
      what: 'starting to learn',
    });
  }

  /** `GET /learn`: the running or last session; `after` keeps only newer connections in `recent`. */
  learnStatus(after?: number): Promise<LearnStatusReply> {
    return this.#http.request('GET', '/learn', learnStatusReply, {
      query: after === undefined ? {} : { after },
      what: 'reading the learning session',
    });
  }

  /** `POST /learn/stop`. */
  stopLearning(): Promise<LearnStatusReply> {
    return this.#http.request('POST', '/learn/stop', learnStatusReply, { what: 'stopping learning' });
  }

  /** `GET /learn/proposals`. */
  learnProposals(): Promise<LearnProposalsReply> {
    return this.#http.request('GET', '/learn/proposals', learnProposalsReply, {
      what: 'reading the proposals',
    });
  }

  /** `POST /learn/proposals/:id/apply`: adds the proposal as a rule. */
  async applyProposal(id: number): Promise<RuleReply | undefined> {
    const change = await this.#http.request('POST', `/learn/proposals/${id}/apply`, ruleChangeReply, {
      what: `adding proposal ${id}`,
    });
    return change.rule;
  }

  /**
   * `GET /events/stream`: calls `onEvent` for each live event until `signal` aborts (then resolves) or the
   * service closes the stream (then rejects with API_UNREACHABLE). Messages that are not events are skipped.
   */
  async streamEvents(
    query: EventQuery,
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
