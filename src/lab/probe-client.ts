import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PorttriggerError } from '../domain/errors.js';
import type { ProbeMessage, ProbeProtocol, ProbeRequest, ProbeResults } from './probe-agent.js';

export type { ProbeMessage, ProbeProtocol } from './probe-agent.js';

/** Where and how to send one UDP datagram. */
export interface SendUdpOptions {
  readonly to: string;
  readonly port: number;
  /** Send from this local port (the agent's listening socket on it, if any, is reused). */
  readonly sport?: number;
  readonly token: string;
}

/** Where and how to open one TCP connection. */
export interface ConnectTcpOptions {
  readonly to: string;
  readonly port: number;
  readonly sport?: number;
  /** Give up after this long (default 3000 ms); a silently dropped SYN ends as `timeout`. */
  readonly timeoutMs?: number;
}

/** The outcome of a TCP connect: the connection, or why there is none (`timeout`, `refused`, `unreachable`…). */
export type TcpConnectResult =
  | { readonly ok: true; readonly conn: string; readonly sport: number }
  | { readonly ok: false; readonly error: string };

/** Controls one probe agent: a traffic endpoint inside one network namespace. */
export interface Probe {
  readonly netns: string;
  /** Listens on `::` (IPv4 and IPv6); every message is recorded and answered with `ack <payload>`. */
  listen(proto: ProbeProtocol, port: number): Promise<void>;
  /** Stops listening; accepted TCP connections stay open. */
  unlisten(proto: ProbeProtocol, port: number): Promise<void>;
  /** Sends one datagram and resolves with the source port it left from. */
  sendUdp(options: SendUdpOptions): Promise<{ sport: number }>;
  /** Opens a TCP connection that stays open; failures are results, not rejections. */
  connectTcp(options: ConnectTcpOptions): Promise<TcpConnectResult>;
  /** Writes `token\n` on an open connection (one the agent opened or accepted). */
  writeTcp(conn: string, token: string): Promise<void>;
  /** Closes an open connection. */
  closeTcp(conn: string): Promise<void>;
  /** Every recorded message whose payload is `token` or `ack <token>`. */
  received(token: string): Promise<ProbeMessage[]>;
  /** The first message matching `token` (as {@link Probe.received}), waiting up to `timeoutMs`; null if none came. */
  waitFor(token: string, timeoutMs?: number): Promise<ProbeMessage | null>;
  /** Forgets every recorded message. */
  clear(): Promise<void>;
  /** Stops the agent; pending calls reject. */
  stop(): Promise<void>;
}

type ProbeOp = ProbeRequest['op'];
type RequestOf<Op extends ProbeOp> = Omit<Extract<ProbeRequest, { op: Op }>, 'op'>;

