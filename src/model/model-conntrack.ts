import type { Family, Protocol } from '../domain/types.js';

/**
 * The address a masqueraded connection's replies come back to: any address of the gateway. Replies of a
 * LAN-initiated IPv4 connection in standalone mode are looked up with it in place of the gateway address.
 */
export const MASQUERADED = 'gateway';

/** The entry a connection belongs to: its key in the model's entry map, and its rule's `onExpire: close`. */
export interface EntryLink {
  readonly key: string;
  readonly close: boolean;
}

/**
 * One connection as the connection tracker follows it: who started it, its first packet's destination port,
 * its last packet, and the entries it belongs to (docs/semantics.md, "connections of an entry").
 */
export interface Connection {
  /** `outbound`: started by a LAN host; `inbound`: a WAN connection an entry admitted. */
  readonly kind: 'outbound' | 'inbound';
  readonly family: Family;
  readonly protocol: Protocol;
  /** The LAN host: the source of an outbound connection, the holder an inbound one was admitted to. */
  readonly host: string;
  /** The WAN host. */
  readonly remote: string;
  /** The destination port of the first packet: a trigger port (outbound) or an open port (inbound). */
  readonly port: number;
  /** When the last packet passed, either direction. */
  lastPacketAt: number;
  links: EntryLink[];
  /** A TCP connection closed by its ends: it carries no more traffic, so it never takes an entry. */
  ended: boolean;
  /** An outbound connection of a released holder: it never takes an entry again (docs/semantics.md, 11). */
  released: boolean;
}

/** Which way a packet goes on its connection. */
export type Direction = 'original' | 'reply';

/** A 5-tuple as the gateway sees a packet, addresses canonical. */
export interface FlowTuple {
  readonly protocol: Protocol;
  readonly src: string;
  readonly sport: number;
  readonly dst: string;
  readonly dport: number;
}

/**
 * Beyond this many connections the oldest are forgotten first, as the kernel's tracker does when full
 * (nf_conntrack_max); it bounds memory when a benchmark opens millions of connections.
 */
export const CONNECTION_LIMIT = 262_144;

function keyOf(t: FlowTuple): string {
  return `${t.protocol} ${t.src} ${t.sport} ${t.dst} ${t.dport}`;
}

/** The model's connection tracker: connections found by either direction's tuple. */
export class ConnectionTracker {
  /** A tracker that holds at most `limit` connections. */
  constructor(private readonly limit = CONNECTION_LIMIT) {}

  readonly #byTuple = new Map<string, { connection: Connection; direction: Direction }>();
  /** Every connection with its two keys, oldest first. */
  readonly #connections = new Map<Connection, readonly [string, string]>();

  /** The connection a packet with this tuple belongs to, and which way it goes. */
  find(tuple: FlowTuple): { connection: Connection; direction: Direction } | undefined {
    return this.#byTuple.get(keyOf(tuple));
  }

  /** Tracks a new connection by its first packet's tuple and the tuple its replies arrive with. */
  track(connection: Connection, original: FlowTuple, reply: FlowTuple): void {
    if (this.#connections.size >= this.limit) this.#forgetOldest();
    const keys = [keyOf(original), keyOf(reply)] as const;
    this.#byTuple.set(keys[0], { connection, direction: 'original' });
    this.#byTuple.set(keys[1], { connection, direction: 'reply' });
    this.#connections.set(connection, keys);
  }

  /** Every tracked connection, oldest first. */
  all(): IterableIterator<Connection> {
    return this.#connections.keys();
  }

  /** Forgets every connection. */
  clear(): void {
    this.#byTuple.clear();
    this.#connections.clear();
  }

  #forgetOldest(): void {
    const oldest = this.#connections.entries().next();
    if (oldest.done) return;
    const [connection, keys] = oldest.value;
    for (const key of keys) {
      if (this.#byTuple.get(key)?.connection === connection) this.#byTuple.delete(key);
    }
    this.#connections.delete(connection);
  }
}
