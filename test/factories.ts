/**
 * The rules and configs the tests build, in one place: domain values with every default filled in (for the
 * compiler, the model and the service), and rules as a config file spells them (for the kernel suites).
 */
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
