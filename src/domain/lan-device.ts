/**
 * Which addresses can be a LAN device: learn mode watches one device, and an address that no LAN device can
 * have (8.8.8.8, 0.0.0.0, a broadcast or multicast group, an address outside the LAN's subnets) would record
 * nothing and look like it worked.
 */
import {
  familyBits,
  formatPrefix,
  type IpAddress,
  parseAddress,
  parsePrefix,
  prefixContains,
} from './address.js';
import { matchesInterface, type NetworkLink } from './wan.js';

const prefix = (text: string) =>
  parsePrefix(text) as Exclude<ReturnType<typeof parsePrefix>, { error: string }>;

const REFUSED: readonly { readonly within: string; readonly what: string }[] = [
  { within: '0.0.0.0/8', what: '"this network", not a device' },
  { within: '127.0.0.0/8', what: 'a loopback address of the gateway itself' },
  { within: '224.0.0.0/4', what: 'a multicast group, not a device' },
  { within: '255.255.255.255/32', what: 'the broadcast address, not a device' },
  { within: '240.0.0.0/4', what: 'a reserved address' },
];

// The ranges a LAN uses: RFC 1918 private space and link-local addresses (no DHCP server).
const LAN_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'].map(prefix);

/**
 * The subnet of an interface address with its prefix length, or undefined for bad input.
 * @example subnetOf('192.168.1.1', 24) // '192.168.1.0/24'
 */
export function subnetOf(address: string, length: number): string | undefined {
  const addr = parseAddress(address);
  if (!addr || !Number.isInteger(length) || length < 0 || length > familyBits(addr.family)) return undefined;
  const hostBits = BigInt(familyBits(addr.family) - length);
  return formatPrefix({ family: addr.family, network: (addr.value >> hostBits) << hostBits, length });
}

/**
 * The subnets of the LAN interfaces among `links` (by the config's names, `br-*` matching), sorted, each once.
 * @example lanSubnetsOf(links, ['br-lan']) // ['192.168.1.0/24', '2001:db8:1::/64']
 */
export function lanSubnetsOf(links: readonly NetworkLink[], lanNames: readonly string[]): string[] {
  const lan = links.filter((l) => lanNames.some((p) => matchesInterface(p, l.name)));
  return [...new Set(lan.flatMap((l) => l.subnets ?? []))].sort();
}

/** True when `address` is in one of `subnets` (CIDR prefixes; bad ones match nothing). */
export function inSubnets(address: string, subnets: readonly string[]): boolean {
  const addr = parseAddress(address.trim());
  if (!addr) return false;
  return subnets.some((s) => {
    const p = parsePrefix(s);
    return !('error' in p) && prefixContains(p, addr);
  });
}

/**
 * Why `text` cannot be the IPv4 address of a LAN device, or undefined when it can: a private (RFC 1918) or
 * link-local unicast address, inside one of the LAN's `subnets` when they are known.
 * @example lanDeviceProblem('8.8.8.8') // '8.8.8.8 is a public address, not one of a LAN device: …'
 * @example lanDeviceProblem('10.9.0.5', ['192.168.1.0/24']) // '10.9.0.5 is not in the LAN subnets …'
 */
export function lanDeviceProblem(text: string, subnets?: readonly string[]): string | undefined {
  const addr: IpAddress | undefined = parseAddress(text.trim());
  if (addr?.family !== 'ipv4') return `"${text}" is not an IPv4 address`;
  for (const r of REFUSED) {
    if (prefixContains(prefix(r.within), addr)) return `${text.trim()} is ${r.what}`;
  }
  if (!LAN_RANGES.some((p) => prefixContains(p, addr))) {
    return `${text.trim()} is a public address, not one of a LAN device: give the device's private address (10.x, 172.16-31.x, 192.168.x or 169.254.x)`;
  }
  if (subnets !== undefined && subnets.length > 0 && !inSubnets(text, subnets)) {
    return `${text.trim()} is not in the LAN subnets (${subnets.join(', ')}): give the address of a device on the LAN`;
  }
  return undefined;
}
