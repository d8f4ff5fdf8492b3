import { canonicalAddress } from '../domain/address.js';
import type { Family, Protocol } from '../domain/types.js';
import { CT_MARK } from './marks.js';

/** One direction of a tracked connection. */
export interface Tuple {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
}

/** A connection of an entry as the connection tracker lists it (`conntrack -L -o id`). */
export interface TrackedConnection {
  readonly id: string;
  readonly family: Family;
  readonly protocol: Protocol;
  /** Seconds until the tracker forgets it; every packet resets it to the timeout of the connection's state. */
  readonly timeoutS: number;
  /** TCP state (ESTABLISHED, TIME_WAIT, ...); undefined for UDP. */
  readonly state?: string;
  readonly assured: boolean;
  readonly unreplied: boolean;
  readonly mark: number;
  readonly original: Tuple;
  readonly reply: Tuple;
}

/**
 * The connection tracker's timeouts by state, in seconds (the `nf_conntrack_*_timeout*` sysctls of the
 * gateway's namespace): a connection's last packet was `timeout of its state - remaining timeout` ago.
 */
export interface ConntrackTimeouts {
  readonly udp: number;
  readonly udpStream: number;
  readonly tcp: Readonly<Record<string, number>>;
}

/** The kernel's defaults, used where the sysctls cannot be read. */
export const DEFAULT_CONNTRACK_TIMEOUTS: ConntrackTimeouts = {
  udp: 30,
  udpStream: 120,
  tcp: {
    SYN_SENT: 120,
    SYN_SENT2: 120,
    SYN_RECV: 60,
    ESTABLISHED: 432_000,
    FIN_WAIT: 120,
    CLOSE_WAIT: 60,
    LAST_ACK: 30,
    TIME_WAIT: 120,
    CLOSE: 10,
  },
};

/** The sysctl names of {@link ConntrackTimeouts}. */
export const CONNTRACK_TIMEOUT_SYSCTLS: readonly (readonly [string, string])[] = [
  ['udp', 'net.netfilter.nf_conntrack_udp_timeout'],
  ['udpStream', 'net.netfilter.nf_conntrack_udp_timeout_stream'],
  ['SYN_SENT', 'net.netfilter.nf_conntrack_tcp_timeout_syn_sent'],
  ['SYN_RECV', 'net.netfilter.nf_conntrack_tcp_timeout_syn_recv'],
  ['ESTABLISHED', 'net.netfilter.nf_conntrack_tcp_timeout_established'],
  ['FIN_WAIT', 'net.netfilter.nf_conntrack_tcp_timeout_fin_wait'],
  ['CLOSE_WAIT', 'net.netfilter.nf_conntrack_tcp_timeout_close_wait'],
  ['LAST_ACK', 'net.netfilter.nf_conntrack_tcp_timeout_last_ack'],
  ['TIME_WAIT', 'net.netfilter.nf_conntrack_tcp_timeout_time_wait'],
  ['CLOSE', 'net.netfilter.nf_conntrack_tcp_timeout_close'],
];

/** Reads `sysctl` output of {@link CONNTRACK_TIMEOUT_SYSCTLS} (`name = value` lines); defaults fill gaps. */
export function parseConntrackTimeouts(text: string): ConntrackTimeouts {
  const byName = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [name, value] = line.split('=').map((x) => x.trim());
    if (name && value && /^\d+$/.test(value)) byName.set(name, Number(value));
  }
  const tcp: Record<string, number> = { ...DEFAULT_CONNTRACK_TIMEOUTS.tcp };
  let udp = DEFAULT_CONNTRACK_TIMEOUTS.udp;
  let udpStream = DEFAULT_CONNTRACK_TIMEOUTS.udpStream;
  for (const [key, name] of CONNTRACK_TIMEOUT_SYSCTLS) {
    const v = byName.get(name);
    if (v === undefined || v <= 0) continue;
    if (key === 'udp') udp = v;
    else if (key === 'udpStream') udpStream = v;
    else tcp[key] = v;
  }
  tcp['SYN_SENT2'] = tcp['SYN_SENT'] ?? 120;
  return { udp, udpStream, tcp };
}

const FAMILIES: Record<string, Family> = { ipv4: 'ipv4', ipv6: 'ipv6' };
const PROTOCOLS: Record<string, Protocol> = { tcp: 'tcp', udp: 'udp' };

function tuple(pairs: readonly (readonly [string, string])[], from: number): Tuple | undefined {
  const get = (key: string) => pairs.slice(from).find(([k]) => k === key)?.[1];
  const src = canonicalAddress(get('src') ?? '');
  const dst = canonicalAddress(get('dst') ?? '');
  const sport = Number(get('sport'));
  const dport = Number(get('dport'));
  if (!src || !dst || !Number.isInteger(sport) || !Number.isInteger(dport)) return undefined;
  return { src, dst, sport, dport };
}

