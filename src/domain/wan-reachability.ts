/**
 * Can the internet reach this gateway at all? Port triggering forwards connections that arrive at the WAN
 * address; when that address is itself behind the ISP's NAT (carrier-grade NAT, 100.64.0.0/10) or private,
 * nothing from the internet arrives, and no rule can change that.
 */

/** What kind of address a WAN interface has. */
export type WanAddressKind = 'public' | 'documentation' | 'cgnat' | 'private' | 'link-local' | 'loopback';

/** One address of a WAN interface. */
export interface WanAddress {
  readonly iface: string;
  readonly address: string;
  readonly family: 'ipv4' | 'ipv6';
}

/**
 * The verdict: `public` (reachable), `test-network` (a documentation range, RFC 5737: reachable only inside a
 * test network such as the lab's), `behind-nat` (IPv4 only behind another NAT), `unknown` (no address).
 */
export interface WanReachability {
  readonly status: 'public' | 'test-network' | 'behind-nat' | 'unknown';
  readonly ipv4: readonly {
    readonly iface: string;
    readonly address: string;
    readonly kind: WanAddressKind;
  }[];
  /** Whether a WAN interface has a global IPv6 address (rules with IPv6 still work then). */
  readonly publicIpv6: boolean;
  readonly message: string;
  /** What can help instead, when the status is not `public`. */
  readonly hint?: string;
}

function ipv4Kind(address: string): WanAddressKind | undefined {
  const o = address.split('.').map(Number);
  if (o.length !== 4 || o.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) return undefined;
  const [a, b, c] = o as [number, number, number, number];
  if (a === 100 && b >= 64 && b <= 127) return 'cgnat';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 169 && b === 254) return 'link-local';
  if (a === 127) return 'loopback';
  // RFC 5737 documentation ranges: never on the internet, but test networks (the lab's) use them.
  if (
    (a === 192 && b === 0 && c === 2) ||
    (a === 198 && b === 51 && c === 100) ||
    (a === 203 && b === 0 && c === 113)
  ) {
    return 'documentation';
  }
  return 'public';
}

function ipv6Global(address: string): boolean {
  const first = Number.parseInt(address.split(':')[0] || '0', 16);
  // 2000::/3 is the global unicast space; ULA (fc00::/7), link-local (fe80::/10) and ::1 are not reachable.
  return first >= 0x2000 && first <= 0x3fff;
}

/**
 * Classifies the addresses of the WAN interfaces.
 * @example wanReachability([{ iface: 'eth0', address: '100.64.12.7', family: 'ipv4' }]).status // 'behind-nat'
 */
export function wanReachability(addresses: readonly WanAddress[]): WanReachability {
  const ipv4 = addresses
    .filter((a) => a.family === 'ipv4')
    .flatMap((a) => {
      const kind = ipv4Kind(a.address);
      return kind && kind !== 'link-local' && kind !== 'loopback'
        ? [{ iface: a.iface, address: a.address, kind }]
        : [];
    });
  const publicIpv6 = addresses.some((a) => a.family === 'ipv6' && ipv6Global(a.address));
  if (ipv4.some((a) => a.kind === 'public')) {
    const shown = ipv4.filter((a) => a.kind === 'public').map((a) => `${a.address} on ${a.iface}`);
    return { status: 'public', ipv4, publicIpv6, message: `public IPv4 address ${shown.join(', ')}` };
  }
  if (ipv4.some((a) => a.kind === 'documentation')) {
    const shown = ipv4.filter((a) => a.kind === 'documentation').map((a) => `${a.address} on ${a.iface}`);
    return {
      status: 'test-network',
      ipv4,
      publicIpv6,
      message: `${shown.join(', ')}: a documentation range (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24), reachable in a test network only, never from the internet`,
    };
  }
  if (ipv4.length === 0) {
    return {
      status: publicIpv6 ? 'public' : 'unknown',
      ipv4,
      publicIpv6,
      message: publicIpv6
        ? 'no IPv4 address on the WAN, a global IPv6 address'
        : 'no address on the WAN interfaces',
    };
  }
  const described = ipv4.map(
    (a) =>
      `${a.address} on ${a.iface} is ${a.kind === 'cgnat' ? "the ISP's carrier-grade NAT (100.64.0.0/10)" : 'a private address'}`,
  );
  return {
    status: 'behind-nat',
    ipv4,
    publicIpv6,
    message: `${described.join('; ')}: connections from the internet over IPv4 cannot reach this gateway, and port triggering cannot help with that`,
    hint: publicIpv6
      ? "IPv6 works: rules with family ipv6 or both open pinholes to the LAN hosts' global IPv6 addresses; for IPv4, ask the ISP for a public address"
      : 'ask the ISP for a public IPv4 address (or IPv6); behind another router, forward the ports there or put this gateway in its DMZ',
  };
}
