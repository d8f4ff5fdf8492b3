/**
 * A WAN that changes under open entries, with the service as production wires it (kernel datapath, `ip monitor`
 * WAN watch, SQLite history): the provider's DHCP server (dnsmasq, in a WAN host) renumbers the router, whose
 * DHCP client (ISC dhclient with Debian's dhclient-script) takes the new address; and a `ppp*` WAN link that goes
 * away and comes back with another address. porttrigger's rules match interfaces by name and the gateway's
 * addresses by `fib daddr type local`, so entries keep forwarding on the new address, with nothing restarted or
 * applied again; the history says what happened (`wan-changed`, `wan-down`, `wan-up` with the old and new
 * addresses), and the doctor and the panel report the address the WAN has now.
 *
 * The test machines' kernel has no PPP support (CONFIG_PPP unset, no modules), so pppd cannot create a real
 * `ppp0`: the ppp link here is a veth pair named as pppd names its link, which is what porttrigger sees of one
 * (docs/architecture.md, Tests).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runProgram } from '../../src/adapters/exec.js';
import { silentLogger } from '../../src/adapters/logger.js';
import type { Config } from '../../src/domain/types.js';
import { createVirtualNetwork, LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { doctorOnThisMachine } from '../../src/main/doctor-wiring.js';
import { panelFor } from '../../src/main/panel-wiring.js';
import { startKernelService } from '../../src/main/start-service.js';
import type { Service } from '../../src/service/service.js';
import { labConfig, rule } from '../conformance/scenarios.js';
import { describeKernel } from '../harness/kernel-gate.js';

const A = LAB_ADDRESSES;
const OPEN_PORT = 4000;
const TRIGGER_PORT = 5000;
const SILENCE_MS = 1_500;

function requireProgram(path: string, pkg: string): void {
  if (!existsSync(path)) {
    throw new Error(
      `${path} is missing: the WAN tests need the Debian package ${pkg} (scripts/ensure-deps.sh)`,
    );
  }
}

function config(wan: string[]): Config {
  return labConfig(
    [
      rule({
        name: 'game',
        family: 'ipv4',
        trigger: [{ protocol: 'udp', ports: String(TRIGGER_PORT) }],
        open: [{ protocol: 'tcp', ports: String(OPEN_PORT) }],
        idleTimeout: 300,
      }),
    ],
    { interfaces: { lan: [A.router.lan.interface], wan } },
  );
}

/** Starts the service with its production wiring in the router, on a config file in `dir`. */
async function startRouterService(net: VirtualNetwork, dir: string, wan: string[]): Promise<Service> {
  const configPath = join(dir, 'config.yaml');
  await writeFile(
    configPath,
    stringify({
      interfaces: { lan: [A.router.lan.interface], wan },
      mode: 'standalone',
      rules: [
        {
          name: 'game',
          family: 'ipv4',
          trigger: [{ protocol: 'udp', ports: String(TRIGGER_PORT) }],
          open: [{ protocol: 'tcp', ports: String(OPEN_PORT) }],
          idleTimeout: 300,
        },
      ],
      events: { database: join(dir, 'events.db') },
    }),
  );
  return startKernelService({ configPath, logger: silentLogger, netns: net.namespaces.router });
}

const PANEL_TOKEN = 'wan-panel-token-0123456789';

/** The panel of the running service, signed in: `get` answers a page's HTML. */
async function signedInPanel(service: Service, netns: string): Promise<(path: string) => Promise<string>> {
  const { site } = panelFor(service, PANEL_TOKEN, { netns });
  const host = '127.0.0.1:8080';
  const signIn = await site.fetch(
    new Request(`http://${host}/sign-in`, {
      method: 'POST',
      body: new URLSearchParams({ token: PANEL_TOKEN }),
      headers: { host, origin: `http://${host}`, 'content-type': 'application/x-www-form-urlencoded' },
    }),
  );
  const cookie = /porttrigger_session=[^;]+/.exec(signIn.headers.get('set-cookie') ?? '')?.[0] ?? '';
  return async (path) =>
    (await site.fetch(new Request(`http://${host}${path}`, { headers: { host, cookie } }))).text();
}

