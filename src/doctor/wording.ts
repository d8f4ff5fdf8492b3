/** What the doctor says: titles, hints and the sentences that name what it found. */
import type { Issue } from '../domain/errors.js';
import { formatPath } from '../domain/errors.js';
import type { StaticDnatOverlap } from '../nft/ruleset-analysis.js';

/** The title of every check, by id. */
export const TITLES = {
  nft: 'nft version',
  kernel: 'kernel features',
  forwarding: 'IP forwarding',
  conntrack: 'connection tracker tool',
  'set-reader': 'set reader',
  config: 'config',
  interfaces: 'interfaces',
  'wan-address': 'reachable from the internet',
  'api-listen': 'API listen address',
  'forward-policy': 'host firewall',
  'static-dnat': 'static port forwards',
} as const;

/** The id of a check: stable, for scripts. */
export type CheckId = keyof typeof TITLES;

/** What to do about a failed or doubtful check. */
export const HINTS = {
  nftTooOld: 'install nftables 1.0 or later (Debian 12, Ubuntu 22.04 and newer ship it)',
  nftMissing: 'apt-get install nftables (or your distribution’s nftables package)',
  notRoot: 'run as root (nft needs CAP_NET_ADMIN)',
  kernelModules: 'needs Linux 5.6 or later with nf_tables, nft_set_hash, nft_set_rbtree, nft_nat and nft_ct',
  ipv4Forwarding: 'sysctl -w net.ipv4.ip_forward=1 (and set it in /etc/sysctl.d/ to keep it)',
  ipv6Forwarding: 'sysctl -w net.ipv6.conf.all.forwarding=1, or set `ipv6: false` in the config',
  interfaces:
    'check interfaces.lan and interfaces.wan (`ip link`); an interface that appears later (ppp0) is fine',
  apiListen: 'set api.listen to 127.0.0.1:8080 or a LAN address of this gateway',
  forwardPolicy:
    'let `ct status dnat` connections from the WAN to the LAN interfaces through that chain (docs/firewalls.md), or use `mode: standalone` on a box without another firewall',
  staticDnat:
    "a static forward wins over the trigger and the holder never gets those connections: remove it, or change the rule's open ports",
  listRuleset: 'run as root',
  conntrackMissing: 'apt-get install conntrack (or your distribution’s conntrack-tools package)',
  setReaderMissing:
    'install gcc, libnftnl-dev and libmnl-dev and run `npm run build` (the Debian package ships the reader)',
  configExample: 'pass --config FILE (examples/gateway.yaml shows one)',
} as const;

/** What the kernel check proves when nft accepts the scratch table. */
export const KERNEL_OK =
  'the kernel accepts the ruleset porttrigger renders: dynamic sets with timeouts, hash and interval verdict maps, DNAT from a map';

/** Static forwards over our open ports, one sentence each. */
export function describeOverlaps(overlaps: readonly StaticDnatOverlap[]): string {
  return overlaps
    .map(
      (o) =>
        `table ${o.family} ${o.table} chain ${o.chain}${o.handle !== undefined ? ` (handle ${o.handle})` : ''} forwards ${o.protocol} ${o.ports === 'all' ? 'every port' : o.ports} to ${o.target}, an open port of rule "${o.rule}"`,
    )
    .join('; ');
}

/** One config issue as `path: message`. */
export function describeIssue(issue: Issue | undefined): string {
  return issue ? `${formatPath(issue.path) || '(top level)'}: ${issue.message}` : '?';
}

/** `n thing` or `n things`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
