import type { Config, FamilyChoice, Mode, RemotePolicy, Rule } from '../../src/domain/types.js';
import { TABLE_NAME } from '../../src/domain/types.js';
import { LAB_ADDRESSES } from '../../src/lab/virtual-network.js';
import { type Plan, sharedSetName } from '../../src/nft/plan.js';
import { PORTS } from './lab.js';

/** The name of the rule every measurement goes through. */
export const MEASURED_RULE = 'game';

const T = `inet ${TABLE_NAME}`;
const LAN1 = LAB_ADDRESSES.hosts.lan1.ipv4;
/** Holder of the seeded entries that carry no traffic. */
export const SEED_HOLDER = LAB_ADDRESSES.hosts.lan2.ipv4;
/** How long seeded entries and bench rules stay open without traffic. */
export const BENCH_IDLE_S = 3600;

/** Options for the rules of a bench config. */
export interface RuleSetOptions {
  readonly family: FamilyChoice;
  readonly remote?: RemotePolicy;
  /** Standalone (default) or companion, where the host's own table masquerades. */
  readonly mode?: Mode;
}

/**
 * `count` rules as the config file would hold them (before validation): the measured rule (trigger 6000, open
 * 7000, both protocols) and fillers that trigger on 10000+i and open 30000+i, so no two rules share a port.
 */
export function rawRules(count: number, options: RuleSetOptions): Record<string, unknown>[] {
  const rules: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const measured = i === 0;
    rules.push({
      name: measured ? MEASURED_RULE : `filler-${i}`,
      family: options.family,
      trigger: [{ protocol: 'both', ports: String(measured ? PORTS.trigger : 10_000 + i) }],
      open: [{ protocol: 'both', ports: String(measured ? PORTS.open : 30_000 + i) }],
      idleTimeout: BENCH_IDLE_S,
      ...(measured && options.remote ? { remote: options.remote } : {}),
    });
  }
  return rules;
}

/** A raw config document (as parsed YAML) with the bench rules, standalone mode. */
export function rawConfig(count: number, options: RuleSetOptions): Record<string, unknown> {
  return {
    interfaces: { lan: ['br-lan'], wan: ['wan0'] },
    mode: options.mode ?? 'standalone',
    rules: rawRules(count, options),
  };
}

/**
 * The same config as a validated `Config`, built directly. B1 uses it so that loading 10,000 rules does not
 * wait for validation, which B3 measures on its own.
 */
export function benchConfig(count: number, options: RuleSetOptions): Config {
  const rules: Rule[] = rawRules(count, options).map((r) => ({
    name: r['name'] as string,
    enabled: true,
    family: options.family,
    trigger: r['trigger'] as Rule['trigger'],
    open: r['open'] as Rule['open'],
    idleTimeout: BENCH_IDLE_S,
    lanHosts: 'any',
    remote: (r['remote'] as RemotePolicy | undefined) ?? 'any',
    onExpire: 'keep',
  }));
  return {
    interfaces: { lan: ['br-lan'], wan: ['wan0'] },
    mode: options.mode ?? 'standalone',
    enabled: true,
    ipv6: true,
    rules,
  };
}

/** The baseline of B1 and B2: masquerade plus one static DNAT of the open port to lan1, in a table of its own. */
export function baselineNatScript(): string {
  return `table inet bench_base {
  chain dstnat {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "wan0" meta nfproto ipv4 meta l4proto { tcp, udp } th dport ${PORTS.open} dnat ip to ${LAN1}
  }
  chain srcnat {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" meta nfproto ipv4 masquerade
  }
}
`;
}

/** The host's own masquerade, as next to porttrigger in companion mode (fw4, firewalld, a hand-written table). */
export function hostMasqueradeScript(): string {
  return `table inet bench_host {
  chain srcnat {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" meta nfproto ipv4 masquerade
  }
}
`;
}

/**
 * The baseline of standalone mode: the B1 baseline plus a standard stateful forward policy (established and
 * related first, invalid dropped, LAN out, DNAT-ed in), what any standalone firewall costs.
 */
