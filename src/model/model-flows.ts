import type { Protocol } from '../domain/types.js';

/** Bits of the presence filter of one generation: 2^23 bits (1 MiB), a few percent false hits when full. */
const FILTER_BITS = 23;

/** One generation: the connections, and a bit per hash saying "maybe here" so that most misses cost no lookup. */
interface Generation<V> {
  readonly flows: Map<string, V>;
  readonly filter: Uint8Array;
}

/**
 * A connection table of the model's connection tracker, bounded like the kernel's under pressure: when the
 * current generation is full it becomes the previous one and the one before is forgotten, so the oldest
 * connections go first at O(1) cost (deleting single oldest keys from a JS Map degrades with its holes).
 */
export class BoundedFlowTable<V> {
  private current: Generation<V> = newGeneration();
  private previous: Generation<V> = newGeneration();

  /** A table that holds at least `limit / 2` and at most `limit` connections. */
  constructor(private readonly limit: number) {}

  /** The connection of a 5-tuple (addresses as numeric ids) in either generation. */
  get(src: number, sport: number, dst: number, dport: number, protocol: Protocol): V | undefined {
    const hash = flowHash(src, sport, dst, dport, protocol);
    const inCurrent = hasBit(this.current.filter, hash);
    const inPrevious = hasBit(this.previous.filter, hash);
    if (!inCurrent && !inPrevious) return undefined;
    const key = flowKey(src, sport, dst, dport, protocol);
    return (
      (inCurrent ? this.current.flows.get(key) : undefined) ??
      (inPrevious ? this.previous.flows.get(key) : undefined)
    );
  }

  /** Sets a connection in the current generation, rolling the generations when it is full. */
  set(src: number, sport: number, dst: number, dport: number, protocol: Protocol, value: V): void {
    if (this.current.flows.size >= this.limit / 2) {
      this.previous = this.current;
      this.current = newGeneration();
    }
    const hash = flowHash(src, sport, dst, dport, protocol);
    this.current.filter[hash >>> 3]! |= 1 << (hash & 7);
    this.current.flows.set(flowKey(src, sport, dst, dport, protocol), value);
  }

  /** Forgets every connection. */
  clear(): void {
    this.current = newGeneration();
    this.previous = newGeneration();
  }
}

function newGeneration<V>(): Generation<V> {
  return { flows: new Map(), filter: new Uint8Array(2 ** (FILTER_BITS - 3)) };
}

function hasBit(filter: Uint8Array, hash: number): boolean {
  return ((filter[hash >>> 3] ?? 0) & (1 << (hash & 7))) !== 0;
}

/**
 * A FILTER_BITS-bit hash of a 5-tuple, from the low 32 bits of each id (ids above 2^32 only collide more).
 * Multiply-xorshift rounds in 32-bit integer arithmetic: no strings, no allocation.
 */
function flowHash(src: number, sport: number, dst: number, dport: number, protocol: Protocol): number {
  let h = Math.imul(src | 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ (sport | (protocol === 'udp' ? 0x10000 : 0)), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ (dst | 0), 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ dport, 0x27d4eb2f);
  h ^= h >>> 15;
  return h >>> (32 - FILTER_BITS);
}

/**
 * A 9-code-unit key of a 5-tuple: each address id (-1, or 0 to 2^48) as three 16-bit units, each port as one.
 * Short flat strings hash much faster than readable keys built by concatenation, and beat nested numeric maps.
 */
function flowKey(src: number, sport: number, dst: number, dport: number, protocol: Protocol): string {
  return String.fromCharCode(
    high(src),
    (src >>> 16) & 0xffff,
    src & 0xffff,
    sport,
    high(dst),
    (dst >>> 16) & 0xffff,
    dst & 0xffff,
    dport,
    protocol === 'udp' ? 1 : 0,
  );
}

/** The unit above the low 32 bits of an id; -1 gets a value no other id has there. */
function high(id: number): number {
  return id < 0 ? 0xffff : Math.floor(id / 4_294_967_296);
}
