import { readFile } from 'node:fs/promises';
import { parseConfigText } from '../domain/config.js';
import type { Issue } from '../domain/errors.js';
import { PorttriggerError } from '../domain/errors.js';
import type { Config, Family, Rule, TriggerEntry, TriggerTable } from '../domain/types.js';
import type { ParsedArgs } from './args.js';
import { stringOption } from './args.js';
import type { CliContext } from './context.js';
import { DEFAULT_CONFIG_PATH } from './context.js';
import { UsageError } from './exit-codes.js';

/** The API's address when neither a flag, the environment nor the config names one. */
export const DEFAULT_API_URL = 'http://127.0.0.1:8080';
/** The token file when neither a flag, the environment nor the config names one. */
export const DEFAULT_TOKEN_FILE = '/var/lib/porttrigger/api-token';
const PREFIX = '/api/v1';

/** An error answer of the API, or no answer at all; `code` says which (see exit-codes.ts). */
export class ApiError extends PorttriggerError {
  constructor(
    code: string,
    message: string,
    readonly status?: number,
    readonly issues: readonly Issue[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** One event of the service as the API returns it. */
export interface ApiEvent {
  readonly id?: number | string;
  readonly at: number | string;
  readonly type: string;
  readonly rule: string;
  readonly family: Family;
  readonly host?: string;
  readonly remote?: string;
  readonly holder?: string;
  readonly contender?: string;
  readonly reason?: string;
}

/** A page of the event history. */
export interface EventPage {
  readonly events: readonly ApiEvent[];
  readonly nextCursor?: string | number;
}

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

/** One rule whose open ports include the port checked, with its active entries. */
export interface CheckMatch {
  readonly rule: string;
  /** The rule is enabled and so is the global switch. */
  readonly enabled: boolean;
  readonly entries: readonly TriggerEntry[];
}

/** The answer of `GET /check`: is the port open now, for which rules, to which hosts. */
export interface CheckResult {
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
  readonly open: boolean;
  readonly matches: readonly CheckMatch[];
}

/** How to reach the service. */
export interface ApiClientOptions {
  readonly baseUrl: string;
  readonly token?: string;
  readonly fetch: typeof fetch;
  /** Per request, except the event stream (default 10 s). */
  readonly timeoutMs?: number;
}

function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

function errorCode(status: number, remote: string | undefined): string {
  if (status === 401 || status === 403) return 'API_UNAUTHORIZED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 400 || status === 422) return 'INVALID_INPUT';
  return remote ? remote.toUpperCase() : 'API_FAILED';
}

function listOf<T>(body: unknown, key: string): T[] {
  if (Array.isArray(body)) return body as T[];
  const inner = (body as Record<string, unknown> | null)?.[key];
  if (Array.isArray(inner)) return inner as T[];
  throw new ApiError('API_FAILED', `unexpected answer of the API: no "${key}" list`);
}

function itemOf<T>(body: unknown, key: string): T {
  const inner = (body as Record<string, unknown> | null)?.[key];
  return (inner !== undefined && typeof inner === 'object' ? inner : body) as T;
}

/** One server-sent event, as the stream delivers it. */
export interface StreamMessage {
  readonly event: string;
  readonly data: string;
}

/**
 * Splits a server-sent event stream into messages; keeps the unfinished tail for the next chunk.
 * @example parseSseChunk('event: opened\ndata: {}\n\n') // { messages: [{ event: 'opened', data: '{}' }], rest: '' }
 */
export function parseSseChunk(buffer: string): { messages: StreamMessage[]; rest: string } {
  const normalized = buffer.replace(/\r\n?/g, '\n');
  const blocks = normalized.split('\n\n');
  const rest = blocks.pop() ?? '';
  const messages: StreamMessage[] = [];
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) messages.push({ event, data: data.join('\n') });
  }
  return { messages, rest };
}

/** A client of the service's REST API (`/api/v1`), using the global `fetch`. */
export class ApiClient {
  readonly #options: ApiClientOptions;

  constructor(options: ApiClientOptions) {
    this.#options = { ...options, baseUrl: options.baseUrl.replace(/\/+$/, '') };
  }

  /** The base URL requests go to (without `/api/v1`). */
  get baseUrl(): string {
    return this.#options.baseUrl;
  }

