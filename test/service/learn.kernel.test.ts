/**
 * Learn mode with real packets: the service in the router namespace of a virtual network records a LAN
 * device's outbound connections and the inbound attempts nothing forwarded, proposes the rule, and the rule it
 * proposes works. The recording exists only while a session runs.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import type { ServiceHost } from '../../src/main/service-host.js';
import { portRule } from '../factories.js';
import { createGateway, type Gateway } from '../harness/gateway.js';
import { describeKernel } from '../harness/kernel-gate.js';

const A = LAB_ADDRESSES;
const LAN1 = A.hosts.lan1.ipv4;
const WAN1 = A.hosts.wan1.ipv4;
const WAN2 = A.hosts.wan2.ipv4;
const GATEWAY = A.router.wan.ipv4;
// How long "not delivered" is waited for: packets take microseconds, a loaded machine reports them late.
const SILENCE_MS = 1_500;

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

describeKernel('learn mode in a virtual network', () => {
  let gw: Gateway;
  let net: VirtualNetwork;
  let host: ServiceHost;
  let token: string;
  let tokens = 0;
  const nextToken = () => `learn${process.pid}-${++tokens}`;

  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by matchers, not by types
  async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
    const res = await fetch(`${host.url}/api/v1${path}`, {
      ...init,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    });
    return { status: res.status, body: await res.json() };
  }

  async function dstnat(): Promise<string> {
    return (await net.exec('router', 'nft', ['list', 'chain', 'inet', 'porttrigger', 'dstnat'])).stdout;
  }

  /** Running `conntrack -E` processes inside our router namespace that listen for the learning mark. */
  async function learnListeners(): Promise<string[]> {
    const { stdout } = await runProgram('ip', ['netns', 'pids', net.namespaces.router]);
    const commands = stdout
      .split('\n')
      .filter((pid) => /^\d+$/.test(pid))
      .map((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
        } catch {
          return ''; // ended meanwhile
        }
      });
    return commands.filter((c) => c.startsWith('conntrack -E') && c.includes('0x10000000/0x10000000'));
  }

  /** The simulated game: lan1 connects to the server's tcp 6970 and keeps the connection. */
  async function gameConnects(): Promise<string> {
    const result = await net.host('lan1').connectTcp({ to: WAN1, port: 6970 });
    if (!result.ok) throw new Error(`the game client could not connect: ${result.error}`);
    return result.conn;
  }

  async function callBack(from: 'wan1' | 'wan2', ports: readonly number[]): Promise<void> {
    for (const port of ports) await net.host(from).sendUdp({ to: GATEWAY, port, token: nextToken() });
  }

  /** A scan of scattered tcp and udp ports of the gateway from wan2, which nobody contacted. */
  async function scan(): Promise<void> {
    for (const port of [22, 80, 443, 3389, 8080, 12345, 23456, 34567, 45678, 55555]) {
      const r = await net.host('wan2').connectTcp({ to: GATEWAY, port, timeoutMs: 500 });
      if (r.ok) await net.host('wan2').closeTcp(r.conn);
    }
    await callBack('wan2', [1900, 5353, 27960, 41000, 60001]);
  }

  beforeAll(async () => {
    gw = await createGateway({
      prefix: 'ptl',
      rules: [portRule('game', 'udp 5000', 'udp 9000')],
      listen: [
        ['wan1', 'tcp', 6970],
        ['lan1', 'udp', 7001],
      ],
    });
    net = gw.net;
    host = await gw.startHost();
    token = gw.token();
  });

  afterAll(() => gw?.cleanup());

  it('has no learning rule and no listener outside a session', async () => {
    expect(await dstnat()).not.toMatch(/learning/);
    expect(await learnListeners()).toEqual([]);
    expect((await api('/learn')).body).toMatchObject({ state: 'idle' });
    expect((await api('/learn/proposals')).body.error.code).toBe('LEARN_NOT_FOUND');
  });

  it('learns the game: exactly its rule with remote contacted, the scan proposes nothing, the rule works', async () => {
    const start = await api('/learn/start', {
      method: 'POST',
      body: JSON.stringify({ host: LAN1, durationS: 120 }),
    });
    expect(start.status).toBe(201);
    expect(await dstnat()).toMatch(/learning: inbound attempts/);
    expect(await dstnat()).toContain(`ip saddr ${LAN1}`);
    expect(await learnListeners()).toHaveLength(1);
    expect((await api('/learn/start', { method: 'POST', body: '{}' })).body.error.code).toBe('LEARN_ACTIVE');

    const conn = await gameConnects();
    await callBack('wan1', [7000, 7001, 7002, 7003]);
    await scan();
    await expect
      .poll(async () => (await api('/learn')).body, { timeout: 10_000 })
      .toMatchObject({ outbound: 1, inbound: 4 + 15 });
    const { body: status } = await api('/learn');
    const outbound = status.recent.find((c: { direction: string }) => c.direction === 'outbound');
    expect(outbound).toMatchObject({ protocol: 'tcp', source: LAN1, destination: WAN1, port: 6970 });

    const { body } = await api('/learn/proposals');
    expect(body.proposals).toHaveLength(1);
    expect(body.proposals[0]).toMatchObject({
      id: 1,
      rule: {
        trigger: [{ protocol: 'tcp', ports: '6970' }],
        open: [{ protocol: 'udp', ports: '7000-7003' }],
        remote: 'contacted',
      },
      confidence: 'high',
      sources: [WAN1],
      conflicts: [],
    });
    expect(body.proposals[0].evidence).toMatch(
      new RegExp(
        `^4 inbound attempts on udp 7000-7003 from ${WAN1}, .* after ${LAN1} connected to ${WAN1} tcp 6970$`,
      ),
    );

    // Another tool's static forward over one of the proposed ports: the proposal names it as a clash.
    const foreign = ['ip', `ptlearn${process.pid}`];
    await net.exec('router', 'nft', ['add', 'table', ...foreign]);
    try {
      await net.exec('router', 'nft', [
        'add',
        'chain',
        ...foreign,
        'prerouting',
        '{ type nat hook prerouting priority -100 ; }',
      ]);
      await net.exec('router', 'nft', [
        'add',
        'rule',
        ...foreign,
        'prerouting',
        'iifname',
        'wan0',
        'udp',
        'dport',
        '7002',
        'dnat',
        'to',
        LAN1,
      ]);
      const flagged = await api('/learn/proposals');
      // The only note is the scan set aside: the static forwards were checked.
      expect(flagged.body.notes).toEqual([expect.stringMatching(new RegExp(`^${WAN2} scanned the gateway`))]);
      expect(flagged.body.proposals[0].conflicts).toEqual([
        `its udp ports overlap a static forward of table ip ${foreign[1]} (chain prerouting) to ${LAN1} (udp 7002)`,
      ]);
    } finally {
      await net.exec('router', 'nft', ['delete', 'table', ...foreign]);
    }
    expect((await api('/learn/proposals')).body.proposals[0].conflicts).toEqual([]);

    // Saved while the session runs: the apply rebuilds the table, and the recording stays in it.
    const applied = await api('/learn/proposals/1/apply', { method: 'POST' });
    expect(applied.status).toBe(201);
    expect(applied.body.rule).toMatchObject({ name: 'Learned tcp 6970', remote: 'contacted' });
    expect(await dstnat()).toMatch(/learning: inbound attempts/);

    // The learned rule works: a new game connection opens the ports to the server it contacted.
    await net.host('lan1').closeTcp(conn);
    const again = await gameConnects();
    const t = nextToken();
    await net.host('wan1').sendUdp({ to: GATEWAY, port: 7001, token: t });
    expect(await net.host('lan1').waitFor(t, 10_000)).not.toBeNull();
    const other = nextToken();
    await net.host('wan2').sendUdp({ to: GATEWAY, port: 7001, token: other });
    expect(await net.host('lan1').waitFor(other, SILENCE_MS)).toBeNull();
    await net.host('lan1').closeTcp(again);

    const stopped = await api('/learn/stop', { method: 'POST' });
    expect(stopped.body).toMatchObject({ state: 'finished', endReason: 'stopped' });
    expect(await dstnat()).not.toMatch(/learning/);
    await expect.poll(learnListeners).toEqual([]);
  });

  it('proposes remote any when another server calls back', async () => {
    await api('/learn/start', { method: 'POST', body: JSON.stringify({ host: LAN1, durationS: 120 }) });
    const conn = await gameConnects();
    await callBack('wan2', [7100, 7101, 7102, 7103]);
    await expect.poll(async () => (await api('/learn')).body.inbound, { timeout: 10_000 }).toBe(4);
    const { body } = await api('/learn/proposals');
    expect(body.proposals).toHaveLength(1);
    expect(body.proposals[0]).toMatchObject({
      rule: {
        trigger: [{ protocol: 'tcp', ports: '6970' }],
        open: [{ protocol: 'udp', ports: '7100-7103' }],
      },
      sources: [WAN2],
    });
    expect(body.proposals[0].rule.remote).toBe('any');
    await net.host('lan1').closeTcp(conn);
    await api('/learn/stop', { method: 'POST' });
  });

  it('keeps only devices inside the LAN subnets: a source from outside them is refused, ignored and said', async () => {
    const lan = [A.lanPrefixes.ipv4, A.lanPrefixes.ipv6];
    const refused = await api('/learn/start', { method: 'POST', body: JSON.stringify({ host: '10.9.0.5' }) });
    expect(refused.status).toBe(400);
    expect(refused.body.error.issues[0].message).toBe(
      `10.9.0.5 is not in the LAN subnets (${lan.join(', ')}): give the address of a device on the LAN`,
    );
    const start = await api('/learn/start', { method: 'POST', body: JSON.stringify({ durationS: 120 }) });
    expect(start.body.lanSubnets).toEqual(lan);
    // lan2 sends from an address of no LAN subnet, as a network routed behind a device would.
    await net.exec('lan2', 'ip', ['addr', 'add', '10.9.0.5/32', 'dev', 'eth0']);
    await net.exec('lan2', 'ip', ['route', 'change', 'default', 'via', A.router.lan.ipv4, 'src', '10.9.0.5']);
    try {
      await net.host('lan2').sendUdp({ to: WAN1, port: 40_001, token: nextToken() });
      await net.host('lan1').sendUdp({ to: WAN1, port: 40_002, token: nextToken() });
      await expect
        .poll(async () => (await api('/learn')).body, { timeout: 10_000 })
        .toMatchObject({ outbound: 1, outsideLan: 1, outsideLanSources: ['10.9.0.5'] });
      const { body } = await api('/learn/proposals');
      expect(body.notes).toContain(
        `ignored 1 outbound connection from addresses outside the LAN subnets (${lan.join(', ')}): 10.9.0.5`,
      );
    } finally {
      await net.exec('lan2', 'ip', ['route', 'change', 'default', 'via', A.router.lan.ipv4]);
      await net.exec('lan2', 'ip', ['addr', 'del', '10.9.0.5/32', 'dev', 'eth0']);
      await api('/learn/stop', { method: 'POST' });
    }
  });

  it('ends by itself at its time limit and leaves no rule and no listener behind', async () => {
    const start = await api('/learn/start', { method: 'POST', body: JSON.stringify({ durationS: 2 }) });
    expect(start.body).toMatchObject({ state: 'running' });
    expect(start.body.host).toBeUndefined();
    expect(await dstnat()).toMatch(/learning: outbound/);
    await expect
      .poll(async () => (await api('/learn')).body, { timeout: 15_000, interval: 200 })
      .toMatchObject({ state: 'finished', endReason: 'time-limit' });
    expect(await dstnat()).not.toMatch(/learning/);
    await expect.poll(learnListeners).toEqual([]);
  });

  it('ends with the service: the table and the listener are gone', async () => {
    await api('/learn/start', { method: 'POST', body: '{}' });
    expect(await learnListeners()).toHaveLength(1);
    await host.stop();
    await expect.poll(learnListeners).toEqual([]);
    const listed = await net.exec('router', 'nft', ['list', 'tables']);
    expect(listed.stdout).not.toMatch(/porttrigger/);
  });
});
