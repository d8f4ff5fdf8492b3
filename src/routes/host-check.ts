/**
 * Who is asking and by which name: the client's address, and the Host allowlist that keeps DNS-rebinding pages
 * out of the API and the panel alike.
 */
import { canonicalAddress } from '../domain/address.js';

/** The Host headers answered: addresses of this machine and names it is known by. */
export interface AllowedHosts {
  readonly addresses: readonly string[];
  readonly names: readonly string[];
}

/** Loopback only: what an API answers when nobody said which names the machine has. */
export const LOOPBACK_HOSTS: AllowedHosts = { addresses: ['127.0.0.1', '::1'], names: ['localhost'] };

/** The host part of a `Host` header (`name`, `1.2.3.4`, `[v6]`, each with an optional port), lower-cased. */
export function hostOf(header: string): string | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+))(?::\d{1,5})?$/.exec(header.trim());
  if (!m) return undefined;
  const host = (m[1] ?? m[2] ?? '').toLowerCase();
  return canonicalAddress(host) ?? host.replace(/\.$/, '');
}

/**
 * Whether a `Host` header names this machine: one of its addresses or one of the configured names. Anything
 * else is refused: a page of another site whose name now resolves to us (DNS rebinding) must get nothing.
 * @example hostAllowed('127.0.0.1:8080', { addresses: ['127.0.0.1'], names: ['router.lan'] }) // true
 */
export function hostAllowed(header: string | undefined, allowed: AllowedHosts): boolean {
  if (!header) return false;
  const host = hostOf(header);
  if (!host) return false;
  const address = canonicalAddress(host);
  if (address !== undefined) return allowed.addresses.some((a) => canonicalAddress(a) === address);
  return allowed.names.some((n) => n.toLowerCase().replace(/\.$/, '') === host);
}

/** The part of a request (a hono context fits) that says who asks and by which name. */
export interface RequestLike {
  readonly req: { header(name: string): string | undefined; readonly url: string };
  readonly env?: unknown;
}

/** The Host a request names: its header, or for an in-process request without one, its URL's host. */
export function requestHost(c: RequestLike): string {
  return c.req.header('host') ?? new URL(c.req.url).host;
}

/** The address of the client (the socket's peer under @hono/node-server), or `unknown`. */
export function clientOf(c: RequestLike): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'unknown';
}
