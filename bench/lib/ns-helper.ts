/**
 * A helper run inside a network namespace (`ip netns exec NS node ns-helper.js`, forked with an IPC channel).
 * Node cannot enter a namespace, but a socket keeps the namespace it was created in: the helper creates UDP
 * sockets here and hands them to the parent, so that one process holds sockets of several namespaces and can
 * send a trigger from lan1 and an inbound packet from wan1 back to back. It also starts programs here and
 * reports their start and end on the shared monotonic clock. It exits when its parent goes away.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';

/** A request from the parent. */
export type HelperRequest =
  | { readonly id: number; readonly op: 'udp'; readonly port: number }
  | { readonly id: number; readonly op: 'run'; readonly program: string; readonly args: readonly string[] };

/** The answer to one request (a `udp` answer comes with the socket as its handle). */
export type HelperResponse =
  | { readonly id: number; readonly ok: true; readonly port?: number; readonly run?: RunTimes }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** When a program started and ended (process.hrtime.bigint() as decimal strings) and how it ended. */
export interface RunTimes {
  readonly startNs: string;
  readonly endNs: string;
  readonly code: number | null;
  readonly stdout: string;
}

const RUN_TIMEOUT_MS = 30_000;

function reply(message: HelperResponse, handle?: dgram.Socket): void {
  if (handle) process.send?.(message, handle, () => handle.close());
  else process.send?.(message);
}

function openUdp(id: number, port: number): void {
  const socket = dgram.createSocket({ type: 'udp4' });
  socket.once('error', (error) => reply({ id, ok: false, error: error.message }));
  socket.bind({ port, address: '0.0.0.0', exclusive: true }, () => {
    reply({ id, ok: true, port: socket.address().port }, socket);
  });
}

function runProgram(id: number, program: string, args: readonly string[]): void {
  const startNs = process.hrtime.bigint();
  const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (s: string) => {
    stdout = (stdout + s).slice(-2000);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  child.once('error', (error) => {
    clearTimeout(timer);
    reply({ id, ok: false, error: error.message });
  });
  child.once('close', (code) => {
    const endNs = process.hrtime.bigint();
    clearTimeout(timer);
    reply({ id, ok: true, run: { startNs: String(startNs), endNs: String(endNs), code, stdout } });
  });
}

process.on('message', (raw: HelperRequest) => {
  if (raw.op === 'udp') openUdp(raw.id, raw.port);
  else if (raw.op === 'run') runProgram(raw.id, raw.program, raw.args);
});
process.on('disconnect', () => process.exit(0));
process.send?.({ id: 0, ok: true });
