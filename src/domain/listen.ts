/** The API's `listen` setting: `host:port`, `[ipv6]:port` or `:port`, and whether it reaches every interface. */

/** A parsed `api.listen`; `host` is '' for `:port` (every address). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Splits `host:port`, `[v6]:port` or `:port`; an error text when it is none of them.
 * @example parseListenAddress('[::1]:8080') // { host: '::1', port: 8080 }
 */
export function parseListenAddress(listen: string): ListenAddress | { readonly error: string } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen.trim());
  const port = Number(m?.[3]);
  if (!m || !(port >= 0 && port <= 65_535)) {
    return { error: `api.listen must be host:port, [ipv6]:port or :port, got "${listen}"` };
  }
  return { host: m[1] ?? m[2] ?? '', port };
}

/** Whether a listen host binds every address of the machine, the WAN ones included. */
export function isWildcardHost(host: string): boolean {
  return ['', '*', '0.0.0.0', '::', '0:0:0:0:0:0:0:0', '::0'].includes(host.trim().toLowerCase());
}
