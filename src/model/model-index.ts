import type { PortRange } from '../domain/types.js';

/** One range to index and the value it leads to. */
export interface PortItem<T> {
  readonly range: PortRange;
  readonly value: T;
}

/**
 * A lookup from a port to the values whose ranges contain it: a table of 65,536 group numbers (one memory
 * access per lookup, however many rules there are) and the groups, each listing its values in the order given.
 */
export interface PortIndex<T> {
  /** Per port: the index of its group in `groups`, or -1. */
  readonly slots: Int32Array;
  readonly groups: readonly (readonly T[])[];
}

const PORTS = 65_536;
const NONE: readonly never[] = [] as never[];

/** An index that finds nothing. */
export function emptyPortIndex<T>(): PortIndex<T> {
  return { slots: new Int32Array(PORTS).fill(-1), groups: [] };
}

/**
 * Builds the index of possibly overlapping ranges: a sweep over their ends cuts the ports into disjoint
 * pieces, and each piece with values becomes a group (values keep the order of the items: config order).
 */
export function buildPortIndex<T>(items: readonly PortItem<T>[]): PortIndex<T> {
  const index = emptyPortIndex<T>();
  const groups: (readonly T[])[] = [];
  const starts = new Map<number, number[]>();
  const ends = new Map<number, number[]>();
  for (const [i, item] of items.entries()) {
    pushAt(starts, item.range.from, i);
    pushAt(ends, item.range.to + 1, i);
  }
  const bounds = [...new Set([...starts.keys(), ...ends.keys()])].sort((a, b) => a - b);
  const active = new Set<number>();
  for (const [b, bound] of bounds.entries()) {
    for (const i of ends.get(bound) ?? NONE) active.delete(i);
    for (const i of starts.get(bound) ?? NONE) active.add(i);
    const next = bounds[b + 1];
    if (active.size === 0 || next === undefined) continue;
    groups.push([...active].sort((x, y) => x - y).map((i) => items[i]!.value));
    index.slots.fill(groups.length - 1, bound, next);
  }
  return { slots: index.slots, groups };
}

/** The values whose ranges contain the port (empty when none). */
export function lookupPort<T>(index: PortIndex<T>, port: number): readonly T[] {
  const group = index.slots[port] ?? -1;
  return group < 0 ? NONE : index.groups[group]!;
}

function pushAt(map: Map<number, number[]>, key: number, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
