/**
 * The service end to end: the compiled entry point as a child process driving nftables in the router namespace
 * of a virtual network, real packets from the LAN and WAN hosts, the API over HTTP.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { portRule } from '../factories.js';
import { createGateway, type Gateway } from '../harness/gateway.js';
import { describeKernel } from '../harness/kernel-gate.js';

const MAIN = fileURLToPath(new URL('../../dist/main/daemon.js', import.meta.url));
const A = LAB_ADDRESSES;
const LAN1 = A.hosts.lan1.ipv4;
const WAN1 = A.hosts.wan1.ipv4;
const GATEWAY = A.router.wan.ipv4;

interface LogLine {
  readonly msg?: string;
  readonly [key: string]: unknown;
}

/** One run of the compiled service. */
class Daemon {
  readonly logs: LogLine[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  url = '';

  constructor(readonly proc: ChildProcess) {
    let tail = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      const lines = (tail + chunk).split('\n');
      tail = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ msg: line });
        }
      }
    });
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  }

  waitForLog(msg: string | RegExp, timeoutMs = 10_000): Promise<LogLine> {
    return vi.waitFor(
      () => {
        const hit = this.logs.find((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg ?? '')));
        if (hit) return hit;
        const state = this.proc.exitCode !== null ? ` (exited with ${this.proc.exitCode})` : '';
        throw new Error(
          `no log "${msg}"${state}; logs:\n${this.logs.map((l) => JSON.stringify(l)).join('\n')}`,
        );
      },
      { timeout: timeoutMs, interval: 20 },
    );
  }
}

