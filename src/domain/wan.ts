/**
 * The gateway's WAN as the service follows it: the links of the system with their global addresses, the port
 * through which an adapter reports them whenever they change (`ip monitor`), and which of them are WAN
 * interfaces by the config's names (`ppp*` matches every ppp link).
 */

/** One network link of the gateway, as the WAN watch reports it. */
export interface NetworkLink {
  readonly name: string;
  /** Administratively up with a carrier (`UP` and `LOWER_UP`). */
  readonly up: boolean;
  /**
   * Its global addresses, sorted: what the internet can reach the gateway on (link-local, host-scope, temporary
   * and deprecated IPv6 addresses are left out: they come and go without changing that).
   */
  readonly addresses: readonly string[];
  /**
   * The subnets of its global addresses (`192.168.1.0/24`), sorted: on a LAN interface, where its devices are.
   * Absent where the watch does not report them.
   */
  readonly subnets?: readonly string[];
}

/** A WAN interface's state: present in the map means the link exists. */
export interface WanInterfaceState {
  readonly up: boolean;
  readonly addresses: readonly string[];
}

/** The WAN interfaces by name. */
export type WanState = ReadonlyMap<string, WanInterfaceState>;

/**
 * The port: reports every link with its addresses once at start and again after each change (a burst of
 * changes is one report). The kernel adapter runs `ip monitor link address`; unit tests hand the service a fake.
 */
export interface WanWatch {
  /** Starts watching; resolves once the first report was handed to `listener`. */
  start(listener: (links: readonly NetworkLink[]) => void): Promise<void>;
  close(): Promise<void>;
}

/** Whether an interface name matches a config name, with nft's trailing wildcard (`ppp*`). */
export function matchesInterface(pattern: string, name: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

/** The WAN interfaces among `links`, by the config's WAN names. */
export function wanStateOf(links: readonly NetworkLink[], wanNames: readonly string[]): WanState {
  const state = new Map<string, WanInterfaceState>();
  for (const link of links) {
    if (wanNames.some((p) => matchesInterface(p, link.name))) {
      state.set(link.name, { up: link.up, addresses: [...link.addresses].sort() });
    }
  }
  return state;
}
