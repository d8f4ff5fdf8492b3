/**
 * The one check of the API token, for bearer tokens on `/api/v1` and the panel's sign-in alike. The token is
 * compared first, in constant time, so the right token always passes; only wrong tokens are counted, per
 * client (IPv6 by /64, so rotating addresses of one network count as one) and over all clients, and answered
 * with TOO_MANY_ATTEMPTS past either limit. Wrong tokens are logged without the token.
 */
import { canonicalAddress } from '../domain/address.js';
import type { Logger } from '../domain/logger.js';
import { tokensEqual } from './auth.js';

/** Options for {@link TokenGate}. */
export interface TokenGateOptions {
  /** Wrong tokens allowed per client within the window (default 5). */
  readonly perClient?: number;
  /** Wrong tokens allowed from all clients together within the window (default 100). */
  readonly overall?: number;
  /** Default 5 min. */
  readonly windowMs?: number;
  /** Clients remembered; past this the one seen longest ago is forgotten (default 4,096). */
  readonly maxClients?: number;
  readonly clock?: () => number;
  readonly logger?: Pick<Logger, 'warn'>;
}

/** The verdict on a presented token. */
export type TokenVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly limited: false }
  | { readonly ok: false; readonly limited: true; readonly retryAfterSeconds: number };

/** The key a client's failures count under: an IPv4 address, or the /64 network of an IPv6 address. */
export function clientKey(client: string): string {
  // An IPv4 client of a dual-stack socket shows as ::ffff:a.b.c.d.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(client);
  const address = canonicalAddress(mapped ? mapped[1]! : client);
  if (address === undefined) return client;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** Checks presented tokens against the API token; one gate serves the API and the panel. */
export class TokenGate {
  readonly #token: string;
  readonly #perClient: number;
  readonly #overall: number;
  readonly #windowMs: number;
  readonly #maxClients: number;
  readonly #clock: () => number;
  readonly #log: Pick<Logger, 'warn'> | undefined;
  // Least recently failed first; each holds the times of its recent failures, at most perClient + 1.
  readonly #byClient = new Map<string, number[]>();
  #recent: number[] = [];

  constructor(token: string, options: TokenGateOptions = {}) {
    this.#token = token;
    this.#perClient = options.perClient ?? 5;
    this.#overall = options.overall ?? 100;
    this.#windowMs = options.windowMs ?? 5 * 60_000;
    this.#maxClients = options.maxClients ?? 4_096;
    this.#clock = options.clock ?? Date.now;
    this.#log = options.logger;
  }

  /**
   * Checks `presented` from `client` (its address); `where` names the door in the log (`api`, `panel sign-in`).
   * @example gate.check(bearer, '192.168.1.10', 'api') // { ok: true } for the right token, whatever came before
   */
  check(presented: string, client: string, where: string): TokenVerdict {
    if (presented !== '' && tokensEqual(this.#token, presented)) return { ok: true };
    const now = this.#clock();
    const key = clientKey(client);
    const mine = this.#failuresOf(key, now);
    this.#recent = this.#recent.filter((t) => now - t < this.#windowMs);
    // Over a limit already before this attempt: logged when it was crossed, not again.
    const wasOver = mine.length > this.#perClient || this.#recent.length > this.#overall;
    mine.push(now);
    if (mine.length > this.#perClient + 1) mine.shift();
    this.#recent.push(now);
    if (this.#recent.length > this.#overall + 1) this.#recent.shift();
    const oldest =
      mine.length > this.#perClient
        ? mine[0]!
        : this.#recent.length > this.#overall
          ? this.#recent[0]!
          : undefined;
    if (oldest === undefined) {
      this.#log?.warn('wrong API token refused', { where, client, failures: mine.length });
      return { ok: false, limited: false };
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((oldest + this.#windowMs - now) / 1_000));
    if (!wasOver) {
      this.#log?.warn('wrong API tokens rate-limited', {
        where,
        client,
        clientKey: key,
        failures: mine.length,
        overall: this.#recent.length,
        retryAfterSeconds,
      });
    }
    return { ok: false, limited: true, retryAfterSeconds };
  }

  /** The failure times of `key` within the window, moved to the end of the eviction order. */
  #failuresOf(key: string, now: number): number[] {
    const list = (this.#byClient.get(key) ?? []).filter((t) => now - t < this.#windowMs);
    this.#byClient.delete(key);
    while (this.#byClient.size >= this.#maxClients) {
      const oldest = this.#byClient.keys().next().value;
      if (oldest === undefined) break;
      this.#byClient.delete(oldest);
    }
    this.#byClient.set(key, list);
    return list;
  }
}