  #url(path: string, query: Readonly<Record<string, string | number | undefined>> = {}): string {
    const url = new URL(`${this.#options.baseUrl}${PREFIX}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      accept: 'application/json',
      ...(this.#options.token ? { authorization: `Bearer ${this.#options.token}` } : {}),
      ...extra,
    };
  }

  async #fetch(url: string, init: RequestInit): Promise<Response> {
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

  async #failure(response: Response, what: string): Promise<ApiError> {
    let body: { error?: { code?: string; message?: string; issues?: Issue[] } } = {};
    try {
      body = (await response.json()) as typeof body;
    } catch {
      // Not JSON (a proxy, another program on the port): the status says enough.
    }
    const remote = body.error;
    const code = errorCode(response.status, remote?.code);
    const message =
      response.status === 401 || response.status === 403
        ? `the service refused the API token (${response.status}${remote?.message ? `: ${remote.message}` : ''}); check --token-file`
        : `${what}: ${remote?.message ?? `HTTP ${response.status} ${response.statusText}`}`;
    return new ApiError(code, message, response.status, remote?.issues ?? []);
  }

  /** Sends one request and returns the parsed JSON answer; error answers throw {@link ApiError}. */
  async request<T>(
    method: string,
    path: string,
    options: { body?: unknown; query?: Record<string, string | number | undefined>; what?: string } = {},
  ): Promise<T> {
    const init: RequestInit = {
      method,
      headers: this.#headers(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    };
    const response = await this.#fetch(this.#url(path, options.query), init);
    if (!response.ok) throw await this.#failure(response, options.what ?? `${method} ${path}`);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    try {
      return (text === '' ? undefined : JSON.parse(text)) as T;
    } catch (error) {
      throw new ApiError('API_FAILED', `${method} ${path}: the answer is not JSON`, response.status, [], {
        cause: error,
      });
    }
  }

  /** `GET /health`. */
  health(): Promise<unknown> {
    return this.request('GET', '/health');
  }

  /** `GET /rules`. */
  async listRules(): Promise<Rule[]> {
    return listOf<Rule>(await this.request('GET', '/rules', { what: 'listing rules' }), 'rules');
  }

  /** `POST /rules`: adds a rule; resolves with the rule as the service stored it. */
  async addRule(rule: unknown): Promise<Rule> {
    return itemOf<Rule>(
      await this.request('POST', '/rules', { body: rule, what: 'adding the rule' }),
      'rule',
    );
  }

  /** `DELETE /rules/:name`. */
  async removeRule(name: string): Promise<void> {
    await this.request('DELETE', `/rules/${encodeURIComponent(name)}`, { what: `removing rule "${name}"` });
  }

  /** `POST /rules/:name/enable` or `/disable`. */
  async setRuleEnabled(name: string, enabled: boolean): Promise<void> {
    const verb = enabled ? 'enable' : 'disable';
    await this.request('POST', `/rules/${encodeURIComponent(name)}/${verb}`, {
      what: `${enabled ? 'enabling' : 'disabling'} rule "${name}"`,
    });
  }

  /** `GET /table`: the trigger table now. */
  async readTable(): Promise<TriggerTable> {
    return itemOf<TriggerTable>(await this.request('GET', '/table', { what: 'reading the table' }), 'table');
  }

  /** `POST /release`: resolves with how many entries were released. */
  async release(request: ReleaseRequest): Promise<number> {
    const body = await this.request<{ released?: number }>('POST', '/release', {
      body: request,
      what: `releasing rule "${request.rule}"`,
    });
    return Number(body?.released ?? 0);
  }

  /** `GET /check`: whether a port is open now, for which rule, to which host. */
  check(port: number, protocol: 'tcp' | 'udp'): Promise<CheckResult> {
    return this.request('GET', '/check', { query: { port, protocol }, what: `checking port ${port}` });
  }

  /** `GET /events`: one page of the event history. */
  async listEvents(query: EventQuery): Promise<EventPage> {
    const body = await this.request<unknown>('GET', '/events', {
      query: { ...query },
      what: 'reading events',
    });
    const events = listOf<ApiEvent>(body, 'events');
    const next = (body as { nextCursor?: unknown }).nextCursor;
    const valid = (typeof next === 'string' && next !== '') || typeof next === 'number';
    return { events, ...(valid ? { nextCursor: next as string | number } : {}) };
  }

