/** The DNS-rebinding and cross-site checks of the panel: which Host and Origin headers it answers. */
import { canonicalAddress } from '../domain/address.js';

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
export function hostAllowed(
  header: string | undefined,
  allowed: { readonly addresses: readonly string[]; readonly names: readonly string[] },
): boolean {
  if (!header) return false;
  const host = hostOf(header);
  if (!host) return false;
  const address = canonicalAddress(host);
  if (address !== undefined) return allowed.addresses.some((a) => canonicalAddress(a) === address);
  return allowed.names.some((n) => n.toLowerCase().replace(/\.$/, '') === host);
}

/**
 * Whether a state-changing request comes from the panel's own pages: its `Origin` (or, without one, its
 * `Referer`) has the scheme and host of the request itself. Browsers send Origin on every POST.
 */
export function sameOrigin(
  requestUrl: string,
  host: string | undefined,
  origin: string | undefined,
  referer: string | undefined,
): boolean {
  const scheme = new URL(requestUrl).protocol;
  const expected = `${scheme}//${host ?? ''}`.toLowerCase();
  const claimed = origin ?? (referer ? safeOrigin(referer) : undefined);
  if (claimed === undefined) return false;
  return claimed.toLowerCase() === expected;
}

function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
