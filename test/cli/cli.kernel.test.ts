import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { silentLogger } from '../../src/adapters/logger.js';
import { findFreePort, labConfigText } from '../../src/lab/lab.js';
import { createVirtualNetwork, LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { type ServiceHost, startServiceHost } from '../../src/main/service-host.js';
import { describeKernel } from '../harness/kernel-gate.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = `${ROOT}dist/cli/main.js`;
const { hosts } = LAB_ADDRESSES;
const PC1 = hosts.lan1.ipv4;

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function porttrigger(args: readonly string[]): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** PC 1 (or 2) connects to Server 1 on the IRC port: a trigger of the lab's "IRC DCC" rule. */
async function trigger(net: VirtualNetwork, pc: 'lan1' | 'lan2'): Promise<void> {
  const r = await net.host(pc).connectTcp({ to: hosts.wan1.ipv4, port: 6667, timeoutMs: 2_000 });
  if (r.ok) await net.host(pc).closeTcp(r.conn);
}

async function writeLabConfig(
  dir: string,
  listen: string,
): Promise<{ configPath: string; tokenFile: string }> {
  const tokenFile = join(dir, 'api-token');
  const configPath = join(dir, 'config.yaml');
  await writeFile(
    configPath,
    labConfigText({ idleTimeout: 30, listen, tokenFile, database: join(dir, 'events.db') }),
  );
  return { configPath, tokenFile };
}

describeKernel('porttrigger CLI against a running service', () => {
  let net: VirtualNetwork;
  let dir: string;
  let host: ServiceHost;
  let api: string[];

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npm run build)`);
    net = await createVirtualNetwork({ prefix: 'ptcli', run: runProgram });
    dir = await mkdtemp(join(tmpdir(), 'porttrigger-cli-kernel-'));
    const { configPath, tokenFile } = await writeLabConfig(dir, '127.0.0.1:0');
    host = await startServiceHost({
      configPath,
      netns: net.namespaces.router,
      logger: silentLogger,
      announceToken: () => undefined,
    });
    api = ['--api', host.url!, '--token-file', tokenFile];
    await net.host('wan1').listen('tcp', 6667);
  });

  afterAll(async () => {
    await host?.stop();
    await net?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows an empty table, then the entry a trigger opened', async () => {
    const empty = await porttrigger(['status', '--json', ...api]);
    expect(empty.code).toBe(0);
    expect(JSON.parse(empty.stdout)).toMatchObject({ entries: [] });

    await trigger(net, 'lan1');
    const r = await porttrigger(['status', ...api]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Active entries \(1\):\nRULE\tFAMILY\tHOLDER\tREMOTE\tOPENED\tEXPIRES IN\nIRC DCC\tipv4\t192\.168\.1\.10\tany\t\d+s ago\t(2\d|30)s\n/,
    );
  });

  it('checks a port: open for the holder, closed elsewhere', async () => {
    await trigger(net, 'lan1');
    const open = await porttrigger(['check', '4000/tcp', '--json', ...api]);
    expect(open.code).toBe(0);
    expect(JSON.parse(open.stdout)).toMatchObject({
      port: 4000,
      protocol: 'tcp',
      open: true,
      matches: [{ rule: 'IRC DCC', enabled: true, entries: [{ holder: PC1 }] }],
    });
    const text = await porttrigger(['check', '4000', ...api]);
    expect(text.stdout).toContain(
      `✔ tcp 4000 is open now:\n    rule "IRC DCC" forwards it to ${PC1} (ipv4, from anywhere)`,
    );
    expect(text.stdout).toContain('✘ udp 4000 is closed: no rule opens it.');
    const sip = await porttrigger(['check', '10015/udp', ...api]);
    expect(sip.stdout).toBe(
      '✘ udp 10015 is closed now:\n    rule "SIP voice" opens it, but no LAN host has triggered it\n',
    );
  });

  it('releases an entry, after which the port is closed', async () => {
    await trigger(net, 'lan1');
    const r = await porttrigger(['release', 'IRC DCC', PC1, ...api]);
    expect(r).toMatchObject({ code: 0, stdout: `Released 1 entry of rule "IRC DCC" held by ${PC1}.\n` });
    const again = await porttrigger(['release', 'IRC DCC', '--json', ...api]);
    expect(JSON.parse(again.stdout)).toEqual({ rule: 'IRC DCC', released: 0 });
    const status = await porttrigger(['status', '--json', ...api]);
    expect(JSON.parse(status.stdout).entries).toEqual([]);
    const missing = await porttrigger(['release', 'No such rule', ...api]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('no rule named "No such rule"');
  });

  it('adds, lists, disables, enables and removes a rule', async () => {
    const add = await porttrigger([
      'rules',
      'add',
      '--name',
      'Test game',
      '--trigger',
      'tcp:7777',
      '--open',
      'udp:30000-30010',
      '--timeout',
      '30',
      ...api,
    ]);
    expect(add.stderr).toBe('');
    expect(add).toMatchObject({
      code: 0,
      stdout:
        '✔ added rule "Test game": trigger tcp 7777 → open udp 30000-30010, idle 30s, remote any\n' +
        'Nothing is using "Test game" right now: an application that was already connected must reconnect (for example rejoin its server) before the rule takes effect.\n',
    });
    const list = await porttrigger(['rules', 'list', '--json', ...api]);
    expect(JSON.parse(list.stdout).map((r: { name: string }) => r.name)).toEqual([
      'IRC DCC',
      'AIM Talk',
      'SIP voice',
      'Test game',
    ]);
    const text = await porttrigger(['rules', 'list', ...api]);
    expect(text.stdout).toContain('Test game\tyes\ttcp 7777\tudp 30000-30010\t30s\tany\tany\n');

    const duplicate = await porttrigger([
      'rules',
      'add',
      '--name',
      'test GAME',
      '--trigger',
      'tcp:7778',
      '--open',
      'udp:31000',
      ...api,
    ]);
    expect(duplicate.code).toBe(3);
    const overlap = await porttrigger([
      'rules',
      'add',
      '--name',
      'Other',
      '--trigger',
      'tcp:7779',
      '--open',
      'udp:30005',
      ...api,
    ]);
    expect(overlap.code).toBe(3);
    expect(overlap.stderr).toContain('overlap');

    expect((await porttrigger(['rules', 'disable', 'Test game', ...api])).stdout).toBe(
      '✔ disabled rule "Test game"\n',
    );
    const disabled = JSON.parse((await porttrigger(['rules', 'list', '--json', ...api])).stdout);
    expect(disabled.find((r: { name: string }) => r.name === 'Test game').enabled).toBe(false);
    expect((await porttrigger(['rules', 'enable', 'Test game', ...api])).code).toBe(0);
    expect((await porttrigger(['rules', 'remove', 'Test game', ...api])).stdout).toBe(
      '✔ removed rule "Test game"\n',
    );
    const after = JSON.parse((await porttrigger(['rules', 'list', '--json', ...api])).stdout);
    expect(after.map((r: { name: string }) => r.name)).toEqual(['IRC DCC', 'AIM Talk', 'SIP voice']);
    expect((await porttrigger(['rules', 'remove', 'Test game', ...api])).code).toBe(3);
  });

  it('adds a rule from a preset', async () => {
    const r = await porttrigger([
      'rules',
      'add',
      '--preset',
      'battle-net',
      '--timeout',
      '60',
      '--json',
      ...api,
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      name: 'Battle.net',
      idleTimeout: 60,
      open: [{ protocol: 'udp', ports: '6112' }],
    });
    expect((await porttrigger(['rules', 'remove', 'Battle.net', ...api])).code).toBe(0);
  });

  it('shows the event history of a rule', async () => {
    await trigger(net, 'lan1');
    await porttrigger(['status', ...api]);
    await porttrigger(['release', 'IRC DCC', ...api]);
    const r = await porttrigger(['events', '--rule', 'IRC DCC', '--since', '10m', '--json', ...api]);
    expect(r.code).toBe(0);
    const events = JSON.parse(r.stdout) as { type: string; host?: string; reason?: string; at: number }[];
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.some((e) => e.type === 'opened' && e.host === PC1)).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'closed', host: PC1, reason: 'released' });
    const times = events.map((e) => e.at);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    const text = await porttrigger(['events', '--type', 'closed', '--since', '10m', ...api]);
    expect(text.stdout).toContain(`closed\tIRC DCC\tipv4\t${PC1} no longer holds it: released`);
  });

  it('follows live events until interrupted', async () => {
    const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [
      MAIN,
      'events',
      '--follow',
      '--json',
      '--since',
      '1s',
      '--type',
      'opened',
      ...api,
    ]);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    // The stream subscribes at some moment after the spawn: a trigger after that moment shows up, so trigger
    // (after a release, so that it opens again) until one does.
    await expect
      .poll(
        async () => {
          if (stdout.includes('"opened"')) return true;
          await porttrigger(['release', 'IRC DCC', ...api]);
          await trigger(net, 'lan2');
          return stdout.includes('"opened"');
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; host: string });
    expect(lines).toContainEqual(expect.objectContaining({ type: 'opened', host: hosts.lan2.ipv4 }));
    expect(lines.every((e) => e.type === 'opened')).toBe(true);
  });

  it('exits 4 for a wrong token or an unreachable service', async () => {
    const wrong = join(dir, 'wrong-token');
    await writeFile(wrong, 'not-the-token\n');
    const denied = await porttrigger(['status', '--api', host.url!, '--token-file', wrong]);
    expect(denied.code).toBe(4);
    expect(denied.stderr).toContain('the service refused the API token (401');
    const port = await findFreePort(0);
    const down = await porttrigger(['status', '--api', `http://127.0.0.1:${port}`, '--token-file', wrong]);
    expect(down.code).toBe(4);
    expect(down.stderr).toContain(
      `cannot reach the porttrigger service at http://127.0.0.1:${port}: ECONNREFUSED`,
    );
  });
});