interface PendingCall {
  readonly resolve: (response: Record<string, unknown>) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

// On top of an operation's own timeout: how long an answer may take before the agent counts as hung.
const RESPONSE_GRACE_MS = 15_000;
const STOP_GRACE_MS = 2_000;
const STDERR_TAIL = 4_096;

let staleWarningShown = false;

/**
 * Finds the compiled agent: next to this file when running from dist/, else `<repo>/dist/lab/` when running
 * the TypeScript sources (vitest).
 */
export function locateProbeAgent(): string {
  const sibling = fileURLToPath(new URL('./probe-agent.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  const compiled = fileURLToPath(new URL('../../dist/lab/probe-agent.js', import.meta.url));
  if (!existsSync(compiled)) {
    throw new PorttriggerError(
      'PROBE_FAILED',
      `probe agent not built: ${compiled} is missing (run \`npm run build\`)`,
    );
  }
  const source = fileURLToPath(new URL('./probe-agent.ts', import.meta.url));
  if (!staleWarningShown && existsSync(source) && statSync(source).mtimeMs > statSync(compiled).mtimeMs) {
    staleWarningShown = true;
    process.emitWarning(`${compiled} is older than ${source}; rebuild with \`npm run build\``);
  }
  return compiled;
}

/** Starts a probe agent in `netns` and resolves once it answers. */
export async function startProbe(netns: string): Promise<ProbeClient> {
  const probe = new ProbeClient(netns);
  await probe.start();
  return probe;
}

/** A {@link Probe} whose agent starts on first use (or on {@link ProbeClient.start}). */
export class ProbeClient implements Probe {
  #child: ChildProcessWithoutNullStreams | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #exit: Promise<void> | undefined;
  #failure: PorttriggerError | undefined;
  #nextId = 1;
  #stderr = '';
  readonly #pending = new Map<number, PendingCall>();

  constructor(readonly netns: string) {}

  /** The agent's process id, once spawned. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Spawns the agent (once) and waits until it answers. */
  start(): Promise<void> {
    this.#starting ??= this.#spawn();
    return this.#starting;
  }

  async listen(proto: ProbeProtocol, port: number): Promise<void> {
    await this.#call('listen', { proto, port });
  }

  async unlisten(proto: ProbeProtocol, port: number): Promise<void> {
    await this.#call('unlisten', { proto, port });
  }

  async sendUdp(options: SendUdpOptions): Promise<{ sport: number }> {
    const { sport } = await this.#call('sendUdp', options);
    return { sport };
  }

  async connectTcp(options: ConnectTcpOptions): Promise<TcpConnectResult> {
    const response = await this.#send('connectTcp', options, options.timeoutMs);
    if (response.ok === true) {
      const { conn, sport } = response as unknown as ProbeResults['connectTcp'];
      return { ok: true, conn, sport };
    }
    return { ok: false, error: String(response.error) };
  }

  async writeTcp(conn: string, token: string): Promise<void> {
    await this.#call('writeTcp', { conn, token });
  }

  async closeTcp(conn: string): Promise<void> {
    await this.#call('closeTcp', { conn });
  }

  async received(token: string): Promise<ProbeMessage[]> {
    return (await this.#call('received', { token })).messages;
  }

  async waitFor(token: string, timeoutMs?: number): Promise<ProbeMessage | null> {
    const request = timeoutMs === undefined ? { token } : { token, timeoutMs };
    return (await this.#call('waitFor', request, timeoutMs)).message;
  }

  async clear(): Promise<void> {
    await this.#call('clear', {});
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #spawn(): Promise<void> {
    if (this.#stopping) throw this.#stoppedError();
    const child = spawn('ip', ['netns', 'exec', this.netns, process.execPath, locateProbeAgent()], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#exit = new Promise((resolve) => child.once('close', () => resolve()));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-STDERR_TAIL);
    });
    // Writes after the agent died would otherwise throw EPIPE asynchronously; the exit handler reports it.
    child.stdin.on('error', () => undefined);
    child.once('error', (error) => this.#fail(`could not start (${error.message})`));
    child.once('close', (code, signal) => this.#fail(`exited with ${signal ?? `code ${code}`}`));
    readline.createInterface({ input: child.stdout }).on('line', (line) => this.#receive(line));
    await this.#send('ping', {}).then((response) => {
      if (response.ok !== true)
        throw new PorttriggerError('PROBE_FAILED', `probe agent in ${this.netns} did not start`);
    });
  }

  #receive(line: string): void {
    let response: Record<string, unknown>;
    try {
      response = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const call = typeof response.id === 'number' ? this.#pending.get(response.id) : undefined;
    if (!call) return;
    this.#pending.delete(response.id as number);
    clearTimeout(call.timer);
    call.resolve(response);
  }

  #fail(reason: string): void {
    if (this.#failure) return;
    const stderr = this.#stderr.trim();
    const message = this.#stopping
      ? `probe agent in ${this.netns} was stopped`
      : `probe agent in ${this.netns} ${reason}${stderr ? `: ${stderr}` : ''}`;
    this.#failure = new PorttriggerError('PROBE_FAILED', message);
    for (const call of this.#pending.values()) {
      clearTimeout(call.timer);
      call.reject(this.#failure);
    }
    this.#pending.clear();
  }

  #stoppedError(): PorttriggerError {
    return new PorttriggerError('PROBE_FAILED', `probe agent in ${this.netns} was stopped`);
  }

  /** Sends a request and resolves with its raw response, `ok: false` included. */
  async #send<Op extends ProbeOp>(
    op: Op,
    request: RequestOf<Op>,
    opTimeoutMs = 0,
  ): Promise<Record<string, unknown>> {
    if (op !== 'ping') await this.start();
    const child = this.#child;
    if (this.#failure) throw this.#failure;
    if (this.#stopping || !child) throw this.#stoppedError();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new PorttriggerError('PROBE_FAILED', `probe agent in ${this.netns} did not answer ${op}`));
      }, opTimeoutMs + RESPONSE_GRACE_MS);
      this.#pending.set(id, { resolve, reject, timer });
      child.stdin.write(`${JSON.stringify({ ...request, op, id })}\n`);
    });
  }

  /** Sends a request and resolves with its result; an `ok: false` answer rejects. */
  async #call<Op extends ProbeOp>(
    op: Op,
    request: RequestOf<Op>,
    opTimeoutMs?: number,
  ): Promise<ProbeResults[Op]> {
    const response = await this.#send(op, request, opTimeoutMs);
    if (response.ok !== true) {
      throw new PorttriggerError(
        'PROBE_FAILED',
        `probe ${op} in ${this.netns} failed: ${String(response.error)}`,
      );
    }
    return response as unknown as ProbeResults[Op];
  }

  async #shutdown(): Promise<void> {
    const child = this.#child;
    if (!child || !this.#exit) return;
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.#exit;
    clearTimeout(timer);
  }
}