describeKernel('the porttrigger service in a virtual network', () => {
  let net: VirtualNetwork | undefined;
  let gw: Gateway;
  let dir: string;
  let configPath: string;
  let daemon: Daemon | undefined;
  let token = '';
  const stream = { events: [] as Record<string, unknown>[], abort: new AbortController() };
  let tokens = 0;
  const nextToken = () => `svc${process.pid}-${++tokens}`;

  async function start(): Promise<Daemon> {
    const proc = spawn(process.execPath, [MAIN, '--config', configPath, '--netns', net!.namespaces.router], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const d = new Daemon(proc);
    daemon = d;
    d.url = String((await d.waitForLog('API listening')).url);
    token = readFileSync(join(dir, 'token'), 'utf8').trim();
    return d;
  }

  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by matchers, not by types
  async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
    const res = await fetch(`${daemon!.url}/api/v1${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  }

  /** Reads the live stream of the current daemon in the background into `stream.events`. */
  async function follow(): Promise<void> {
    stream.abort.abort();
    stream.abort = new AbortController();
    const res = await fetch(`${daemon!.url}/api/v1/events/stream`, {
      headers: { Authorization: `Bearer ${token}` },
      signal: stream.abort.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    (async () => {
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        const blocks = buffer.split('\n\n');
        buffer = blocks.pop() ?? '';
        for (const block of blocks) {
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (data) stream.events.push(JSON.parse(data) as Record<string, unknown>);
        }
      }
    })().catch(() => undefined);
  }

  function until<T>(
    what: string,
    probe: () => Promise<T | undefined> | T | undefined,
    timeoutMs = 5_000,
  ): Promise<T> {
    return vi.waitFor(
      async () => {
        const value = await probe();
        if (value === undefined) throw new Error(`timed out waiting for ${what}`);
        return value;
      },
      { timeout: timeoutMs, interval: 50 },
    );
  }

  async function tableExists(): Promise<boolean> {
    return net!
      .exec('router', 'nft', ['list', 'table', 'inet', 'porttrigger'])
      .then(() => true)
      .catch(() => false);
  }

  /** Sends one datagram from wan1 to the gateway's WAN address; true when lan1 received it. */
  async function inboundReachesLan1(port: number): Promise<boolean> {
    const t = nextToken();
    await net!.host('wan1').sendUdp({ to: GATEWAY, port, token: t });
    return (await net!.host('lan1').waitFor(t, 1_000)) !== null;
  }

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
    // The child runs compiled code: a stale build would test yesterday's service.
    const built = statSync(MAIN).mtimeMs;
    for (const folder of readdirSync(fileURLToPath(new URL('../../src/', import.meta.url)))) {
      const root = fileURLToPath(new URL(`../../src/${folder}/`, import.meta.url));
      for (const file of readdirSync(root)) {
        if (
          file.endsWith('.ts') &&
          !file.endsWith('.test.ts') &&
          statSync(join(root, file)).mtimeMs > built
        ) {
          throw new Error(`${MAIN} is older than src/${folder}/${file}: run \`npm run build\``);
        }
      }
    }
    gw = await createGateway({
      prefix: 'pts',
      rules: [
        portRule('game', 'udp 5000', 'udp 7000', { idleTimeout: 5 }),
        portRule('call', 'tcp 6000', 'udp 7100', { idleTimeout: 60 }),
      ],
      listen: [
        ['lan1', 'udp', 7000],
        ['lan1', 'udp', 7100],
      ],
    });
    ({ net, dir, configPath } = gw);
  });

  afterAll(async () => {
    stream.abort.abort();
    if (daemon && daemon.proc.exitCode === null && daemon.proc.signalCode === null) {
      daemon.proc.kill('SIGKILL');
      await daemon.exited;
    }
    await gw?.cleanup();
  });

  it('starts, applies the config and answers health and rules', async () => {
    await start();
    expect(await tableExists()).toBe(true);
    const health = await fetch(`${daemon!.url}/api/v1/health`).then((r) => r.json());
    expect(health).toMatchObject({ status: 'ok', datapath: { status: 'ok' }, eventStore: { status: 'ok' } });
    expect((await api('/rules')).body.rules.map((r: { name: string }) => r.name)).toEqual(['game', 'call']);
    await follow();
  });

  it('a real UDP trigger opens the rule: opened through the stream and the history, inbound reaches the holder', async () => {
    await net!.host('lan1').sendUdp({ to: WAN1, port: 5000, token: nextToken() });
    const opened = await until('the opened event on the stream', () =>
      stream.events.find((e) => e.type === 'opened' && e.rule === 'game'),
    );
    expect(opened).toMatchObject({ family: 'ipv4', host: LAN1 });
    expect(typeof opened.id).toBe('number');
    const history = await api('/events?type=opened&rule=game');
    expect(history.body.events).toMatchObject([{ id: opened.id, host: LAN1 }]);
    expect(await inboundReachesLan1(7000)).toBe(true);
    const table = await api('/table');
    expect(table.body.entries).toMatchObject([{ rule: 'game', holder: LAN1, openedAt: opened.at }]);
  });

  it('the entry closes as expired after its idle timeout', async () => {
    const closed = await until(
      'the closed event',
      () => stream.events.find((e) => e.type === 'closed' && e.rule === 'game'),
      8_000,
    );
    expect(closed).toMatchObject({ reason: 'expired', host: LAN1 });
    expect(await inboundReachesLan1(7000)).toBe(false);
  });

  it('survives kill -9: the restarted service adopts the entry, which still forwards', async () => {
    const conn = await net!.host('lan1').connectTcp({ to: WAN1, port: 6000, timeoutMs: 300 });
    if (conn.ok) await net!.host('lan1').closeTcp(conn.conn);
    await until('the call entry', async () =>
      (await api('/table')).body.entries.find((e: { rule: string }) => e.rule === 'call'),
    );
    daemon!.proc.kill('SIGKILL');
    expect(await daemon!.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(await tableExists()).toBe(true);
    expect(await inboundReachesLan1(7100)).toBe(true);

    await start();
    const table = await api('/table');
    expect(table.body.entries).toMatchObject([{ rule: 'call', holder: LAN1 }]);
    expect(typeof table.body.entries[0].openedAt).toBe('number');
    const opened = (await api('/events?type=opened&rule=call')).body.events;
    expect(opened.map((e: { adopted?: boolean }) => e.adopted === true)).toEqual([true, false]);
    expect(await inboundReachesLan1(7100)).toBe(true);
    // An open event stream must not hold up the stop at the end.
    await follow();
  });

  it('restores the table within 2 s after another tool deletes it, and the entry still forwards', async () => {
    await net!.exec('router', 'nft', ['delete', 'table', 'inet', 'porttrigger']);
    const deleted = Date.now();
    expect(await inboundReachesLan1(7100)).toBe(false);
    await until('the table to come back', async () => ((await tableExists()) ? true : undefined), 4_000);
    const elapsed = Date.now() - deleted;
    expect(elapsed).toBeLessThan(2_500);
    expect(await inboundReachesLan1(7100)).toBe(true);
    expect((await api('/table')).body.entries).toMatchObject([{ rule: 'call', holder: LAN1 }]);
    expect((await api('/metrics')).body).toMatch(/^porttrigger_restores_total 1$/m);
    await daemon!.waitForLog(/restoring it/);
  });

  it('SIGHUP with a broken config keeps the running config: rules unchanged, the entry still forwards', async () => {
    const good = readFileSync(configPath, 'utf8');
    writeFileSync(
      configPath,
      good.replace('idleTimeout: 60', 'idleTimeout: soon').replace('"7100"', '"71000"'),
    );
    daemon!.proc.kill('SIGHUP');
    await daemon!.waitForLog(/^reload refused/);
    const rules = (await api('/rules')).body.rules;
    expect(rules.map((r: { name: string; idleTimeout: number }) => [r.name, r.idleTimeout])).toEqual([
      ['game', 5],
      ['call', 60],
    ]);
    expect(await inboundReachesLan1(7100)).toBe(true);
    expect(await fetch(`${daemon!.url}/api/v1/health`).then((r) => r.json())).toMatchObject({ status: 'ok' });
    writeFileSync(configPath, good);
  });

  it('SIGTERM removes the table, records the entry as stopped and exits 0', async () => {
    daemon!.proc.kill('SIGTERM');
    expect(await daemon!.exited).toEqual({ code: 0, signal: null });
    expect(await tableExists()).toBe(false);
    expect(await inboundReachesLan1(7100)).toBe(false);
    const db = new Database(join(dir, 'events.db'), { readonly: true });
    try {
      const last = db
        .prepare("SELECT data FROM events WHERE type = 'closed' ORDER BY id DESC LIMIT 1")
        .get() as {
        data: string;
      };
      expect(JSON.parse(last.data)).toMatchObject({ rule: 'call', reason: 'stopped', host: LAN1 });
    } finally {
      db.close();
    }
  });
});