  /**
   * `GET /events/stream`: calls `onEvent` for each live event until `signal` aborts (then resolves) or the
   * service closes the stream (then rejects with API_UNREACHABLE).
   */
  async streamEvents(
    query: EventQuery,
    onEvent: (event: ApiEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    let response: Response;
    try {
      response = await this.#fetch(this.#url('/events/stream', { ...query }), {
        headers: this.#headers({ accept: 'text/event-stream' }),
        signal,
      });
    } catch (error) {
      if (signal.aborted) return;
      throw error;
    }
    if (!response.ok) throw await this.#failure(response, 'following events');
    if (!response.body) throw new ApiError('API_FAILED', 'the event stream has no body');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const parsed = parseSseChunk(buffer + value);
        buffer = parsed.rest;
        for (const m of parsed.messages) {
          let data: unknown;
          try {
            data = JSON.parse(m.data);
          } catch {
            continue;
          }
          if (data && typeof data === 'object' && 'rule' in data) {
            onEvent({ type: m.event, ...(data as object) } as ApiEvent);
          }
        }
      }
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

/** Where the config file is: `--config`, else `$PORTTRIGGER_CONFIG`, else the default path. */
export function configPathOf(args: ParsedArgs, ctx: CliContext): { path: string; explicit: boolean } {
  const flag = stringOption(args, 'config') ?? ctx.env['PORTTRIGGER_CONFIG'];
  return flag ? { path: flag, explicit: true } : { path: DEFAULT_CONFIG_PATH, explicit: false };
}

/** Reads and validates the config the flags point at; undefined when it is the default path and is absent. */
async function readConfigQuietly(args: ParsedArgs, ctx: CliContext): Promise<Config | undefined> {
  const { path, explicit } = configPathOf(args, ctx);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (!explicit) return undefined;
    throw new PorttriggerError(
      'CONFIG_NOT_FOUND',
      `cannot read the config ${path}: ${(error as Error).message}`,
    );
  }
  const result = parseConfigText(text);
  return result.ok ? result.value : undefined;
}

/** `host:port` of a listen setting as a URL a client can connect to (wildcards become loopback). */
export function listenToUrl(listen: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
  if (!m) return DEFAULT_API_URL;
  const host = m[1] ?? m[2] ?? '';
  const port = m[3]!;
  if (host === '' || host === '0.0.0.0') return `http://127.0.0.1:${port}`;
  if (host === '::') return `http://[::1]:${port}`;
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

/**
 * Builds the API client from the global flags: `--api`/`$PORTTRIGGER_API`, else the config's `api.listen`, else
 * http://127.0.0.1:8080; the token from `$PORTTRIGGER_TOKEN`, else `--token-file`, else the config's
 * `api.tokenFile`, else /var/lib/porttrigger/api-token.
 */
export async function createApiClient(args: ParsedArgs, ctx: CliContext): Promise<ApiClient> {
  const flagUrl = stringOption(args, 'api') ?? ctx.env['PORTTRIGGER_API'];
  const flagToken = stringOption(args, 'token-file') ?? ctx.env['PORTTRIGGER_TOKEN_FILE'];
  const config =
    flagUrl !== undefined && flagToken !== undefined ? undefined : await readConfigQuietly(args, ctx);
  const baseUrl = flagUrl ?? (config?.api ? listenToUrl(config.api.listen) : DEFAULT_API_URL);
  let token = ctx.env['PORTTRIGGER_TOKEN'];
  if (!token) {
    const tokenFile = flagToken ?? config?.api?.tokenFile ?? DEFAULT_TOKEN_FILE;
    try {
      token = (await readFile(tokenFile, 'utf8')).trim();
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new ApiError(
        'TOKEN_MISSING',
        `cannot read the API token file ${tokenFile} (${reason}): run as root, or pass --token-file`,
      );
    }
  }
  try {
    new URL(baseUrl);
  } catch {
    throw new UsageError(`--api: not a URL: ${JSON.stringify(baseUrl)}`);
  }
  return new ApiClient({ baseUrl, token, fetch: ctx.fetch });
}
