/**
 * A tiny traffic agent, run inside a network namespace (`ip netns exec NS node probe-agent.js`) because Node
 * cannot enter one. It reads JSON-line requests `{ id, op, ... }` on stdin and answers each with exactly one line
 * `{ id, ok: true, ... }` or `{ id, ok: false, error }` on stdout. It exits when stdin closes.
 * Dependency-free on purpose: it is started from dist/ by tests and by `porttrigger lab`.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import readline from 'node:readline';

/** A transport protocol the agent speaks. */
export type ProbeProtocol = 'tcp' | 'udp';

/** One message this agent received: a UDP datagram or a TCP line. */
export interface ProbeMessage {
  /** The payload text (a TCP line without its newline). */
  readonly token: string;
  /** The sender's address, IPv4-mapped IPv6 addresses written as plain IPv4. */
  readonly from: string;
  readonly fromPort: number;
  readonly proto: ProbeProtocol;
  /** The local port it arrived on. */
  readonly port: number;
  /** `Date.now()` when it arrived. */
  readonly at: number;
  /** The TCP connection it arrived on. */
  readonly conn?: string;
}

/** A request to the agent, by operation. */
export type ProbeRequest =
  | { readonly op: 'ping' }
  | { readonly op: 'listen'; readonly proto: ProbeProtocol; readonly port: number }
  | { readonly op: 'unlisten'; readonly proto: ProbeProtocol; readonly port: number }
  | {
      readonly op: 'sendUdp';
      readonly to: string;
      readonly port: number;
      readonly sport?: number;
      readonly token: string;
    }
  | {
      readonly op: 'connectTcp';
      readonly to: string;
      readonly port: number;
      readonly sport?: number;
      readonly timeoutMs?: number;
    }
  | { readonly op: 'writeTcp'; readonly conn: string; readonly token: string }
  | { readonly op: 'closeTcp'; readonly conn: string }
  | { readonly op: 'received'; readonly token: string }
  | { readonly op: 'waitFor'; readonly token: string; readonly timeoutMs?: number }
  | { readonly op: 'clear' };

/** The results of each operation, without the `id` and `ok` envelope. */
export interface ProbeResults {
  ping: { pid: number };
  listen: Record<string, never>;
  unlisten: Record<string, never>;
  sendUdp: { sport: number };
  connectTcp: { conn: string; sport: number };
  writeTcp: Record<string, never>;
  closeTcp: Record<string, never>;
  received: { messages: ProbeMessage[] };
  waitFor: { message: ProbeMessage | null };
  clear: Record<string, never>;
}

/** One response line. */
export type ProbeResponse =
  | ({ readonly id: number; readonly ok: true } & Record<string, unknown>)
  | { readonly id: number; readonly ok: false; readonly error: string };

const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
const DEFAULT_WAIT_TIMEOUT_MS = 3_000;
// Ephemeral send sockets stay open this long to catch the `ack` reply, then close.
const EPHEMERAL_SOCKET_MS = 60_000;

interface UdpEntry {
  readonly socket: dgram.Socket;
  listening: boolean;
}

interface Waiter {
  readonly token: string;
  readonly resolve: (message: ProbeMessage) => void;
}

const messages: ProbeMessage[] = [];
const waiters = new Set<Waiter>();
const udpSockets = new Map<number, UdpEntry>();
const tcpServers = new Map<number, net.Server>();
const connections = new Map<string, net.Socket>();
let connectionCounter = 0;

/** Writes `::ffff:a.b.c.d` as `a.b.c.d`. */
function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function matchesToken(message: ProbeMessage, token: string): boolean {
  return message.token === token || message.token === `ack ${token}`;
}

function recordMessage(message: ProbeMessage): void {
  messages.push(message);
  for (const waiter of waiters) {
    if (matchesToken(message, waiter.token)) {
      waiters.delete(waiter);
      waiter.resolve(message);
    }
  }
}

