import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { stringify } from 'yaml';
import { runProgram } from '../../src/adapters/exec.js';
import { SERVICE_NODE_OPTIONS } from '../../src/main/node-options.js';
import type { BenchContext } from './context.js';
import { REPO_ROOT } from './lab.js';

/** The compiled service entry point. */
export const SERVICE_MAIN = `${REPO_ROOT}dist/main/daemon.js`;

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A running `node <SERVICE_NODE_OPTIONS> dist/main/daemon.js` for a namespace, with its API on loopback. */
export interface BenchService {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly baseUrl: string;
  readonly token: string;
  /**
   * Milliseconds from the spawn to the service's `config applied` log line (its first apply done); only for a
   * service started with `timeStartUp`.
   */
  appliedAfterMs(): number | undefined;
  /** The last lines the service wrote to stderr (warnings and errors). */
  stderr(): string;
  /**
   * The fields of every `<what>: time spent` record the service logged so far (a change's phases, at debug
   * level: started with `logLevel: 'debug'`), with `what`.
   */
  timeSpent(): readonly { readonly what: string; readonly fields: Readonly<Record<string, unknown>> }[];
  /** An authenticated API call; throws on a status other than 2xx. */
  get(path: string): Promise<unknown>;
  /** The service's Prometheus metrics, by name (labelled series left out). */
  metrics(): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

/**
 * Starts the service for `netns` with a raw config (as the YAML file would hold it) and waits until its API
 * answers and its table is in place.
 */
export async function startBenchService(
  ctx: BenchContext,
  netns: string,
  raw: Record<string, unknown>,
  name: string,
  options: {
    readonly timeStartUp?: boolean;
    /** Write the config as block YAML, as an operator's file is (default JSON, which YAML reads too). */
    readonly yaml?: boolean;
    /** `debug`: the service logs where each change's time goes (see `timeSpent`). */
    readonly logLevel?: 'debug';
  } = {},
): Promise<BenchService> {
  const port = await freePort();
  const dir = ctx.scratch;
  const configFile = join(dir, `${name}-config.yaml`);
  const tokenFile = join(dir, `${name}-token`);
  const document = {
    ...raw,
    api: { listen: `127.0.0.1:${port}`, tokenFile },
    events: { database: join(dir, `${name}-events.db`), retentionDays: 30, maxEvents: 100_000 },
  };
  writeFileSync(configFile, options.yaml ? stringify(document) : `${JSON.stringify(document, null, 1)}\n`);
  let stderr = '';
  let appliedAfterMs: number | undefined;
  const spawnedAt = process.hrtime.bigint();
  // The info line of the first apply marks the end of start-up; other runs log warnings only, to stay quiet.
  // The service runs with the V8 options it ships with (the systemd unit's).
  const child = spawn(
    process.execPath,
    [
      ...SERVICE_NODE_OPTIONS,
      SERVICE_MAIN,
      '--config',
      configFile,
      '--netns',
      netns,
      '--log-level',
      options.logLevel ?? (options.timeStartUp ? 'info' : 'warn'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const spent: { what: string; fields: Record<string, unknown> }[] = [];
  let partial = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    // The service logs JSON lines to a pipe; a chunk may end inside a line.
    const lines = (partial + s).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes(': time spent')) continue;
      try {
        const { msg, time: _time, level: _level, ...fields } = JSON.parse(line) as Record<string, unknown>;
        if (typeof msg === 'string' && msg.endsWith(': time spent'))
          spent.push({ what: msg.slice(0, -': time spent'.length), fields });
      } catch {
        // not a record of ours
      }
    }
    if (appliedAfterMs === undefined && s.includes('config applied')) {
      appliedAfterMs = Number(process.hrtime.bigint() - spawnedAt) / 1e6;
    }
    // Keep what a warning or an error said; the info lines of a running service are not needed.
    const kept = s
      .split('\n')
      .filter((line) => !/"level":"(info|debug)"|^\S+ (INFO|DEBUG) /i.test(line))
      .join('\n');
    stderr = (stderr + kept).slice(-4000);
  });
  const stop = ctx.track(child, `porttrigger service ${name}`);
  const baseUrl = `http://127.0.0.1:${port}/api/v1`;
  const deadline = Date.now() + 300_000;
  let token = '';
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the service exited: ${stderr.trim().split('\n').slice(-2).join(' / ')}`);
    try {
      token ||= readFileSync(tokenFile, 'utf8').trim();
      const health = await fetch(`${baseUrl}/health`, { headers: { authorization: `Bearer ${token}` } });
      const table = await runProgram('nft', ['list', 'table', 'inet', 'porttrigger'], { netns }).then(
        () => true,
        () => false,
      );
      if (health.ok && table) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('the service did not start within 300 s');
    await delay(200);
  }
  return {
    process: child,
    pid: child.pid!,
    baseUrl,
    token,
    appliedAfterMs: () => appliedAfterMs,
    stderr: () => stderr,
    timeSpent: () => spent,
    async get(path) {
      const reply = await fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      if (!reply.ok) throw new Error(`GET ${path}: ${reply.status} ${await reply.text()}`);
      return reply.json();
    },
    async metrics() {
      const reply = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      if (!reply.ok) throw new Error(`GET /metrics: ${reply.status}`);
      const values = new Map<string, number>();
      for (const m of (await reply.text()).matchAll(/^([a-z_]+) (\S+)$/gm)) values.set(m[1]!, Number(m[2]));
      return values;
    },
    stop,
  };
}

/** Clock ticks (USER_HZ) of a process: utime + stime + cutime + cstime (its reaped children included). */
function ticksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return f[11]! + f[12]! + f[13]! + f[14]!;
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** The process and every live descendant (the `conntrack -E` or `nft monitor` it keeps running, say). */
export function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const parent = parentOf(Number(name));
    if (parent !== undefined) parents.set(Number(name), parent);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, parent] of parents) if (parent === tree[i]) tree.push(pid);
  }
  return tree;
}

/**
 * CPU ticks of a process tree: every live process's own and reaped children's ticks. A child that ends between
 * two readings moves its ticks into its parent's; counting the tree at both ends keeps them counted once.
 */
export function treeTicks(root: number): { ticks: number; processes: number } {
  const tree = processTree(root);
  let ticks = 0;
  for (const pid of tree) ticks += ticksOf(pid) ?? 0;
  return { ticks, processes: tree.length };
}

/** One server-sent event as the API sends it. */
export interface StreamedEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
  /** When this process received it, on `Date.now()`'s clock. */
  readonly receivedAt: number;
}

/** Reads the service's event stream until `close`, handing each event over as it arrives. */
export function streamEvents(
  service: BenchService,
  onEvent: (event: StreamedEvent) => void,
): { ready: Promise<void>; close: () => void } {
  const abort = new AbortController();
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  void (async () => {
    try {
      const reply = await fetch(`${service.baseUrl}/events/stream`, {
        headers: { authorization: `Bearer ${service.token}` },
        signal: abort.signal,
      });
      if (!reply.ok || !reply.body) throw new Error(`event stream: ${reply.status}`);
      markReady();
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of reply.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (type && data) onEvent({ type, data: JSON.parse(data), receivedAt: Date.now() });
        }
      }
    } catch {
      markReady();
    }
  })();
  return { ready, close: () => abort.abort() };
}
