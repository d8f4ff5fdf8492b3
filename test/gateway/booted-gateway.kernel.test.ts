/**
 * The booted-gateway harness itself: a Debian 13 copy boots with systemd as PID 1 in the router namespace, routes
 * between the LAN and WAN hosts, keeps its changes across a reboot and leaves nothing behind when stopped.
 */

import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { createVirtualNetwork, LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { describeKernel } from '../harness/kernel-gate.js';
import { type BootedGateway, bootGateway, gatewayRootfs } from './booted-gateway.js';

const { hosts } = LAB_ADDRESSES;

describeKernel('a booted Debian gateway (systemd-nspawn)', () => {
  let net: VirtualNetwork;
  let gateway: BootedGateway;

  beforeAll(async () => {
    // The first run on a machine builds the cached root file system with debootstrap.
    await gatewayRootfs();
    net = await extraNetwork();
    gateway = await bootGateway({ routerNamespace: net.namespaces.router });
  }, 20 * 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await Promise.all(networks.map((network) => network.destroy()));
  }, 60_000);

  const networks: VirtualNetwork[] = [];
  async function extraNetwork(): Promise<VirtualNetwork> {
    const network = await createVirtualNetwork({ prefix: 'ptgwh', run: runProgram });
    networks.push(network);
    return network;
  }

  it('runs systemd as PID 1 of Debian 13 with the router namespace as its network', async () => {
    expect((await gateway.check(['cat', '/proc/1/comm'])).stdout.trim()).toBe('systemd');
    expect((await gateway.check(['cat', '/etc/debian_version'])).stdout.trim()).toMatch(/^13\./);
    const links = JSON.parse((await gateway.check(['ip', '-j', 'link', 'show'])).stdout) as {
      ifname: string;
    }[];
    expect(links.map((link) => link.ifname)).toEqual(expect.arrayContaining(['br-lan', 'wan0']));
    // It forwards between the hosts around it like the bare router namespace (IPv6 is routed without NAT).
    await net.host('wan1').listen('udp', 9000);
    await net.host('lan1').sendUdp({ to: hosts.wan1.ipv6, port: 9000, token: 'through-the-gateway' });
    expect(await net.host('wan1').waitFor('through-the-gateway', 5_000)).not.toBeNull();
  });

  it('lets nft and conntrack work inside (CAP_NET_ADMIN), and reports a failing program by its exit code', async () => {
    await gateway.check(['nft', 'add', 'table', 'inet', 'harness_probe']);
    expect((await gateway.check(['nft', 'list', 'tables'])).stdout).toContain('table inet harness_probe');
    await gateway.check(['nft', 'delete', 'table', 'inet', 'harness_probe']);
    await gateway.check(['conntrack', '-L']);
    const failed = await gateway.exec(['sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(failed).toEqual({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
    await expect(gateway.check(['false'])).rejects.toThrow(/false exited with 1/);
  });

  it('keeps its file system across a reboot and comes back with systemd running', async () => {
    await gateway.writeFile('/etc/harness-mark', 'kept\n');
    const bootBefore = (await gateway.check(['cat', '/proc/sys/kernel/random/boot_id'])).stdout;
    await gateway.reboot();
    expect((await gateway.check(['cat', '/etc/harness-mark'])).stdout).toBe('kept\n');
    expect((await gateway.systemctl('is-system-running')).stdout.trim()).toMatch(/^(running|degraded)$/);
    // nspawn gives every boot of the container its own boot id.
    expect((await gateway.check(['cat', '/proc/sys/kernel/random/boot_id'])).stdout).not.toBe(bootBefore);
    expect(await gateway.journal('systemd-journald')).not.toBe('');
  });

  it('boots with extra Debian packages from a cached layer over the base', async () => {
    const withExtra = await bootGateway({
      routerNamespace: (await extraNetwork()).namespaces.router,
      extraPackages: ['dnsmasq-base'],
    });
    try {
      expect((await withExtra.check(['dnsmasq', '--version'])).stdout).toMatch(/^Dnsmasq version/);
      expect((await gateway.exec(['sh', '-c', 'command -v dnsmasq'])).exitCode).not.toBe(0);
    } finally {
      await withExtra.stop();
    }
  });

  it('never writes to the cached root file system, and leaves no copy behind when stopped', async () => {
    const [base] = await gatewayRootfs();
    expect(existsSync(`${base}/etc/harness-mark`)).toBe(false);
    const root = gateway.root;
    await gateway.stop();
    expect(existsSync(root)).toBe(false);
    expect(readFileSync('/proc/self/mounts', 'utf8')).not.toContain(root);
    await gateway.stop();
  });
});
