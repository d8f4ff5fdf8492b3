/**
 * Reading another tool's ruleset (`nft -j list ruleset`) for static port forwards over our open ports (forward
 * chains that drop DNAT-ed connections: forward-decision.ts). Pure: JSON in, findings out.
 */
import { formatPortList, rangesByProtocol, rangesOverlap } from '../domain/ports.js';
import type { Config, PortRange, PortSpec, Protocol } from '../domain/types.js';
import { isOwnTable, type NftRule, nftRules } from './forward-decision.js';

type Json = Record<string, unknown>;

function matchesOf(rule: NftRule): Json[] {
  return rule.expr.filter((e) => e['match']).map((e) => e['match'] as Json);
}

/** A static port forward of another table that overlaps the open ports of one of our rules. */
export interface StaticDnatOverlap {
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  readonly handle?: number;
  readonly protocol: Protocol;
  /** The overlapping ports, as the config writes them. */
  readonly ports: string;
  readonly rule: string;
  readonly target: string;
}

function portsOf(right: unknown): PortRange[] | undefined {
  if (typeof right === 'number') return [{ from: right, to: right }];
  const obj = right as Json | null;
  const range = obj?.['range'];
  if (Array.isArray(range) && typeof range[0] === 'number' && typeof range[1] === 'number') {
    return [{ from: range[0], to: range[1] }];
  }
  const set = obj?.['set'] ?? (Array.isArray(right) ? right : undefined);
  if (Array.isArray(set)) {
    const out: PortRange[] = [];
    for (const item of set) {
      const key = Array.isArray(item) ? item[0] : item;
      const r = portsOf(key);
      if (!r) return undefined;
      out.push(...r);
    }
    return out;
  }
  return undefined;
}

function dportProtocol(left: unknown): Protocol | 'any' | undefined {
  const payload = (left as Json | null)?.['payload'] as Json | undefined;
  if (payload?.['field'] !== 'dport') return undefined;
  const p = payload['protocol'];
  return p === 'tcp' || p === 'udp' ? p : 'any';
}

function l4Protocol(matches: readonly Json[]): Protocol | undefined {
  for (const m of matches) {
    const meta = ((m['left'] as Json | undefined)?.['meta'] as Json | undefined)?.['key'];
    if (meta === 'l4proto' && (m['right'] === 'tcp' || m['right'] === 'udp')) return m['right'];
  }
  return undefined;
}

function dnatTarget(dnat: Json): string {
  const addr = dnat['addr'];
  const port = dnat['port'];
  const text =
    typeof addr === 'string' ? addr : addr && typeof addr === 'object' && 'map' in addr ? 'a map' : '?';
  return typeof port === 'number' ? `${text}:${port}` : text;
}

/** What one rule with a `dnat` statement forwards: per protocol the destination ports, or every port. */
function dnatPorts(
  rule: NftRule,
): { protocol: Protocol | 'any'; ranges: PortRange[] | 'all'; target: string }[] {
  const dnat = rule.expr.find((e) => e['dnat'])?.['dnat'] as Json | undefined;
  if (!dnat) return [];
  const matches = matchesOf(rule);
  const l4 = l4Protocol(matches);
  const out: { protocol: Protocol | 'any'; ranges: PortRange[] | 'all'; target: string }[] = [];
  for (const m of matches) {
    const proto = dportProtocol(m['left']);
    if (!proto || (m['op'] !== '==' && m['op'] !== 'in')) continue;
    const ranges = portsOf(m['right']);
    if (ranges)
      out.push({ protocol: proto === 'any' ? (l4 ?? 'any') : proto, ranges, target: dnatTarget(dnat) });
  }
  // `dnat to tcp dport map { 8080 : 192.168.1.52 }`: the keys are the ports.
  const map = ((dnat['addr'] as Json | undefined)?.['map'] as Json | undefined) ?? undefined;
  const mapProto = map ? dportProtocol(map['key']) : undefined;
  const mapData = map?.['data'] as Json | undefined;
  if (mapProto && mapData) {
    const ranges = portsOf(mapData);
    if (ranges)
      out.push({ protocol: mapProto === 'any' ? (l4 ?? 'any') : mapProto, ranges, target: 'a map' });
  }
  if (out.length === 0 && !map) out.push({ protocol: l4 ?? 'any', ranges: 'all', target: dnatTarget(dnat) });
  return out;
}

function intersect(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  for (const x of a) {
    for (const y of b) {
      const from = Math.max(x.from, y.from);
      const to = Math.min(x.to, y.to);
      if (from <= to) out.push({ from, to });
    }
  }
  return out.sort((p, q) => p.from - q.from);
}

/** Finds other tables' `dnat` rules whose destination ports overlap the open ports of an enabled rule. */
export function findStaticDnatOverlaps(ruleset: unknown, config: Config): StaticDnatOverlap[] {
  return findDnatOverlaps(
    ruleset,
    config.rules.filter((r) => r.enabled),
  );
}

/**
 * Finds other tables' `dnat` rules whose destination ports overlap the open ports of the rules given, which
 * need only a name and open ports (a proposed rule of learn mode is checked before it exists).
 */
export function findDnatOverlaps(
  ruleset: unknown,
  candidates: readonly { readonly name: string; readonly open: readonly PortSpec[] }[],
): StaticDnatOverlap[] {
  const rules = nftRules(ruleset);
  const ours = candidates.map((r) => ({ name: r.name, open: rangesByProtocol(r.open) }));
  const out: StaticDnatOverlap[] = [];
  for (const rule of rules) {
    if (isOwnTable(rule.family, rule.table)) continue;
    for (const fwd of dnatPorts(rule)) {
      const protocols: Protocol[] = fwd.protocol === 'any' ? ['tcp', 'udp'] : [fwd.protocol];
      for (const protocol of protocols) {
        for (const o of ours) {
          const theirs = fwd.ranges === 'all' ? [{ from: 1, to: 65535 }] : fwd.ranges;
          if (!rangesOverlap(theirs, o.open[protocol])) continue;
          out.push({
            family: rule.family,
            table: rule.table,
            chain: rule.chain,
            ...(rule.handle !== undefined ? { handle: rule.handle } : {}),
            protocol,
            ports: fwd.ranges === 'all' ? 'all' : formatPortList(intersect(theirs, o.open[protocol])),
            rule: o.name,
            target: fwd.target,
          });
        }
      }
    }
  }
  return out;
}