export function statefulFirewallScript(): string {
  return `${baselineNatScript()}table inet bench_firewall {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct state invalid drop
    iifname "br-lan" accept
    ct status dnat accept
  }
}
`;
}

/**
 * B3's baseline: a classic static port-forward ruleset of the same size (one DNAT rule per porttrigger rule
 * plus masquerade), the trivial equivalent that an `nft -f` loads in one go.
 */
export function staticForwardScript(count: number): string {
  const rules: string[] = [];
  for (let i = 0; i < count; i++) {
    rules.push(`    iifname "wan0" meta l4proto udp udp dport ${30_000 + (i % 30_000)} dnat ip to ${LAN1}`);
  }
  return `table inet bench_static {
  chain dstnat {
    type nat hook prerouting priority dstnat; policy accept;
${rules.join('\n')}
  }
  chain srcnat {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" meta nfproto ipv4 masquerade
  }
}
`;
}

/** An IPv4 address of the benchmarking range 198.18.0.0/15 (RFC 2544) for seeded remotes; no packet goes there. */
export function seedRemote(i: number): string {
  const n = 0xc6120000 + 1 + i;
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

function chunked<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * nft commands that give every IPv4 `remote: any` rule of the plan but the measured one an entry held by
 * lan2, exactly as a trigger would leave it in the shared sets (held rules, holder, DNAT target).
 */
export function seedHolderScript(plan: Plan): string {
  const timeout = `timeout ${BENCH_IDLE_S}s`;
  const rules = plan.rules.filter(
    (r) => r.family === 'ipv4' && r.rule.name !== MEASURED_RULE && r.rule.remote === 'any',
  );
  const lines: string[] = [];
  for (const part of chunked(rules, 2000)) {
    // The DNAT map is split by rule number: one add a part, with the rules it holds.
    const byMap = new Map<string, Plan['rules'][number][]>();
    for (const r of part) {
      const name = sharedSetName('target', 'ipv4', r.id)!;
      byMap.set(name, [...(byMap.get(name) ?? []), r]);
    }
    for (const [target, rs] of byMap) {
      lines.push(
        `add element ${T} ${target} { ${rs.map((r) => `${r.id} ${timeout} : ${SEED_HOLDER}`).join(', ')} }`,
      );
    }
    lines.push(
      `add element ${T} ${sharedSetName('hold', 'ipv4')} { ${part.map((r) => `${r.id} . ${SEED_HOLDER} ${timeout}`).join(', ')} }`,
    );
    lines.push(
      `add element ${T} ${sharedSetName('held', 'ipv4')} { ${part.map((r) => `${r.id} ${timeout}`).join(', ')} }`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/**
 * nft commands that add `count` entries (remotes from {@link seedRemote}, starting at `from`) to the measured
 * `remote: contacted` rule in the IPv4 shared sets, as triggers to those remotes would: taken remotes, pairs,
 * DNAT targets.
 */
export function seedContactedScript(plan: Plan, from: number, count: number, holder: string): string {
  const r = plan.rules.find((p) => p.family === 'ipv4' && p.rule.name === MEASURED_RULE);
  if (r?.rule.remote !== 'contacted') throw new Error('the measured rule is not a contacted IPv4 rule');
  const remotes = Array.from({ length: count }, (_, i) => seedRemote(from + i));
  const timeout = `timeout ${BENCH_IDLE_S}s`;
  const lines: string[] = [];
  const rtarget = sharedSetName('rtarget', 'ipv4', r.id);
  for (const part of chunked(remotes, 2000)) {
    if (rtarget) {
      lines.push(
        `add element ${T} ${rtarget} { ${part.map((x) => `${r.id} . ${x} ${timeout} : ${holder}`).join(', ')} }`,
      );
    }
    lines.push(
      `add element ${T} ${sharedSetName('pair', 'ipv4')} { ${part.map((x) => `${r.id} . ${x} . ${holder} ${timeout}`).join(', ')} }`,
    );
    lines.push(
      `add element ${T} ${sharedSetName('taken', 'ipv4')} { ${part.map((x) => `${r.id} . ${x} ${timeout}`).join(', ')} }`,
    );
  }
  return `${lines.join('\n')}\n`;
}
