/**
 * Event-stream clients that stop reading, over real loopback sockets: a raw TCP client with a tiny receive
 * buffer sends its request and never reads. The server must drop it once a write waits too long (or too many
 * events wait), close its connection, and answer everyone else meanwhile. The service underneath is the real one
 * on the reference model; only its event source is driven by the test, so that enough bytes flow to fill the
 * socket buffers in a moment.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type ApiServer, serveApi } from '../../src/api/server.js';
import type { LogFields, Logger } from '../../src/domain/logger.js';
import { createPanel } from '../../src/panel/app.js';
import { TokenGate } from '../../src/routes/token-gate.js';
import type { PublishedEvent } from '../../src/service/events.js';
import type { Service } from '../../src/service/service.js';
import { type Fixture, startFixture } from './fixture.js';

const TOKEN = 'stalled-stream-test-token-0123456789';

// Connects with a 2 KiB receive buffer, sends the request, then reads nothing until a line arrives on stdin;
// then reads to the end and says how the connection ended. It gives up by itself after 60 s.
const CLIENT = `
import signal, socket, sys
signal.alarm(60)
host, port, request = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
s.connect((host, port))
s.sendall(request.encode())
print("sent", flush=True)
sys.stdin.readline()
total = 0
try:
    while True:
        data = s.recv(65536)
        if not data:
            break
        total += len(data)
    print("closed", total, flush=True)
except ConnectionResetError:
    print("closed reset", total, flush=True)
`;

class StalledClient {
  readonly proc: ChildProcess;
  output = '';

  constructor(url: string, path: string, headers: Record<string, string>) {
    const { hostname, port } = new URL(url);
    const request = [
      `GET ${path} HTTP/1.1`,
      `Host: ${hostname}:${port}`,
      'Accept: text/event-stream',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      '',
      '',
    ].join('\r\n');
    this.proc = spawn('python3', ['-c', CLIENT, hostname, port, request], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.proc.stdout?.setEncoding('utf8');
    this.proc.stdout?.on('data', (chunk: string) => {
      this.output += chunk;
    });
  }

  /** Starts reading what the server sent, to the end of the connection. */
  read(): void {
    this.proc.stdin?.write('go\n');
  }

  stop(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }
}

/** The fixture's service, with live events the test publishes itself. */
function drivenService(service: Service) {
  const listeners = new Set<(e: PublishedEvent) => void>();
  const driven = new Proxy(service, {
    get(target, key) {
      if (key === 'subscribe') {
        return (listener: (e: PublishedEvent) => void) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        };
      }
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  let id = 0;
  return {
    service: driven,
    listeners,
    /** Publishes `count` events of about 250 bytes each. */
    publish(count: number) {
      for (let i = 0; i < count; i++) {
        id++;
        const event: PublishedEvent = {
          type: 'opened',
          at: 1_900_000_000_000 + id,
          rule: 'game',
          family: 'ipv4',
          host: '192.168.1.10',
          remote: '198.51.100.7',
          expiresAt: 1_900_000_030_000 + id,
          id,
        };
        for (const l of [...listeners]) l(event);
      }
      return id;
    },
  };
}

let fx: Fixture | undefined;
let api: ApiServer | undefined;
let client: StalledClient | undefined;
afterEach(async () => {
  client?.stop();
  await api?.close();
  await fx?.cleanup();
  fx = api = client = undefined;
});

async function start() {
  fx = await startFixture();
  const warnings: { message: string; fields?: LogFields }[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    error: () => undefined,
    warn: (message, fields) => warnings.push({ message, ...(fields ? { fields } : {}) }),
    child: () => logger,
  };
  const driven = drivenService(fx.service);
  const feed = { writeTimeoutMs: 1_000, maxBacklog: 5_000, heartbeatMs: 60_000 };
  const panel = createPanel({
    service: driven.service,
    gate: new TokenGate(TOKEN),
    allowedHosts: { addresses: ['127.0.0.1'], names: [] },
    logger,
    feed,
  });
  api = await serveApi(
    driven.service,
    { listen: '127.0.0.1:0', tokenFile: join(fx.dir, 'token') },
    { token: TOKEN, logger, feed, site: panel },
  );
  return { driven, warnings, url: api.url };
}

/**
 * Publishes events, `perRound` at a time with a turn of the event loop in between (the panel merges the events
 * of one turn into one message), until the stalled client is dropped; bounded in count and time.
 */
async function publishUntilDropped(
  driven: ReturnType<typeof drivenService>,
  warnings: readonly { message: string }[],
  message: string,
  perRound: number,
): Promise<number> {
  const dropped = () => warnings.some((w) => w.message === message);
  const deadline = Date.now() + 25_000;
  let published = 0;
  while (!dropped() && published < 400_000 && Date.now() < deadline) {
    published = driven.publish(perRound);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await vi.waitFor(() => expect(dropped()).toBe(true), { timeout: 5_000 });
  return published;
}

describe('an event-stream client that stops reading', () => {
  it('is dropped by the API, its connection closed, while the API keeps answering', async () => {
    const { driven, warnings, url } = await start();
    client = new StalledClient(url, '/api/v1/events/stream', { Authorization: `Bearer ${TOKEN}` });
    await vi.waitFor(() => expect(driven.listeners.size).toBe(1), { timeout: 10_000 });
    await publishUntilDropped(driven, warnings, 'an event stream client was dropped', 50);
    expect(warnings.find((w) => w.message === 'an event stream client was dropped')).toMatchObject({
      fields: { why: expect.stringMatching(/write waited more than 1000 ms|events were waiting/) },
    });
    expect(driven.listeners.size).toBe(0);
    const health = await fetch(`${url}/api/v1/health`);
    expect(health.status).toBe(200);
    client.read();
    await vi.waitFor(() => expect(client?.output).toMatch(/^closed /m), { timeout: 10_000 });
  });

  it('is dropped by the panel, its connection closed, while the panel keeps answering', async () => {
    const { driven, warnings, url } = await start();
    const signIn = await fetch(`${url}/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN }),
    });
    expect(signIn.status).toBe(303);
    const cookie = /porttrigger_session=[^;]+/.exec(signIn.headers.get('set-cookie') ?? '')?.[0] ?? '';
    client = new StalledClient(url, '/events', { Cookie: cookie });
    await vi.waitFor(() => expect(driven.listeners.size).toBe(1), { timeout: 10_000 });
    await publishUntilDropped(driven, warnings, 'a live panel client was dropped', 1);
    expect(driven.listeners.size).toBe(0);
    expect((await fetch(`${url}/sign-in`)).status).toBe(200);
    client.read();
    await vi.waitFor(() => expect(client?.output).toMatch(/^closed /m), { timeout: 10_000 });
  });
});