/** Opens (or reuses) the dual-stack UDP socket of a local port; port 0 picks an ephemeral one. */
function openUdpSocket(port: number): Promise<UdpEntry> {
  const existing = port === 0 ? undefined : udpSockets.get(port);
  if (existing) return Promise.resolve(existing);
  const socket = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  const entry: UdpEntry = { socket, listening: false };
  socket.on('message', (payload, remote) => {
    const token = payload.toString('utf8');
    const localPort = socket.address().port;
    recordMessage({
      token,
      from: normalizeAddress(remote.address),
      fromPort: remote.port,
      proto: 'udp',
      port: localPort,
      at: Date.now(),
    });
    // Never answer an ack: two listening agents would bounce acks forever.
    if (entry.listening && !token.startsWith('ack ')) {
      socket.send(`ack ${token}`, remote.port, remote.address, () => undefined);
    }
  });
  socket.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port, address: '::' }, () => {
      socket.off('error', reject);
      udpSockets.set(socket.address().port, entry);
      resolve(entry);
    });
  });
}

/** IPv4 destinations go through the dual-stack socket as IPv4-mapped addresses. */
function socketAddress(address: string): string {
  return net.isIPv4(address) ? `::ffff:${address}` : address;
}

function serveTcpConnection(socket: net.Socket, conn: string, replyAcks: boolean): void {
  connections.set(conn, socket);
  const from = normalizeAddress(socket.remoteAddress);
  const fromPort = socket.remotePort ?? 0;
  const port = socket.localPort ?? 0;
  let buffered = '';
  const recordLine = (token: string) => {
    recordMessage({ token, from, fromPort, proto: 'tcp', port, at: Date.now(), conn });
    if (replyAcks && !token.startsWith('ack ') && socket.writable) socket.write(`ack ${token}\n`);
  };
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      recordLine(buffered.slice(0, newline).replace(/\r$/, ''));
      buffered = buffered.slice(newline + 1);
    }
  });
  socket.on('end', () => {
    if (buffered) recordLine(buffered);
    buffered = '';
    socket.end();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => connections.delete(conn));
}

async function listen(proto: ProbeProtocol, port: number): Promise<Record<string, never>> {
  if (proto === 'udp') {
    const entry = await openUdpSocket(port);
    entry.listening = true;
    return {};
  }
  if (tcpServers.has(port)) return {};
  const server = net.createServer((socket) => serveTcpConnection(socket, `s${++connectionCounter}`, true));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '::', ipv6Only: false }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  tcpServers.set(port, server);
  return {};
}

async function unlisten(proto: ProbeProtocol, port: number): Promise<Record<string, never>> {
  if (proto === 'udp') {
    const entry = udpSockets.get(port);
    udpSockets.delete(port);
    entry?.socket.close();
    return {};
  }
  const server = tcpServers.get(port);
  tcpServers.delete(port);
  // Accepted connections stay open, like a daemon that stops listening; only new connections are refused.
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  return {};
}

async function sendUdp(to: string, port: number, sport: number | undefined, token: string) {
  const entry = await openUdpSocket(sport ?? 0);
  if (sport === undefined) {
    const ephemeralPort = entry.socket.address().port;
    setTimeout(() => {
      if (entry.listening || udpSockets.get(ephemeralPort) !== entry) return;
      udpSockets.delete(ephemeralPort);
      entry.socket.close();
    }, EPHEMERAL_SOCKET_MS).unref();
  }
  await new Promise<void>((resolve, reject) => {
    entry.socket.send(token, port, socketAddress(to), (error) => (error ? reject(error) : resolve()));
  });
  return { sport: entry.socket.address().port };
}

function describeConnectError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    case 'ECONNRESET':
      return 'reset';
    default:
      return error.code ?? error.message;
  }
}

function connectTcp(to: string, port: number, sport: number | undefined, timeoutMs: number) {
  return new Promise<{ conn: string; sport: number }>((resolve, reject) => {
    const socket = net.connect(
      sport === undefined ? { host: to, port } : { host: to, port, localPort: sport },
    );
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('timeout'));
    }, timeoutMs);
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(describeConnectError(error)));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      const conn = `c${++connectionCounter}`;
      serveTcpConnection(socket, conn, false);
      resolve({ conn, sport: socket.localPort ?? 0 });
    });
  });
}

