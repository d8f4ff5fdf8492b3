/**
 * Which addresses can be a LAN device: learn mode watches one device, and an address that no LAN device can
 * have (8.8.8.8, 0.0.0.0, a broadcast or multicast group) would record nothing and look like it worked.
 */
import { type IpAddress, parseAddress, parsePrefix, prefixContains } from './address.js';

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
 * Why `text` cannot be the IPv4 address of a LAN device, or undefined when it can: a private (RFC 1918) or
 * link-local unicast address.
 * @example lanDeviceProblem('8.8.8.8') // '8.8.8.8 is a public address, not one of a LAN device: …'
 */
export function lanDeviceProblem(text: string): string | undefined {
  const addr: IpAddress | undefined = parseAddress(text.trim());
  if (addr?.family !== 'ipv4') return `"${text}" is not an IPv4 address`;
  for (const r of REFUSED) {
    if (prefixContains(prefix(r.within), addr)) return `${text.trim()} is ${r.what}`;
  }
  if (!LAN_RANGES.some((p) => prefixContains(p, addr))) {
    return `${text.trim()} is a public address, not one of a LAN device: give the device's private address (10.x, 172.16-31.x, 192.168.x or 169.254.x)`;
  }
  return undefined;
}