describeKernel('porttrigger run', () => {
  let net: VirtualNetwork;
  let dir: string;

  beforeAll(async () => {
    net = await createVirtualNetwork({ prefix: 'ptrun', run: runProgram });
    dir = await mkdtemp(join(tmpdir(), 'porttrigger-run-'));
  });

  afterAll(async () => {
    await net?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function ourTable(): Promise<string | null> {
    try {
      return (
        await runProgram('nft', ['list', 'table', 'inet', 'porttrigger'], { netns: net.namespaces.router })
      ).stdout;
    } catch {
      return null;
    }
  }

  it('runs the service in the foreground, reloads on SIGHUP and removes its table on SIGTERM', async () => {
    const port = await findFreePort(0);
    const { configPath, tokenFile } = await writeLabConfig(dir, `127.0.0.1:${port}`);
    const child = spawn(process.execPath, [
      MAIN,
      'run',
      '--config',
      configPath,
      '--netns',
      net.namespaces.router,
      '--log-level',
      'info',
    ]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    const waitFor = (text: string) =>
      expect.poll(() => stderr, { timeout: 15_000, message: `waiting for "${text}"` }).toContain(text);
    try {
      await waitFor('API listening');
      expect(stderr).toContain('created a new API token');
      expect(await ourTable()).toContain('chain dstnat');
      const status = await porttrigger([
        'status',
        '--json',
        '--api',
        `http://127.0.0.1:${port}`,
        '--token-file',
        tokenFile,
      ]);
      expect(status.code).toBe(0);

      // A new rule in the file, then SIGHUP: the service applies it.
      const text = labConfigText({
        idleTimeout: 30,
        listen: `127.0.0.1:${port}`,
        tokenFile,
        database: join(dir, 'events.db'),
      });
      await writeFile(
        configPath,
        text.replace(
          'rules:\n',
          'rules:\n  - name: Reloaded\n    trigger: [{ protocol: tcp, ports: "7777" }]\n    open: [{ protocol: udp, ports: "30000" }]\n',
        ),
      );
      child.kill('SIGHUP');
      await waitFor('config reloaded');
      const rules = await porttrigger([
        'rules',
        'list',
        '--json',
        '--api',
        `http://127.0.0.1:${port}`,
        '--token-file',
        tokenFile,
      ]);
      expect(JSON.parse(rules.stdout).map((r: { name: string }) => r.name)).toContain('Reloaded');

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await ourTable()).toBeNull();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('exits 3 with every issue when the config is invalid, applying nothing', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      `interfaces: { lan: [br-lan], wan: [wan0] }\nrules:\n  - name: x\n    trigger: [{ protocol: tcp, ports: "0" }]\n    open: [{ protocol: udp, ports: "7000" }]\n`,
    );
    const r = await porttrigger(['run', '--config', bad, '--netns', net.namespaces.router]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('is invalid: nothing was applied');
    expect(r.stderr).toContain('rules[0].trigger[0].ports');
    expect(await ourTable()).toBeNull();
  });
});
