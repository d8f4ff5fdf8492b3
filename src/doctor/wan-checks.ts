/**
 * Doctor checks about the WAN side: whether the internet can reach this gateway at all (carrier-grade NAT),
 * and whether the API and panel would be served on a WAN address.
 */
import { isWildcardHost, parseListenAddress } from '../domain/listen.js';
import type { Config } from '../domain/types.js';
import { matchesInterface } from '../domain/wan.js';
import { type WanAddress, wanReachability } from '../domain/wan-reachability.js';
import { check, type DoctorCheck } from './checks.js';
import { HINTS } from './wording.js';

interface IpAddrEntry {
  readonly ifname?: string;
  readonly addr_info?: readonly { readonly family?: string; readonly local?: string }[];
}

/** The addresses of the config's WAN interfaces, from `ip -j addr show`. */
export function wanAddressesOf(ipAddr: unknown, config: Config): WanAddress[] {
  if (!Array.isArray(ipAddr)) return [];
  return (ipAddr as IpAddrEntry[]).flatMap((link) => {
    const iface = link.ifname ?? '';
    if (!config.interfaces.wan.some((p) => matchesInterface(p, iface))) return [];
    return (link.addr_info ?? []).flatMap((a) =>
      a.local && (a.family === 'inet' || a.family === 'inet6')
        ? [{ iface, address: a.local, family: a.family === 'inet' ? ('ipv4' as const) : ('ipv6' as const) }]
        : [],
    );
  });
}

/** Whether the internet can reach the WAN address: a warning behind carrier-grade NAT or a private address. */
export function wanAddressCheck(ipAddr: unknown, config: Config): DoctorCheck {
  const r = wanReachability(wanAddressesOf(ipAddr, config));
  // A documentation range is what test networks (the lab) use: fine there, and said as such.
  const fine = r.status === 'public' || r.status === 'test-network';
  return check('wan-address', fine ? 'ok' : 'warn', r.message, r.hint);
}

/** Whether `api.listen` would serve the API and panel on every address or on a WAN address. */
export function apiListenCheck(ipAddr: unknown, config: Config): DoctorCheck {
  const listen = config.api?.listen ?? '127.0.0.1:8080';
  const parsed = parseListenAddress(listen);
  if ('error' in parsed) return check('api-listen', 'fail', parsed.error, HINTS.apiListen);
  if (isWildcardHost(parsed.host)) {
    return check(
      'api-listen',
      'warn',
      `${listen} serves the API and the panel on every address, the WAN included`,
      HINTS.apiListen,
    );
  }
  const host = parsed.host.toLowerCase();
  const wan = wanAddressesOf(ipAddr, config).find((a) => a.address.toLowerCase() === host);
  if (wan) {
    return check(
      'api-listen',
      'warn',
      `${listen} is an address of the WAN interface ${wan.iface}: the API and the panel face the internet`,
      HINTS.apiListen,
    );
  }
  return check('api-listen', 'ok', `${listen} is not on a WAN interface`);
}