/** One line of `conntrack -L -o id` text output, or undefined for anything else (headers, other protocols). */
export function parseConntrackLine(line: string): TrackedConnection | undefined {
  const words = line.trim().split(/\s+/);
  const family = FAMILIES[words[0] ?? ''];
  const protocol = PROTOCOLS[words[2] ?? ''];
  const timeoutS = Number(words[4]);
  if (!family || !protocol || !Number.isFinite(timeoutS)) return undefined;
  const state = words[5] !== undefined && /^[A-Z_0-9]+$/.test(words[5]) ? words[5] : undefined;
  const pairs = words
    .filter((w) => w.includes('='))
    .map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)] as const);
  // The reply tuple starts at the second `src=`.
  const replyAt = pairs.findIndex(([k], i) => k === 'src' && i > 0);
  const original = tuple(pairs.slice(0, replyAt < 0 ? pairs.length : replyAt), 0);
  const reply = replyAt < 0 ? undefined : tuple(pairs, replyAt);
  if (!original || !reply) return undefined;
  const mark = Number(pairs.find(([k]) => k === 'mark')?.[1] ?? 0);
  return {
    id: pairs.find(([k]) => k === 'id')?.[1] ?? `${words.slice(0, 12).join(' ')}`,
    family,
    protocol,
    timeoutS,
    ...(protocol === 'tcp' && state ? { state } : {}),
    assured: words.includes('[ASSURED]'),
    unreplied: words.includes('[UNREPLIED]'),
    mark: Number.isFinite(mark) ? mark : 0,
    original,
    reply,
  };
}

/** Every connection of `conntrack -L` text output that carries our mark bit. */
export function parseConntrackListing(text: string): TrackedConnection[] {
  const out: TrackedConnection[] = [];
  for (const line of text.split('\n')) {
    const c = parseConntrackLine(line);
    if (c && (c.mark & CT_MARK.ours) !== 0) out.push(c);
  }
  return out;
}

/**
 * Seconds since the connection's last packet, either direction: the tracker resets a connection's timeout to
 * its state's timeout on every packet, so the age is what has run off. Exact to the second the tracker prints.
 */
export function lastPacketAgeS(c: TrackedConnection, timeouts: ConntrackTimeouts): number {
  const full =
    c.protocol === 'udp'
      ? c.assured
        ? timeouts.udpStream
        : timeouts.udp
      : (timeouts.tcp[c.state ?? ''] ?? timeouts.tcp['ESTABLISHED'] ?? 0);
  return Math.max(0, full - c.timeoutS);
}

/** How a connection of ours relates to entries: who holds, who is the remote, on which port. */
export interface ConnectionRole {
  readonly kind: 'trigger' | 'inbound';
  readonly holder: string;
  readonly remote: string;
  /** The trigger port (trigger) or the open port (inbound). */
  readonly port: number;
}

/** The holder, remote and port of a marked connection, from its tuples. */
export function connectionRole(c: TrackedConnection): ConnectionRole {
  if ((c.mark & CT_MARK.inbound) === 0) {
    return { kind: 'trigger', holder: c.original.src, remote: c.original.dst, port: c.original.dport };
  }
  // IPv4: DNAT made the holder the source of the replies; IPv6: the holder is the destination itself.
  const holder = c.family === 'ipv4' ? c.reply.src : c.original.dst;
  return { kind: 'inbound', holder, remote: c.original.src, port: c.original.dport };
}

/** What happened to a connection, as `conntrack -E` reports it. */
export type ConntrackEventType = 'new' | 'update' | 'destroy';

/** One event of `conntrack -E -o timestamp,id,extended`. */
export interface ConntrackEvent {
  readonly type: ConntrackEventType;
  /** When the tracker reported it, in milliseconds since the epoch (microseconds in the text). */
  readonly at: number;
  readonly connection: TrackedConnection;
}

const EVENT_TYPES: Record<string, ConntrackEventType> = { NEW: 'new', UPDATE: 'update', DESTROY: 'destroy' };

/** One line of `conntrack -E -o timestamp,id,extended`, or undefined for anything else (other protocols). */
export function parseConntrackEvent(line: string): ConntrackEvent | undefined {
  const head = /^\s*\[(\d+(?:\.\d+)?)\]\s*\[(NEW|UPDATE|DESTROY)\]\s+/.exec(line);
  if (!head?.[1] || !head[2]) return undefined;
  // A destroyed connection may come without the remaining timeout: it counts as 0.
  const rest = line.slice(head[0].length).replace(/^(\S+\s+\d+\s+\S+\s+\d+)\s+(?=src=)/, '$1 0 ');
  const connection = parseConntrackLine(rest);
  const type = EVENT_TYPES[head[2]];
  if (!connection || !type) return undefined;
  return { type, at: Math.round(Number(head[1]) * 1_000), connection };
}
