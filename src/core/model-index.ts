import type { PortRange } from './types.js';

/** A port interval and the values whose ranges cover all of it, in the order they were given. */
export interface PortSegment<T> {
  readonly from: number;
  readonly to: number;
  readonly values: readonly T[];
}

/** One range to index and the value it leads to. */
export interface PortItem<T> {
  readonly range: PortRange;
  readonly value: T;
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * Builds sorted, disjoint port segments from possibly overlapping ranges (a sweep over their ends), so that a
 * port is found by binary search instead of a scan over every rule.
 */
export function buildPortIndex<T>(items: readonly PortItem<T>[]): PortSegment<T>[] {
  const starts = new Map<number, number[]>();
  const ends = new Map<number, number[]>();
  for (const [i, item] of items.entries()) {
    pushAt(starts, item.range.from, i);
    pushAt(ends, item.range.to + 1, i);
  }
  const bounds = [...new Set([...starts.keys(), ...ends.keys()])].sort((a, b) => a - b);
  const active = new Set<number>();
  const segments: PortSegment<T>[] = [];
  for (const [b, bound] of bounds.entries()) {
    for (const i of ends.get(bound) ?? NONE) active.delete(i);
    for (const i of starts.get(bound) ?? NONE) active.add(i);
    const next = bounds[b + 1];
    if (active.size === 0 || next === undefined) continue;
    // Values keep the order of the items: callers rely on it (config order of rules).
    const values = [...active].sort((x, y) => x - y).map((i) => items[i]!.value);
    segments.push({ from: bound, to: next - 1, values });
  }
  return segments;
}

/** The values whose ranges contain the port (empty when none). */
export function lookupPort<T>(segments: readonly PortSegment<T>[], port: number): readonly T[] {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const segment = segments[mid]!;
    if (port < segment.from) hi = mid - 1;
    else if (port > segment.to) lo = mid + 1;
    else return segment.values;
  }
  return NONE;
}

function pushAt(map: Map<number, number[]>, key: number, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
