/**
 * Which firewall owns a forward chain, by the names it gives its tables and chains: firewalld (`inet firewalld`),
 * ufw (`ufw-*` chains in iptables-nft tables), Docker (`DOCKER*` chains) or a plain nftables ruleset such as
 * `/etc/nftables.conf`. Pure: nft JSON in, names out.
 */
import { type ForwardDecision, tablesWithXt } from './forward-decision.js';
import { nftObjects } from './state.js';

/** A firewall the doctor knows by name. */
export type FirewallKind = 'firewalld' | 'ufw' | 'docker' | 'iptables' | 'nftables';

/** A forward chain's decision with the firewall that made it. */
export interface HostFirewall extends ForwardDecision {
  /** Who owns the table; ufw and Docker may share iptables' `filter` table, then both are named. */
  readonly kinds: readonly FirewallKind[];
}

/** The firewalls of the table of each decision. */
export function nameFirewalls(ruleset: unknown, decisions: readonly ForwardDecision[]): HostFirewall[] {
  const chains = nftObjects(ruleset, 'chain');
  const xtTables = new Set(tablesWithXt(ruleset));
  return decisions.map((d) => {
    const names = chains
      .filter((c) => c['family'] === d.family && c['table'] === d.table)
      .map((c) => String(c['name']));
    const kinds: FirewallKind[] = [];
    if (d.table === 'firewalld') kinds.push('firewalld');
    if (names.some((n) => n.startsWith('ufw-') || n.startsWith('ufw6-'))) kinds.push('ufw');
    if (names.some((n) => n === 'DOCKER' || n.startsWith('DOCKER-'))) kinds.push('docker');
    if (kinds.length === 0) {
      // iptables-nft writes its tables with upper-case built-in chains and `xt` expressions.
      const iptables = xtTables.has(`${d.family} ${d.table}`) || /^[A-Z]+$/.test(d.chain);
      kinds.push(iptables ? 'iptables' : 'nftables');
    }
    return { ...d, kinds };
  });
}