/** The WAN events of the history, oldest first, without their ids and times. */
function wanEvents(service: Service): unknown[] {
  return service
    .queryEvents({ order: 'asc' })
    .events.filter((e) => e.type.startsWith('wan-'))
    .map(({ id: _id, at: _at, ...e }) => e);
}

let tokens = 0;
const token = () => `wan-${process.pid}-${++tokens}`;

/** A program that runs until the test stops it, in a namespace; its output is kept for failure messages. */
function daemon(
  netns: string,
  program: string,
  args: readonly string[],
): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn('ip', ['netns', 'exec', netns, program, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

async function stop(d: { child: ChildProcess } | undefined): Promise<void> {
  const child = d?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The IPv4 addresses of an interface in a namespace. */
async function addressesOf(netns: string, iface: string): Promise<string[]> {
  const { stdout } = await runProgram('ip', ['-j', '-4', 'addr', 'show', 'dev', iface], { netns });
  const links = JSON.parse(stdout) as { addr_info?: { local?: string }[] }[];
  return links.flatMap((l) => (l.addr_info ?? []).flatMap((a) => (a.local ? [a.local] : [])));
}

/** lan1 triggers the rule towards `server`; resolves once the server got it. */
async function trigger(net: VirtualNetwork, server: string, via: 'wan1' = 'wan1'): Promise<void> {
  const t = token();
  await net.host('lan1').sendUdp({ to: server, port: TRIGGER_PORT, token: t });
  expect(await net.host(via).waitFor(t, 5_000), `the trigger reached ${server}`).not.toBeNull();
}

/** wan1 connects to `to`:OPEN_PORT; resolves with whether lan1 got the message. */
async function callback(net: VirtualNetwork, to: string): Promise<boolean> {
  const t = token();
  const c = await net.host('wan1').connectTcp({ to, port: OPEN_PORT, timeoutMs: SILENCE_MS });
  if (!c.ok) return false;
  await net.host('wan1').writeTcp(c.conn, t);
  const got = await net.host('lan1').waitFor(t, SILENCE_MS);
  await net
    .host('wan1')
    .closeTcp(c.conn)
    .catch(() => undefined);
  return got !== null;
}

describeKernel('a DHCP WAN renumbered under an open entry', () => {
  let net: VirtualNetwork;
  let service: Service | undefined;
  let dir: string;
  let dnsmasq: ReturnType<typeof daemon> | undefined;
  let dhclient: ReturnType<typeof daemon> | undefined;
  const resolvConf = readFileSync('/etc/resolv.conf', 'utf8');

  /** The provider's server: it hands the router's MAC exactly `address`, leases of 2 minutes, no DNS servers. */
  const startServer = (mac: string, address: string) => {
    dnsmasq = daemon(net.namespaces.wan1, 'dnsmasq', [
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      '--port=0',
      '--interface=eth0',
      '--bind-interfaces',
      '--dhcp-authoritative',
      `--dhcp-range=${A.hosts.wan1.ipv4.replace(/\.\d+$/, '.100')},static,255.255.255.0,2m`,
      `--dhcp-host=${mac},${address}`,
      '--dhcp-option=option:dns-server',
      `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
      `--pid-file=${join(dir, 'dnsmasq.pid')}`,
    ]);
  };
  /** The router's client, in the foreground, with Debian's dhclient-script; its lease file survives restarts. */
  const startClient = () => {
    dhclient = daemon(net.namespaces.router, 'dhclient', [
      '-4',
      '-d',
      '-v',
      '-lf',
      join(dir, 'dhclient.leases'),
      '-pf',
      join(dir, 'dhclient.pid'),
      A.router.wan.interface,
    ]);
  };
  const wanAddressIs = (address: string) =>
    expect
      .poll(() => addressesOf(net.namespaces.router, A.router.wan.interface), {
        timeout: 30_000,
        message: `the router's WAN address becomes ${address} (${dhclient?.output() ?? ''} ${dnsmasq?.output() ?? ''})`,
      })
      .toEqual([address]);

  beforeAll(async () => {
    requireProgram('/usr/sbin/dnsmasq', 'dnsmasq-base');
    requireProgram('/usr/sbin/dhclient', 'isc-dhcp-client');
    dir = await mkdtemp(join(tmpdir(), 'pt-dhcp-'));
    net = await createVirtualNetwork({ prefix: 'ptwand', run: runProgram });
    // The WAN address now comes from the provider's DHCP server, not from the test network.
    await net.exec('router', 'ip', ['addr', 'flush', 'dev', A.router.wan.interface, 'scope', 'global']);
    await net.host('lan1').listen('tcp', OPEN_PORT);
    await net.host('wan1').listen('udp', TRIGGER_PORT);
  });
  afterEach(async () => {
    await stop(dhclient);
    await stop(dnsmasq);
  });
  afterAll(async () => {
    await service?.stop().catch(() => undefined);
    await net?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
    // The client ran in a namespace: the machine's own resolver config is what it was.
    expect(readFileSync('/etc/resolv.conf', 'utf8')).toBe(resolvConf);
  });

  it('keeps forwarding on the new address without a restart; the history, the doctor and the panel say so', async () => {
    const { stdout } = await runProgram('cat', [`/sys/class/net/${A.router.wan.interface}/address`], {
      netns: net.namespaces.router,
    });
    const mac = stdout.trim();
    const first = A.hosts.wan1.ipv4.replace(/\.\d+$/, '.101');
    const second = A.hosts.wan1.ipv4.replace(/\.\d+$/, '.102');
    startServer(mac, first);
    startClient();
    await wanAddressIs(first);
    const running = await startRouterService(net, dir, [A.router.wan.interface]);
    service = running;
    expect(running.wan()).toEqual([{ interface: A.router.wan.interface, up: true, addresses: [first] }]);

    await trigger(net, A.hosts.wan1.ipv4);
    expect(await callback(net, first), 'the entry forwards on the first address').toBe(true);
    const [entry] = (await running.readNow()).entries;
    expect(entry).toMatchObject({ rule: 'game', holder: A.hosts.lan1.ipv4 });

    // The provider renumbers: its server now has another address for this router and refuses the old one;
    // the client, started again from its lease file as after a reboot or a lost link, is refused and takes it.
    await stop(dhclient);
    await stop(dnsmasq);
    startServer(mac, second);
    startClient();
    await wanAddressIs(second);

    // The same entry, not opened again: no trigger since the change.
    const [still] = (await running.readNow()).entries;
    expect(still).toMatchObject({ rule: 'game', holder: entry!.holder, openedAt: entry!.openedAt });
    expect(await callback(net, second), 'the entry forwards on the new address').toBe(true);
    expect(await callback(net, first), 'the old address is gone').toBe(false);

    // One event from the old address to the new one, however the client removed one and added the other.
    await expect
      .poll(() => wanEvents(running), { timeout: 20_000, message: 'the history says the WAN changed' })
      .toEqual([
        { type: 'wan-changed', interface: A.router.wan.interface, previous: [first], addresses: [second] },
      ]);
    expect(running.queryEvents({ type: 'opened' }).events).toHaveLength(1);
    expect(running.queryEvents({ type: 'closed' }).events).toEqual([]);

    const checks = await doctorOnThisMachine({
      netns: net.namespaces.router,
      config: config([A.router.wan.interface]),
    });
    expect(checks.find((c) => c.id === 'wan-address')?.detail).toContain(second);
    expect(checks.find((c) => c.id === 'wan-address')?.detail).not.toContain(first);
    const panel = await signedInPanel(running, net.namespaces.router);
    expect(await panel('/overview/live')).toContain(`${A.router.wan.interface}: ${second}`);
    const findings = await panel('/overview/doctor');
    expect(findings).toContain(second);
    expect(findings).not.toContain(first);
    expect(await panel('/history')).toContain(
      `WAN ${A.router.wan.interface} is now ${second} (was ${first})`,
    );
  });
});

describeKernel('a ppp* WAN link that goes down and comes back with another address', () => {
  let net: VirtualNetwork;
  let dir: string;
  let service: Service | undefined;
  // A point-to-point link named like pppd's: the router's end is ppp0, the provider's end is wan1's eth1.
  const PEER = '100.64.0.1';
  const link = async (local: string) => {
    await runProgram('ip', [
      '-n',
      net.namespaces.router,
      'link',
      'add',
      'ppp0',
      'type',
      'veth',
      'peer',
      'name',
      'eth1',
      'netns',
      net.namespaces.wan1,
    ]);
    await net.exec('router', 'ip', ['addr', 'add', local, 'peer', `${PEER}/32`, 'dev', 'ppp0']);
    await net.exec('router', 'ip', ['link', 'set', 'ppp0', 'up']);
    await net.exec('wan1', 'ip', ['addr', 'add', PEER, 'peer', `${local}/32`, 'dev', 'eth1']);
    await net.exec('wan1', 'ip', ['link', 'set', 'eth1', 'up']);
  };

  beforeAll(async () => {
    net = await createVirtualNetwork({ prefix: 'ptwanp', run: runProgram });
    dir = await mkdtemp(join(tmpdir(), 'pt-ppp-'));
    await net.host('lan1').listen('tcp', OPEN_PORT);
    await net.host('wan1').listen('udp', TRIGGER_PORT);
  });
  afterAll(async () => {
    await service?.stop().catch(() => undefined);
    await net?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('accepts `ppp*`, applies before ppp0 exists, forwards on the new ppp0 without a restart, and says so', async () => {
    // Started while no ppp link exists, as at boot before pppd connects.
    const running = await startRouterService(net, dir, ['ppp*']);
    service = running;
    expect(running.wan()).toEqual([]);
    const ruleset = (
      await runProgram('nft', ['list', 'table', 'inet', 'porttrigger'], { netns: net.namespaces.router })
    ).stdout;
    expect(ruleset).toMatch(/iifname (?:\{ )?"ppp\*"/);

    await link('100.64.0.2');
    await expect
      .poll(() => running.wan(), { timeout: 10_000, message: 'the service sees the new ppp0' })
      .toEqual([{ interface: 'ppp0', up: true, addresses: ['100.64.0.2'] }]);
    await trigger(net, PEER);
    expect(await callback(net, '100.64.0.2'), 'the entry forwards over the first ppp0').toBe(true);
    const [entry] = (await running.readNow()).entries;
    expect(entry).toMatchObject({ rule: 'game', holder: A.hosts.lan1.ipv4 });

    // The link drops (ppp0 is gone, as when pppd loses the session) and comes back with another address.
    await runProgram('ip', ['-n', net.namespaces.router, 'link', 'del', 'ppp0']);
    expect(await addressesOf(net.namespaces.router, 'lo')).toEqual(['127.0.0.1']);
    await expect
      .poll(() => wanEvents(running), { timeout: 10_000, message: 'the history says ppp0 went down' })
      .toEqual([
        { type: 'wan-up', interface: 'ppp0', addresses: ['100.64.0.2'] },
        { type: 'wan-down', interface: 'ppp0', previous: ['100.64.0.2'] },
      ]);
    expect(running.wan()).toEqual([]);
    await link('100.64.0.3');

    const [still] = (await running.readNow()).entries;
    expect(still).toMatchObject({ rule: 'game', holder: entry!.holder });
    expect(await callback(net, '100.64.0.3'), 'the entry forwards over the new ppp0').toBe(true);
    await expect
      .poll(() => wanEvents(running).slice(2), { timeout: 10_000, message: 'the history says ppp0 is back' })
      .toEqual([{ type: 'wan-up', interface: 'ppp0', addresses: ['100.64.0.3'], previous: ['100.64.0.2'] }]);
    expect(running.queryEvents({ type: 'closed' }).events).toEqual([]);
    const checks = await doctorOnThisMachine({ netns: net.namespaces.router, config: config(['ppp*']) });
    expect(checks.find((c) => c.id === 'interfaces')).toMatchObject({ status: 'ok' });
    expect(checks.find((c) => c.id === 'wan-address')?.detail).toContain('100.64.0.3');
    const panel = await signedInPanel(running, net.namespaces.router);
    expect(await panel('/overview/live')).toContain('ppp0: 100.64.0.3');
    expect(await panel('/history')).toContain('WAN ppp0 is up with 100.64.0.3 (was 100.64.0.2)');
  });
});
