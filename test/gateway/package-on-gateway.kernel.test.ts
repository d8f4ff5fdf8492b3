/**
 * The Debian package on a booted Debian 13 gateway, as README "Install on your gateway" tells a user: install
 * with apt-get, enable with systemctl, then what systemd and dpkg do to the service over its life (reload,
 * crash, upgrade, reboot, purge), each proven with real packets between the LAN and WAN hosts.
 * The steps run in order on one gateway: each starts from the state the previous one left.
 */

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { labConfigText } from '../../src/lab/lab.js';
import { createVirtualNetwork, LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { describeKernel } from '../harness/kernel-gate.js';
import { type BootedGateway, bootGateway, gatewayRootfs } from './booted-gateway.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const { hosts, router } = LAB_ADDRESSES;
const CONFIG = '/etc/porttrigger/config.yaml';
const TOKEN_FILE = '/var/lib/porttrigger/api-token';
/** The lab's "IRC DCC" rule: a LAN host connecting to TCP 6667 opens TCP 4000-4009 to it. */
const TRIGGER_PORT = 6667;
const OPEN_PORT = 4000;
/** What the package installs or the service makes; after a purge none of it may remain. */
const PACKAGE_PATHS = [
  '/usr/lib/porttrigger',
  '/usr/bin/porttrigger',
  '/etc/porttrigger',
  '/var/lib/porttrigger',
  '/lib/systemd/system/porttrigger.service',
  '/usr/share/doc/porttrigger',
  '/usr/share/man/man8/porttrigger.8.gz',
  '/etc/systemd/system/multi-user.target.wants/porttrigger.service',
  '/var/lib/systemd/deb-systemd-helper-enabled/porttrigger.service.dsh-also',
  '/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/porttrigger.service',
  '/var/lib/systemd/deb-systemd-helper-masked/porttrigger.service',
];
/** The unit's sandbox must score at most this in `systemd-analyze security` (0 safest, 10 unsafe). */
const SECURITY_GOAL = 2.0;

interface StatusEntry {
  readonly rule: string;
  readonly holder: string;
  readonly family: string;
}

describeKernel('the Debian package on a booted Debian 13 gateway', () => {
  let net: VirtualNetwork;
  let gateway: BootedGateway;
  let work: string;
  let firstDeb: string;
  let newerDeb: string;
  let newerVersion: string;
  let tokenCounter = 0;

  beforeAll(async () => {
    const [rootfs, built] = await Promise.all([gatewayRootfs(), buildPackages()]);
    expect(rootfs.length).toBe(1);
    ({ firstDeb, newerDeb, newerVersion } = built);
    net = await createVirtualNetwork({ prefix: 'ptgwp', run: runProgram });
    gateway = await bootGateway({ routerNamespace: net.namespaces.router });
    await gateway.copyIn(firstDeb, '/var/tmp/porttrigger.deb');
    await gateway.copyIn(newerDeb, '/var/tmp/porttrigger-newer.deb');
    await net.host('wan1').listen('tcp', TRIGGER_PORT);
    await net.host('lan1').listen('tcp', OPEN_PORT);
  }, 20 * 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await net?.destroy();
    if (work) rmSync(work, { recursive: true, force: true });
  }, 120_000);

  /** The package of this checkout, and the same code as a newer version, to upgrade to. */
  async function buildPackages() {
    // Asynchronous: building takes a minute, and a blocked test worker loses its runner's messages.
    const built = await run('bash', [join(ROOT, 'scripts/package-deb.sh')], { maxBuffer: 16 * 1024 * 1024 });
    const deb = built.stdout.trim().split('\n').pop()!;
    work = mkdtempSync(join(tmpdir(), 'porttrigger-gateway-debs-'));
    const version = (await run('dpkg-deb', ['-f', join(ROOT, deb), 'Version'])).stdout.trim();
    const newer = `${version}+1`;
    // Repacked with a higher version: what dpkg and the maintainer scripts do on upgrade depends on the
    // versions, not on what changed inside.
    const tree = join(work, 'tree');
    await run('dpkg-deb', ['-R', join(ROOT, deb), tree]);
    await run('sed', ['-i', `s/^Version: .*/Version: ${newer}/`, join(tree, 'DEBIAN/control')]);
    await run('sed', [
      '-i',
      `s/"version": "${version}"/"version": "${newer}"/`,
      join(tree, 'usr/lib/porttrigger/package.json'),
    ]);
    const newerDeb = join(work, `porttrigger_${newer}.deb`);
    await run('dpkg-deb', ['--root-owner-group', '-b', tree, newerDeb]);
    return { firstDeb: join(ROOT, deb), newerDeb, newerVersion: newer };
  }

  async function status(): Promise<StatusEntry[]> {
    const result = await gateway.exec(['porttrigger', 'status', '--json']);
    if (result.exitCode !== 0) return [];
    return (JSON.parse(result.stdout) as { entries: StatusEntry[] }).entries;
  }

  async function mainPid(): Promise<number> {
    return Number((await gateway.systemctl('show', '--property=MainPID', '--value', 'porttrigger')).stdout);
  }

  async function active(): Promise<string> {
    return (await gateway.systemctl('is-active', 'porttrigger')).stdout.trim();
  }

  /** lan1 connects out to the trigger port of wan1, as a client of the application does. */
  async function trigger(): Promise<void> {
    const r = await net
      .host('lan1')
      .connectTcp({ to: hosts.wan1.ipv4, port: TRIGGER_PORT, timeoutMs: 3_000 });
    if (!r.ok) throw new Error(`lan1 could not reach wan1:${TRIGGER_PORT}: ${r.error}`);
    await net.host('lan1').closeTcp(r.conn);
  }

  /** wan1 opens a new connection to the gateway's WAN address on the open port: does it reach lan1? */
  async function reachesLan(): Promise<boolean> {
    const token = `inbound-${tokenCounter++}`;
    const r = await net.host('wan1').connectTcp({ to: router.wan.ipv4, port: OPEN_PORT, timeoutMs: 2_000 });
    if (!r.ok) return false;
    await net.host('wan1').writeTcp(r.conn, token);
    const got = await net.host('lan1').waitFor(token, 3_000);
    await net.host('wan1').closeTcp(r.conn);
    return got !== null && got.from === hosts.wan1.ipv4;
  }

  it('installs with apt-get, stopped and disabled, with a conffile without rules, its man page and copyright', async () => {
    const install = await gateway.exec(
      ['apt-get', 'install', '-y', '--no-install-recommends', '/var/tmp/porttrigger.deb'],
      {
        timeoutMs: 180_000,
      },
    );
    expect(install.exitCode, install.stderr).toBe(0);
    expect(await active()).toBe('inactive');
    expect((await gateway.systemctl('is-enabled', 'porttrigger')).stdout.trim()).toBe('disabled');
    expect((await gateway.check(['porttrigger', 'validate', CONFIG])).stdout).toContain('0 rules');
    await gateway.check(['test', '-s', '/usr/share/man/man8/porttrigger.8.gz']);
    const copyright = (await gateway.check(['cat', '/usr/share/doc/porttrigger/copyright'])).stdout;
    expect(copyright).toMatch(
      /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\//,
    );
    expect(copyright).toContain('Files: usr/lib/porttrigger/node_modules/hono/*');
    // Nothing a running service does not need.
    const files = (await gateway.check(['dpkg', '-L', 'porttrigger'])).stdout.split('\n');
    expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
    expect(files.filter((file) => file.includes('/prebuild-install'))).toEqual([]);
  });

  it('starts with systemctl enable --now, and a trigger opens a port that a WAN connection reaches the LAN host on', async () => {
    await gateway.writeFile(
      CONFIG,
      labConfigText({
        idleTimeout: 600,
        listen: '127.0.0.1:8080',
        tokenFile: TOKEN_FILE,
        database: '/var/lib/porttrigger/events.db',
      }),
    );
    await gateway.check(['porttrigger', 'validate', CONFIG]);
    await gateway.check(['systemctl', 'enable', '--now', 'porttrigger']);
    await expect.poll(active, { timeout: 30_000 }).toBe('active');
    // The API answers once the service has applied the config; the panel's own files are served too.
    await expect
      .poll(async () => (await gateway.exec(['porttrigger', 'status'])).exitCode, { timeout: 30_000 })
      .toBe(0);
    const panelScript = await gateway.exec([
      'node',
      '-e',
      "fetch('http://127.0.0.1:8080/assets/panel.js').then((r) => process.exit(r.ok ? 0 : 1))",
    ]);
    expect(panelScript.exitCode).toBe(0);

    expect(await reachesLan()).toBe(false);
    await trigger();
    await expect
      .poll(async () => (await status()).some((e) => e.rule === 'IRC DCC' && e.holder === hosts.lan1.ipv4), {
        timeout: 10_000,
      })
      .toBe(true);
    expect(await reachesLan()).toBe(true);
  });

  it('applies an edited config on systemctl reload, and refuses a broken one keeping the running rules', async () => {
    const text = (await gateway.check(['cat', CONFIG])).stdout;
    await gateway.writeFile(
      CONFIG,
      text.replace(
        'rules:\n',
        'rules:\n  - name: Reloaded\n    trigger: [{ protocol: tcp, ports: "7777" }]\n    open: [{ protocol: udp, ports: "30000" }]\n',
      ),
    );
    await gateway.check(['systemctl', 'reload', 'porttrigger']);
    const ruleNames = async () => {
      const r = await gateway.exec(['porttrigger', 'rules', 'list', '--json']);
      return r.exitCode === 0 ? (JSON.parse(r.stdout) as { name: string }[]).map((rule) => rule.name) : [];
    };
    await expect.poll(ruleNames, { timeout: 15_000 }).toContain('Reloaded');

    const edited = (await gateway.check(['cat', CONFIG])).stdout;
    await gateway.writeFile(CONFIG, edited.replace('name: Reloaded', 'name: ""'));
    await gateway.check(['systemctl', 'reload', 'porttrigger']);
    await expect
      .poll(
        async () => (await gateway.journal('porttrigger', ['--priority=err'])).includes('reload refused'),
        {
          timeout: 15_000,
        },
      )
      .toBe(true);
    expect(await active()).toBe('active');
    expect(await ruleNames()).toContain('Reloaded');
    expect(await reachesLan()).toBe(true);
    await gateway.writeFile(CONFIG, edited);
    await gateway.check(['systemctl', 'reload', 'porttrigger']);
  });

  it('writes readable lines to the journal, with priorities and never the API token', async () => {
    const token = (await gateway.check(['cat', TOKEN_FILE])).stdout.trim();
    expect(token.length).toBeGreaterThanOrEqual(32);
    const journal = await gateway.journal('porttrigger');
    const lines = journal.split('\n').filter(Boolean);
    expect(lines.some((line) => line.startsWith('config reloaded'))).toBe(true);
    expect(lines.filter((line) => line.startsWith('{'))).toEqual([]);
    expect(lines.filter((line) => /^<\d>/.test(line))).toEqual([]);
    expect(journal).not.toContain(token);
    const errors = await gateway.journal('porttrigger', ['--priority=err']);
    expect(errors).not.toContain('config reloaded');
    // The WAN watch runs under the unit's sandbox: `ip monitor` is a child, and reading the links works.
    const children = (await gateway.check(['ps', '-o', 'args=', '--ppid', String(await mainPid())])).stdout;
    expect(children).toMatch(/^ip monitor link address$/m);
    expect(journal).not.toContain('reading the WAN links failed');
  });

  it('is restarted by systemd after kill -9 of its main process, ends its old children and keeps forwarding', async () => {
    const before = await mainPid();
    const children = (await gateway.check(['ps', '-o', 'pid=', '--ppid', String(before)])).stdout
      .split('\n')
      .map((pid) => pid.trim())
      .filter(Boolean);
    expect(children.length).toBeGreaterThanOrEqual(2);
    await gateway.check(['kill', '-9', String(before)]);
    await expect.poll(mainPid, { timeout: 30_000 }).not.toBe(before);
    await expect.poll(active, { timeout: 30_000 }).toBe('active');
    expect(await mainPid()).not.toBe(0);
    const survivors = await gateway.exec(['ps', '-o', 'pid=,comm=', '-p', children.join(',')]);
    expect(survivors.stdout.trim()).toBe('');
    expect(await reachesLan()).toBe(true);
    await expect
      .poll(async () => (await status()).some((e) => e.holder === hosts.lan1.ipv4), { timeout: 15_000 })
      .toBe(true);
  });

  it('upgrades to a newer build enabled and running, with its config and its open entries', async () => {
    const config = (await gateway.check(['cat', CONFIG])).stdout;
    const before = await mainPid();
    const upgrade = await gateway.exec(['apt-get', 'install', '-y', '/var/tmp/porttrigger-newer.deb'], {
      timeoutMs: 180_000,
    });
    expect(upgrade.exitCode, upgrade.stderr).toBe(0);
    expect((await gateway.check(['porttrigger', '--version'])).stdout.trim()).toBe(
      `porttrigger ${newerVersion}`,
    );
    expect((await gateway.systemctl('is-enabled', 'porttrigger')).stdout.trim()).toBe('enabled');
    await expect.poll(active, { timeout: 30_000 }).toBe('active');
    // Restarted: the new code runs.
    expect(await mainPid()).not.toBe(before);
    expect((await gateway.check(['cat', CONFIG])).stdout).toBe(config);
    await expect
      .poll(async () => (await status()).some((e) => e.holder === hosts.lan1.ipv4), { timeout: 15_000 })
      .toBe(true);
    expect(await reachesLan()).toBe(true);
  });

  it('comes back at boot after a reboot of the gateway', async () => {
    await gateway.reboot();
    await expect.poll(active, { timeout: 30_000 }).toBe('active');
    await expect
      .poll(async () => (await gateway.exec(['porttrigger', 'status'])).exitCode, { timeout: 30_000 })
      .toBe(0);
    // A reboot forgets connections; a new trigger opens the port again.
    await trigger();
    await expect
      .poll(async () => (await status()).some((e) => e.holder === hosts.lan1.ipv4), { timeout: 10_000 })
      .toBe(true);
    expect(await reachesLan()).toBe(true);
  });

  it(`keeps systemd-analyze security at ${SECURITY_GOAL} or less while nft and conntrack work in its sandbox`, async () => {
    const analysis = await gateway.exec(['systemd-analyze', 'security', '--no-pager', 'porttrigger.service']);
    const score = Number(
      /Overall exposure level for porttrigger\.service: ([\d.]+)/.exec(analysis.stdout)?.[1],
    );
    console.info(`systemd-analyze security porttrigger.service: ${score}`);
    expect(score).toBeLessThanOrEqual(SECURITY_GOAL);
    // Both kernel streams (conntrack -E, nft monitor) run inside the sandbox.
    const health = await gateway.check([
      'node',
      '-e',
      "fetch('http://127.0.0.1:8080/api/v1/health').then((r) => r.text()).then((t) => process.stdout.write(t))",
    ]);
    expect(JSON.parse(health.stdout).datapath).toMatchObject({
      status: 'ok',
      signals: { connections: 'running', ruleset: 'running' },
    });
    expect(await reachesLan()).toBe(true);
  });

  it('leaves nothing after apt-get purge: no files, no state, no table, no process', async () => {
    const purge = await gateway.exec(['apt-get', 'purge', '-y', 'porttrigger'], { timeoutMs: 180_000 });
    expect(purge.exitCode, purge.stderr).toBe(0);
    const left = await gateway.exec(['ls', '-d', ...PACKAGE_PATHS]);
    expect(left.stdout.trim()).toBe('');
    expect((await gateway.check(['nft', 'list', 'tables'])).stdout).not.toContain('porttrigger');
    expect((await gateway.exec(['pgrep', '-f', 'porttrigger'])).stdout.trim()).toBe('');
    expect((await gateway.exec(['pgrep', '-x', 'conntrack'])).stdout.trim()).toBe('');
    expect((await gateway.systemctl('is-enabled', 'porttrigger')).stdout.trim()).toBe('not-found');
    expect(await reachesLan()).toBe(false);
  });
});