function findConnection(conn: string): net.Socket {
  const socket = connections.get(conn);
  if (!socket) throw new Error(`no open connection ${conn}`);
  return socket;
}

async function writeTcp(conn: string, token: string): Promise<Record<string, never>> {
  const socket = findConnection(conn);
  await new Promise<void>((resolve, reject) => {
    socket.write(`${token}\n`, (error) => (error ? reject(error) : resolve()));
  });
  return {};
}

function closeTcp(conn: string): Record<string, never> {
  const socket = connections.get(conn);
  connections.delete(conn);
  socket?.end();
  return {};
}

function waitFor(token: string, timeoutMs: number): Promise<{ message: ProbeMessage | null }> {
  const found = messages.find((message) => matchesToken(message, token));
  if (found) return Promise.resolve({ message: found });
  return new Promise((resolve) => {
    const waiter: Waiter = {
      token,
      resolve: (message) => {
        clearTimeout(timer);
        resolve({ message });
      },
    };
    const timer = setTimeout(() => {
      waiters.delete(waiter);
      resolve({ message: null });
    }, timeoutMs);
    waiters.add(waiter);
  });
}

function requirePort(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65_535) {
    throw new Error(`${name} must be a port number`);
  }
  return value;
}

function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new Error(`${name} must be a string`);
  return value;
}

function requireProtocol(value: unknown): ProbeProtocol {
  if (value !== 'tcp' && value !== 'udp') throw new Error(`proto must be 'tcp' or 'udp'`);
  return value;
}

function optionalPort(value: unknown, name: string): number | undefined {
  return value === undefined ? undefined : requirePort(value, name);
}

function optionalTimeout(value: unknown, fallback: number): number {
  return typeof value === 'number' && value >= 0 ? value : fallback;
}

/** Runs one request and resolves with its result fields. */
async function handleRequest(request: Record<string, unknown>): Promise<object> {
  switch (request.op) {
    case 'ping':
      return { pid: process.pid };
    case 'listen':
      return listen(requireProtocol(request.proto), requirePort(request.port, 'port'));
    case 'unlisten':
      return unlisten(requireProtocol(request.proto), requirePort(request.port, 'port'));
    case 'sendUdp':
      return sendUdp(
        requireString(request.to, 'to'),
        requirePort(request.port, 'port'),
        optionalPort(request.sport, 'sport'),
        requireString(request.token, 'token'),
      );
    case 'connectTcp':
      return connectTcp(
        requireString(request.to, 'to'),
        requirePort(request.port, 'port'),
        optionalPort(request.sport, 'sport'),
        optionalTimeout(request.timeoutMs, DEFAULT_CONNECT_TIMEOUT_MS),
      );
    case 'writeTcp':
      return writeTcp(requireString(request.conn, 'conn'), requireString(request.token, 'token'));
    case 'closeTcp':
      return closeTcp(requireString(request.conn, 'conn'));
    case 'received': {
      const token = requireString(request.token, 'token');
      return { messages: messages.filter((message) => matchesToken(message, token)) };
    }
    case 'waitFor':
      return waitFor(
        requireString(request.token, 'token'),
        optionalTimeout(request.timeoutMs, DEFAULT_WAIT_TIMEOUT_MS),
      );
    case 'clear':
      messages.length = 0;
      return {};
    default:
      throw new Error(`unknown op ${JSON.stringify(request.op)}`);
  }
}

function writeResponse(response: ProbeResponse): void {
  process.stdout.write(`${JSON.stringify(response)}\n`);
}

async function answerLine(line: string): Promise<void> {
  if (!line.trim()) return;
  let request: Record<string, unknown>;
  try {
    request = JSON.parse(line) as Record<string, unknown>;
  } catch {
    writeResponse({ id: -1, ok: false, error: 'request is not JSON' });
    return;
  }
  const id = typeof request.id === 'number' ? request.id : -1;
  try {
    writeResponse({ ...(await handleRequest(request)), id, ok: true });
  } catch (error) {
    writeResponse({ id, ok: false, error: error instanceof Error ? error.message : String(error) });
  }
}

const input = readline.createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
input.on('line', (line) => {
  void answerLine(line);
});
input.on('close', () => process.exit(0));
