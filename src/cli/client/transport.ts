/**
 * How the CLI talks HTTP to the service: fetch with the bearer token and a timeout, replies parsed with the
 * API's own schemas, and error answers decoded into {@link ApiError} with the server's code kept.
 */
import type { z } from 'zod';
import { type ErrorCode, isApiErrorCode } from '../../domain/error-codes.js';
import type { Issue } from '../../domain/errors.js';
import { PorttriggerError } from '../../domain/errors.js';
import type { ClientInput, ClientReply, JsonRouteId } from '../../routes/route-types.js';
import { errorReply, type Wire } from '../../routes/schemas.js';
import { API_PREFIX, ROUTES } from '../../routes/table.js';

/** An error answer of the API, or no answer at all; `code` says which (the server's own code when it gave one). */
export class ApiError extends PorttriggerError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status?: number,
    readonly issues: readonly Issue[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** How to reach the service. */
export interface TransportOptions {
  readonly baseUrl: string;
  readonly token?: string;
  readonly fetch: typeof fetch;
  /** Per request, except the event stream (default 10 s). */
  readonly timeoutMs?: number;
}

/** Query parameters; undefined ones are left out. */
export type Query = Readonly<Record<string, string | number | undefined>>;

/** What went wrong below HTTP: the system's code (ECONNREFUSED) or message. */
export function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

// When the answer carries no code of ours (a proxy, another program on the port), the status decides.
function codeOfStatus(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'UNAUTHORIZED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 400 || status === 422) return 'INVALID_INPUT';
  return 'API_FAILED';
}

/** Sends requests to `/api/v1` and reads the answers. */
export class ApiTransport {
  readonly #options: TransportOptions;

  constructor(options: TransportOptions) {
    this.#options = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
  }

  /** The base URL requests go to (without `/api/v1`). */
  get baseUrl(): string {
    return this.#options.baseUrl;
  }

  /** The full URL of a route with its query. */
  url(path: string, query: Query = {}): string {
    const url = new URL(`${this.#options.baseUrl}${API_PREFIX}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  /** The headers of every request: JSON wanted, the bearer token, and `extra`. */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      accept: 'application/json',
      ...(this.#options.token ? { authorization: `Bearer ${this.#options.token}` } : {}),
      ...extra,
    };
  }

  /** fetch, with a failure to connect turned into API_UNREACHABLE (an abort asked for stays an abort). */
  async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#options.fetch(url, init);
    } catch (error) {
      if ((error as Error).name === 'AbortError' && init.signal?.aborted) throw error;
      const reason = (error as Error).name === 'TimeoutError' ? 'no answer in time' : describeCause(error);
      throw new ApiError(
        'API_UNREACHABLE',
        `cannot reach the porttrigger service at ${this.#options.baseUrl}: ${reason} (is \`porttrigger run\` running? see --api)`,
        undefined,
        [],
        { cause: error },
      );
    }
  }

  /** The error an answer that is not ok stands for, with the server's code, message and issues. */
  async failure(response: Response, what: string): Promise<ApiError> {
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      // Not JSON (a proxy, another program on the port): the status says enough.
    }
    const parsed = errorReply.safeParse(body);
    const remote = parsed.success ? parsed.data.error : undefined;
    const code = remote && isApiErrorCode(remote.code) ? remote.code : codeOfStatus(response.status);
    const message =
      response.status === 401 || response.status === 403
        ? `the service refused the API token (${response.status}${remote?.message ? `: ${remote.message}` : ''}); check --token-file`
        : `${what}: ${remote?.message ?? `HTTP ${response.status} ${response.statusText}`}`;
    return new ApiError(code, message, response.status, remote?.issues ?? []);
  }

  /** Sends one request and parses the answer with `reply`; error answers throw {@link ApiError}. */
  async request<S extends z.ZodType>(
    method: string,
    path: string,
    reply: S,
    options: { body?: unknown; query?: Query; what?: string } = {},
  ): Promise<Wire<z.output<S>>> {
    const what = options.what ?? `${method} ${path}`;
    const init: RequestInit = {
      method,
      headers: this.headers(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    };
    const response = await this.send(this.url(path, options.query), init);
    if (!response.ok) throw await this.failure(response, what);
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new ApiError('API_FAILED', `${what}: the answer is not JSON`, response.status, [], {
        cause: error,
      });
    }
    const parsed = reply.safeParse(body);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new ApiError(
        'API_FAILED',
        `${what}: unexpected answer of the API (${first ? `${first.path.join('.') || 'body'}: ${first.message}` : 'invalid'})`,
        response.status,
      );
    }
    // A parse leaves absent optional properties out, as Wire says.
    return parsed.data as Wire<z.output<S>>;
  }

  /**
   * Calls route `id` of the table: its path with the parameters filled in, its query and JSON body, and the
   * reply parsed with its schema; the types of all three come from the route's schemas.
   * @example await http.call('getRule', { params: { name: 'Game' } }) // { rule: { name: 'Game', ... } }
   */
  call<K extends JsonRouteId>(id: K, input: ClientInput<K>, what?: string): Promise<ClientReply<K>> {
    const route = ROUTES[id];
    const params = (input.params ?? {}) as Readonly<Record<string, unknown>>;
    const path = route.path.replace(/\{(\w+)\}/g, (_, key: string) =>
      encodeURIComponent(String(params[key])),
    );
    return this.request(route.method.toUpperCase(), path, route.reply.schema, {
      ...(input.query !== undefined ? { query: input.query as Query } : {}),
      ...(input.body !== undefined ? { body: input.body } : {}),
      ...(what !== undefined ? { what } : {}),
    }) as Promise<ClientReply<K>>;
  }
}
