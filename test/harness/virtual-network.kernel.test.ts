import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { startProbe } from '../../src/lab/probe-client.js';
import {
  createVirtualNetwork,
  LAB_ADDRESSES,
  NODE_NAMES,
  removeStaleNamespaces,
  type VirtualNetwork,
} from '../../src/lab/virtual-network.js';
import { describeKernel } from './kernel-gate.js';

const { hosts, router } = LAB_ADDRESSES;
let tokenCounter = 0;

/** A payload no other test sends. */
function makeToken(label: string): string {
  return `${label}-${process.pid}-${++tokenCounter}`;
}

async function listNamespaces(): Promise<string[]> {
  const { stdout } = await runProgram('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter(Boolean);
}

/** The pid of a process that has already exited. */
async function findDeadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid;
  await new Promise((resolve) => child.once('close', resolve));
  if (pid === undefined || existsSync(`/proc/${pid}`)) throw new Error('could not find a dead pid');
  return pid;
}

describeKernel('virtual network', () => {
  let net: VirtualNetwork;

  beforeAll(async () => {
    net = await createVirtualNetwork({ run: runProgram });
  });

  afterAll(async () => {
    await net?.destroy();
  });

  it('routes IPv4 UDP from each side to the router and back', async () => {
    const listener = net.host('router');
    await listener.listen('udp', 5000);
    for (const [host, to] of [
      ['lan1', router.lan.ipv4],
      ['wan1', router.wan.ipv4],
    ] as const) {
      const token = makeToken(`udp4-${host}`);
      const { sport } = await net.host(host).sendUdp({ to, port: 5000, token });
      const message = await listener.waitFor(token, 3000);
      expect(message).toMatchObject({
        token,
        from: hosts[host].ipv4,
        fromPort: sport,
        proto: 'udp',
        port: 5000,
      });
      expect(await net.host(host).waitFor(token, 3000)).toMatchObject({ token: `ack ${token}`, from: to });
    }
  });

  it('connects IPv4 TCP from each side to the router and keeps the connection open', async () => {
    const listener = net.host('router');
    await listener.listen('tcp', 5001);
    for (const [host, to] of [
      ['lan1', router.lan.ipv4],
      ['wan1', router.wan.ipv4],
    ] as const) {
      const connection = await net.host(host).connectTcp({ to, port: 5001, timeoutMs: 3000 });
      if (!connection.ok) throw new Error(`connect failed: ${connection.error}`);
      for (const token of [makeToken(`tcp4-${host}`), makeToken(`tcp4-${host}-again`)]) {
        await net.host(host).writeTcp(connection.conn, token);
        expect(await listener.waitFor(token, 3000)).toMatchObject({ from: hosts[host].ipv4, port: 5001 });
        expect(await net.host(host).waitFor(token, 3000)).toMatchObject({
          token: `ack ${token}`,
          conn: connection.conn,
        });
      }
      await net.host(host).closeTcp(connection.conn);
    }
  });

  it('forwards IPv4 from the LAN to the WAN through a masquerade, and the WAN has no route to the LAN', async () => {
    const script =
      'table ip vn_test { chain post { type nat hook postrouting priority 100; oifname "wan0" masquerade; }; }';
    await net.exec('router', 'nft', ['-f', '-'], { input: script });
    try {
      await net.host('wan1').listen('udp', 5002);
      const token = makeToken('udp4-masq');
      await net.host('lan1').sendUdp({ to: hosts.wan1.ipv4, port: 5002, token });
      expect(await net.host('wan1').waitFor(token, 3000)).toMatchObject({ from: router.wan.ipv4 });
      expect(await net.host('lan1').waitFor(token, 3000)).toMatchObject({ from: hosts.wan1.ipv4 });
      await expect(
        net.host('wan1').sendUdp({ to: hosts.lan1.ipv4, port: 5002, token: makeToken('no-route') }),
      ).rejects.toThrow(/ENETUNREACH/);
    } finally {
      await net.exec('router', 'nft', ['delete', 'table', 'ip', 'vn_test']);
    }
  });

  it('routes IPv6 UDP and TCP end to end in both directions', async () => {
    for (const [client, server] of [
      ['lan1', 'wan1'],
      ['wan2', 'lan2'],
    ] as const) {
      await net.host(server).listen('udp', 6000);
      await net.host(server).listen('tcp', 6001);
      const udpToken = makeToken(`udp6-${client}`);
      await net.host(client).sendUdp({ to: hosts[server].ipv6, port: 6000, token: udpToken });
      expect(await net.host(server).waitFor(udpToken, 3000)).toMatchObject({ from: hosts[client].ipv6 });
      expect(await net.host(client).waitFor(udpToken, 3000)).toMatchObject({ from: hosts[server].ipv6 });

      const connection = await net
        .host(client)
        .connectTcp({ to: hosts[server].ipv6, port: 6001, timeoutMs: 3000 });
      if (!connection.ok) throw new Error(`connect failed: ${connection.error}`);
      const tcpToken = makeToken(`tcp6-${client}`);
      await net.host(client).writeTcp(connection.conn, tcpToken);
      expect(await net.host(server).waitFor(tcpToken, 3000)).toMatchObject({
        from: hosts[client].ipv6,
        fromPort: connection.sport,
        proto: 'tcp',
      });
      expect(await net.host(client).waitFor(tcpToken, 3000)).toMatchObject({ token: `ack ${tcpToken}` });
      await net.host(client).closeTcp(connection.conn);
    }
  });

  it('bridges the two LAN hosts and the two WAN hosts', async () => {
    await net.host('lan2').listen('udp', 7000);
    await net.host('wan2').listen('udp', 7000);
    const lanToken = makeToken('bridge-lan');
    const wanToken = makeToken('bridge-wan');
    await net.host('lan1').sendUdp({ to: hosts.lan2.ipv4, port: 7000, token: lanToken });
    await net.host('wan1').sendUdp({ to: hosts.wan2.ipv4, port: 7000, token: wanToken });
    expect(await net.host('lan2').waitFor(lanToken, 3000)).toMatchObject({ from: hosts.lan1.ipv4 });
    expect(await net.host('wan2').waitFor(wanToken, 3000)).toMatchObject({ from: hosts.wan1.ipv4 });
  });

  it('reports refused and silently dropped TCP connections', async () => {
    expect(await net.host('lan1').connectTcp({ to: router.lan.ipv4, port: 9, timeoutMs: 3000 })).toEqual({
      ok: false,
      error: 'refused',
    });
    // Masquerade is gone, so the SYN reaches wan1 but its answer has no route back.
    expect(await net.host('lan1').connectTcp({ to: hosts.wan1.ipv4, port: 9, timeoutMs: 300 })).toEqual({
      ok: false,
      error: 'timeout',
    });
  });

  it('sends from a fixed source port, reusing the listening socket', async () => {
    await net.host('lan1').listen('udp', 7100);
    await net.host('wan1').listen('udp', 7101);
    const token = makeToken('sport');
    expect(await net.host('lan1').sendUdp({ to: hosts.wan1.ipv6, port: 7101, sport: 7100, token })).toEqual({
      sport: 7100,
    });
    expect(await net.host('wan1').waitFor(token, 3000)).toMatchObject({ fromPort: 7100 });
    expect(await net.host('lan1').waitFor(token, 3000)).toMatchObject({ token: `ack ${token}`, port: 7100 });
    expect(await net.host('lan1').received(token)).toHaveLength(1);
    await net.host('lan1').clear();
    expect(await net.host('lan1').received(token)).toEqual([]);
    expect(await net.host('lan1').waitFor(token, 50)).toBeNull();
  });

  it('rejects pending calls with a clear error when the agent dies', async () => {
    const probe = await startProbe(net.namespaces.wan2);
    const waiting = probe.waitFor(makeToken('never'), 10_000);
    process.kill(probe.pid!, 'SIGKILL');
    await expect(waiting).rejects.toThrow(/probe agent in .*-wan2 exited with SIGKILL/);
    await expect(probe.clear()).rejects.toThrow(/exited/);
    await probe.stop();
  });

  it('builds networks in parallel without collisions and destroys them completely, twice', async () => {
    const networks = await Promise.all([
      createVirtualNetwork({ run: runProgram }),
      createVirtualNetwork({ run: runProgram }),
    ]);
    const names = networks.flatMap((network) => Object.values(network.namespaces));
    expect(new Set(names).size).toBe(NODE_NAMES.length * 2);
    expect(await listNamespaces()).toEqual(expect.arrayContaining(names));

    // Each network answers on the same addresses without hearing the other.
    const tokens = networks.map((_, index) => makeToken(`parallel-${index}`));
    await Promise.all(networks.map((network) => network.host('wan1').listen('udp', 8000)));
    await Promise.all(
      networks.map((network, index) =>
        network.host('lan1').sendUdp({ to: hosts.wan1.ipv6, port: 8000, token: tokens[index]! }),
      ),
    );
    for (const [index, network] of networks.entries()) {
      expect(await network.host('wan1').waitFor(tokens[index]!, 3000)).not.toBeNull();
      expect(await network.host('wan1').received(tokens[1 - index]!)).toEqual([]);
    }

    await Promise.all(networks.map((network) => network.destroy()));
    await Promise.all(networks.map((network) => network.destroy()));
    const remaining = await listNamespaces();
    expect(remaining.filter((name) => names.includes(name))).toEqual([]);
    expect(() => networks[0]!.host('lan1')).toThrow(/destroyed/);
  });

  it('removes stale namespaces of dead processes and keeps live ones', async () => {
    const prefix = `ptstale${process.pid}`;
    const deadPid = await findDeadPid();
    const stale = [`${prefix}-${deadPid}-0-router`, `${prefix}-${deadPid}-0-lan1`];
    const live = `${prefix}-${process.pid}-999-router`;
    for (const name of [...stale, live]) await runProgram('ip', ['netns', 'add', name]);
    try {
      expect((await removeStaleNamespaces(runProgram, prefix)).sort()).toEqual([...stale].sort());
      const remaining = await listNamespaces();
      expect(remaining).toContain(live);
      expect(remaining.filter((name) => stale.includes(name))).toEqual([]);

      // createVirtualNetwork cleans up its own prefix before building.
      const again = `${prefix}-${deadPid}-3-wan2`;
      await runProgram('ip', ['netns', 'add', again]);
      const network = await createVirtualNetwork({ prefix, run: runProgram });
      await network.destroy();
      expect(await listNamespaces()).not.toContain(again);
    } finally {
      for (const name of [...stale, live])
        await runProgram('ip', ['netns', 'delete', name]).catch(() => undefined);
    }
  });
});
