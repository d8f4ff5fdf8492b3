/**
 * The rules and configs the tests build, in one place: domain values with every default filled in (for the
 * compiler, the model and the service), rules as a config file spells them (for the kernel suites), and the
 * connections a learning session records (for the proposal tests).
 */
import type { SeenConnection } from '../src/domain/learn/recorder.js';
import type { Config, Protocol, Rule } from '../src/domain/types.js';

/**
 * A rule with the config file's defaults: tcp 6970 triggers udp 7000, 60 s idle, any host, any remote.
 * @example rule({ name: 'game', family: 'ipv4', idleTimeout: 600 })
 */
export function rule(over: Partial<Rule> & { name: string }): Rule {
  return {
    enabled: true,
    family: 'both',
    trigger: [{ protocol: 'tcp', ports: '6970' }],
    open: [{ protocol: 'udp', ports: '7000' }],
    idleTimeout: 60,
    lanHosts: 'any',
    remote: 'any',
    onExpire: 'keep',
    ...over,
  };
}

/**
 * A config on the test network's interfaces (LAN `br-lan`, WAN `wan0`), companion mode unless `over` says.
 * @example config([rule({ name: 'game' })], { mode: 'standalone' })
 */
export function config(rules: readonly Rule[], over: Partial<Config> = {}): Config {
  return {
    interfaces: { lan: ['br-lan'], wan: ['wan0'] },
    mode: 'companion',
    enabled: true,
    ipv6: true,
    rules: [...rules],
    ...over,
  };
}

/** A rule as the config file spells it (defaults left out). */
export interface RuleInput {
  readonly name: string;
  readonly trigger: readonly { readonly protocol: Protocol; readonly ports: string }[];
  readonly open: readonly { readonly protocol: Protocol; readonly ports: string }[];
  readonly [field: string]: unknown;
}

/**
 * A config-file rule with one trigger port and one open port.
 * @example portRule('game', 'udp 5000', 'udp 7000', { idleTimeout: 60 })
 */
export function portRule(
  name: string,
  trigger: `${Protocol} ${number}`,
  open: `${Protocol} ${number}`,
  extra: Readonly<Record<string, unknown>> = {},
): RuleInput {
  const spec = (text: string) => {
    const [protocol, ports] = text.split(' ') as [Protocol, string];
    return [{ protocol, ports }];
  };
  return { name, trigger: spec(trigger), open: spec(open), ...extra };
}

/** What a recorded connection needs said; the rest has the defaults of {@link seenOutbound} and {@link seenInbound}. */
export type SeenFields = Omit<SeenConnection, 'direction' | 'family' | 'sourcePort'> &
  Partial<Pick<SeenConnection, 'family' | 'sourcePort'>>;

/**
 * A connection a LAN device opened, as a learning session records it: IPv4, source port 40000 unless said.
 * @example seenOutbound({ at: T, protocol: 'tcp', source: DEVICE, destination: SERVER, port: 6970 })
 */
export function seenOutbound(c: SeenFields): SeenConnection {
  return { direction: 'outbound', family: 'ipv4', sourcePort: 40_000, ...c };
}

/**
 * A WAN host's attempt that nothing forwarded, as a learning session records it: IPv4, source port 50000 unless
 * said; `destination` is the gateway's address.
 * @example seenInbound({ at: T + 2000, protocol: 'udp', source: SERVER, destination: GATEWAY, port: 7000 })
 */
export function seenInbound(c: SeenFields): SeenConnection {
  return { direction: 'inbound', family: 'ipv4', sourcePort: 50_000, ...c };
}

/** A proposal's (or rule's) trigger or open ports as one line: `tcp 6970,udp 7000`. */
export function specsText(
  specs: readonly { readonly protocol: string; readonly ports: string }[] | undefined,
) {
  return specs?.map((s) => `${s.protocol} ${s.ports}`).join();
}

/**
 * Another tool's ruleset (as `nft -j list ruleset` gives it) with one static port forward in `ip nat`'s prerouting.
 * @example staticForwardRuleset('udp', 8001, '192.168.1.50')
 */
export function staticForwardRuleset(
  protocol: Protocol,
  port: number,
  addr: string,
  toPort?: number,
): unknown {
  const match = { match: { op: '==', left: { payload: { protocol, field: 'dport' } }, right: port } };
  const dnat = { dnat: { addr, ...(toPort !== undefined ? { port: toPort } : {}) } };
  return { nftables: [{ rule: { family: 'ip', table: 'nat', chain: 'prerouting', expr: [match, dnat] } }] };
}
