/** The port check: is this port open right now, for which rule, to which host. Pure. */
import { parsePortList, portInRanges, protocolsOf } from '../domain/ports.js';
import type { Config, Protocol, TriggerEntry, TriggerTable } from '../domain/types.js';

/** One rule whose open ports include the port checked, with its active entries. */
export interface PortCheckMatch {
  readonly rule: string;
  /** The rule is enabled and so is the global switch. */
  readonly enabled: boolean;
  readonly entries: readonly TriggerEntry[];
}

/** The answer of a port check. */
export interface PortCheck {
  readonly port: number;
  readonly protocol: Protocol;
  /** Some entry forwards this port now. */
  readonly open: boolean;
  readonly matches: readonly PortCheckMatch[];
  /** When the trigger table behind the answer was read. */
  readonly at: number;
  /** The answer comes from the last table read, because a fresh read did not answer in time. */
  readonly stale?: true;
}

function opens(specs: Config['rules'][number]['open'], port: number, protocol: Protocol): boolean {
  return specs.some((s) => {
    if (!protocolsOf(s.protocol).includes(protocol)) return false;
    const parsed = parsePortList(s.ports);
    return !('error' in parsed) && portInRanges(port, parsed.ranges);
  });
}

/**
 * Which rules open `port`/`protocol` and who receives it now.
 * @example checkPort(config, table, 7000, 'udp') // { open: true, matches: [{ rule: 'game', entries: [...] }] }
 */
export function checkPort(config: Config, table: TriggerTable, port: number, protocol: Protocol): PortCheck {
  const matches = config.rules
    .filter((r) => opens(r.open, port, protocol))
    .map((r) => ({
      rule: r.name,
      enabled: r.enabled && config.enabled,
      entries: table.entries.filter((e) => e.rule === r.name),
    }));
  return {
    port,
    protocol,
    open: matches.some((m) => m.enabled && m.entries.length > 0),
    matches,
    at: table.at,
    ...(table.stale ? { stale: true as const } : {}),
  };
}
