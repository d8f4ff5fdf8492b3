/**
 * What the doctor says about the host firewall: which firewall it is, whether it lets porttrigger's inbound
 * connections through, and the exact, narrow change that does (`ct status dnat` from the WAN to the LAN
 * interfaces, never "accept forward"). docs/firewalls.md explains each. Pure.
 */
import type { Config } from '../domain/types.js';
import type { FirewallKind, HostFirewall } from '../nft/host-firewall.js';

/** A change that lets porttrigger's connections through: a command, lines for a file, or both. */
export interface FirewallFix {
  /** A shell command to run as root (takes effect at once). */
  readonly command?: string;
  /** Lines to add to a file (to keep the change, or the only way for that firewall). */
  readonly file?: {
    readonly path: string;
    /** Where: the lines go before the last line that is exactly this (ufw's `COMMIT`), else at the end. */
    readonly before?: string;
    readonly lines: readonly string[];
  };
  /** A command to run after editing the file. */
  readonly reload?: string;
}

/** What was found about one firewall, for the doctor's check and the panel. */
export interface FirewallFinding {
  readonly firewall: HostFirewall;
  readonly name: string;
  readonly drops: boolean;
  readonly detail: string;
  readonly fix?: FirewallFix;
}

const NAMES: Readonly<Record<FirewallKind, string>> = {
  firewalld: 'firewalld',
  ufw: 'ufw',
  docker: 'Docker',
  iptables: 'iptables',
  nftables: 'an nftables ruleset (as /etc/nftables.conf loads it)',
};

function quoteNft(names: readonly string[]): string {
  const quoted = names.map((n) => `"${n}"`);
  return quoted.length === 1 ? quoted[0]! : `{ ${quoted.join(', ')} }`;
}

/** iptables writes nft's trailing `*` wildcard as `+`. */
function iptablesName(name: string): string {
  return name.endsWith('*') ? `${name.slice(0, -1)}+` : name;
}

/** One iptables rule body per WAN-LAN pair: iptables takes one interface per match. */
function iptablesLines(prefix: string, config: Config): string[] {
  return config.interfaces.wan.flatMap((wan) =>
    config.interfaces.lan.map(
      (lan) =>
        `${prefix} -i ${iptablesName(wan)} -o ${iptablesName(lan)} -m conntrack --ctstate DNAT -j ACCEPT`,
    ),
  );
}

/** The nft rule that accepts porttrigger's DNAT-ed connections, and only from the WAN to the LAN. */
export function nftAcceptRule(config: Config): string {
  return `iifname ${quoteNft(config.interfaces.wan)} oifname ${quoteNft(config.interfaces.lan)} ct status dnat accept`;
}

function fixFor(kind: FirewallKind, fw: HostFirewall, config: Config): FirewallFix {
  switch (kind) {
    case 'nftables':
      return {
        command: `nft insert rule ${fw.family} ${fw.table} ${fw.chain} '${nftAcceptRule(config)}'`,
        file: { path: '/etc/nftables.conf', lines: [`${nftAcceptRule(config)}   # in chain ${fw.chain}`] },
      };
    case 'ufw':
      return {
        file: {
          path: fw.family === 'ip6' ? '/etc/ufw/before6.rules' : '/etc/ufw/before.rules',
          before: 'COMMIT',
          lines: iptablesLines('-A ufw-before-forward', config),
        },
        reload: 'ufw reload',
      };
    case 'docker':
      return {
        command: iptablesLines(
          fw.family === 'ip6' ? 'ip6tables -I DOCKER-USER' : 'iptables -I DOCKER-USER',
          config,
        ).join(' && '),
      };
    case 'firewalld':
      // The setting is in the file already (that is why it drops): it is changed, not added.
      return {
        command:
          "sed -i 's/^StrictForwardPorts=.*/StrictForwardPorts=no/' /etc/firewalld/firewalld.conf && firewall-cmd --reload",
      };
    case 'iptables':
      return {
        command: iptablesLines(
          fw.family === 'ip6' ? 'ip6tables -I FORWARD' : 'iptables -I FORWARD',
          config,
        ).join(' && '),
      };
  }
}

function where(fw: HostFirewall): string {
  const rule =
    fw.by === 'policy'
      ? 'policy drop'
      : `${fw.by.text === 'unconditional' ? 'a final reject or drop' : 'a rule that drops it'} in chain ${fw.by.chain}${fw.by.handle !== undefined ? ` (handle ${fw.by.handle})` : ''}`;
  return `table ${fw.family} ${fw.table} chain ${fw.chain}, ${rule}`;
}

/** Why a chain accepts: the `ct status dnat` rule that lets DNAT-ed connections through, or its policy. */
function accepting(fw: HostFirewall): string {
  if (fw.by === 'policy')
    return `its forward chain (table ${fw.family} ${fw.table} chain ${fw.chain}) has policy accept`;
  const how = fw.by.text === 'ct status dnat' ? '`ct status dnat accept`' : 'an accept rule';
  return `${how} in table ${fw.family} ${fw.table} chain ${fw.by.chain} lets DNAT-ed connections through`;
}

/**
 * The finding about one forward chain: named firewall, its decision, and the fix when it drops.
 * @example describeFirewall(ufwChain, config).fix?.file?.lines // ['-A ufw-before-forward -i eth0 -o br-lan -m conntrack --ctstate DNAT -j ACCEPT']
 */
export function describeFirewall(fw: HostFirewall, config?: Config): FirewallFinding {
  const name = fw.kinds.map((k) => NAMES[k]).join(' and ');
  const opaque = fw.opaque ? ' (some of its iptables rules could not be read)' : '';
  if (fw.verdict === 'accept') {
    return { firewall: fw, name, drops: false, detail: `${name}: ${accepting(fw)}${opaque}` };
  }
  const detail = `${name} drops DNAT-ed connections (${where(fw)})${opaque}: inbound connections of entries will be dropped`;
  // Docker's own chains come after DOCKER-USER; with ufw in the same table, ufw's file is the lasting place.
  const kind = fw.kinds.includes('ufw') ? 'ufw' : fw.kinds[0]!;
  return { firewall: fw, name, drops: true, detail, ...(config ? { fix: fixFor(kind, fw, config) } : {}) };
}

/** The fix as the text a person follows: the command, or the lines and where they go, then what to run. */
export function fixText(fix: FirewallFix): string {
  const parts: string[] = [];
  if (fix.command) parts.push(`run: ${fix.command}`);
  if (fix.file) {
    const place = fix.file.before ? ` before its last \`${fix.file.before}\` line` : '';
    const verb = fix.command ? 'to keep it, add to' : 'add to';
    parts.push(`${verb} ${fix.file.path}${place}: ${fix.file.lines.join(' ; ')}`);
  }
  if (fix.reload) parts.push(`then run: ${fix.reload}`);
  return parts.join('; ');
}
