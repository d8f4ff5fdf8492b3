import type { PortRange, PortSpec, Protocol, ProtocolChoice } from './types.js';

/** A port list that parsed, or the reason it did not. */
export type PortListResult = { readonly ranges: readonly PortRange[] } | { readonly error: string };

const ITEM = /^(\d{1,5})(?:-(\d{1,5}))?$/;

/**
 * Parses "N", "N-M" and comma lists of them into sorted, merged ranges.
 * @example parsePortList('7000-7010,7020') // { ranges: [{from:7000,to:7010},{from:7020,to:7020}] }
 */
export function parsePortList(text: string): PortListResult {
  const items = text.split(',').map((s) => s.trim());
  if (items.length === 0 || items.some((s) => s === '')) return { error: 'empty port in list' };
  const ranges: PortRange[] = [];
  for (const item of items) {
    const m = ITEM.exec(item);
    if (!m) return { error: `"${item}" is not a port or a range N-M` };
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from < 1 || from > 65535 || to < 1 || to > 65535) return { error: `"${item}": ports are 1-65535` };
    if (to < from) return { error: `"${item}": range goes backwards` };
    ranges.push({ from, to });
  }
  return { ranges: mergeRanges(ranges) };
}

/** Sorts and merges overlapping or adjacent ranges. */
export function mergeRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to + 1) out[out.length - 1] = { from: last.from, to: Math.max(last.to, r.to) };
    else out.push(r);
  }
  return out;
}

/** The protocols a choice stands for. */
export function protocolsOf(choice: ProtocolChoice): readonly Protocol[] {
  return choice === 'both' ? ['tcp', 'udp'] : [choice];
}

/** Ranges per protocol, merged, of a list of port specs that are known to be valid. */
export function rangesByProtocol(specs: readonly PortSpec[]): Record<Protocol, PortRange[]> {
  const acc: Record<Protocol, PortRange[]> = { tcp: [], udp: [] };
  for (const spec of specs) {
    const parsed = parsePortList(spec.ports);
    if ('error' in parsed) throw new Error(`unvalidated port list: ${spec.ports}`);
    for (const p of protocolsOf(spec.protocol)) acc[p].push(...parsed.ranges);
  }
  return { tcp: mergeRanges(acc.tcp), udp: mergeRanges(acc.udp) };
}

/** True when some range of a overlaps some range of b. */
export function rangesOverlap(a: readonly PortRange[], b: readonly PortRange[]): boolean {
  return a.some((x) => b.some((y) => x.from <= y.to && y.from <= x.to));
}

/** True when the port lies in one of the ranges. */
export function portInRanges(port: number, ranges: readonly PortRange[]): boolean {
  return ranges.some((r) => port >= r.from && port <= r.to);
}

/** Formats ranges back to the config syntax: "7000-7010,7020". */
export function formatPortList(ranges: readonly PortRange[]): string {
  return ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(',');
}
