/**
 * Companion mode beside Docker on a booted Debian 13 gateway: dockerd (Debian's docker.io, started by systemd)
 * turns IP forwarding on and sets the iptables FORWARD policy to DROP in the router namespace of a virtual
 * network. porttrigger's table is
 * applied in the same namespace and the doctor reads it from the host, as `porttrigger doctor --netns` does.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type BootedGateway, bootGateway } from '../gateway/booted-gateway.js';
import { describeKernel } from '../harness/kernel-gate.js';
import { type CompanionRouter, companionRouter, expectWorksAndOthersClosed } from './companion.js';

describeKernel('beside Docker (iptables FORWARD policy DROP)', () => {
  let r: CompanionRouter;
  let gateway: BootedGateway | undefined;

  beforeAll(async () => {
    r = await companionRouter('ptfwk', async (netns, net) => {
      // dockerd (26, Debian 13) turns IP forwarding on when it finds it off, and then sets the FORWARD policy
      // to DROP: the box that became a router after Docker was installed on it.
      await net.exec('router', 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=0']);
      gateway = await bootGateway({
        routerNamespace: netns,
        extraPackages: ['docker.io'],
        writableNetSysctls: true,
      });
      const gw = gateway;
      await vi
        .waitFor(
          async () => {
            const policy = (await gw.exec(['iptables', '-S', 'FORWARD'])).stdout;
            if (!policy.includes('-P FORWARD DROP') || !policy.includes('-j DOCKER-USER')) {
              throw new Error(`iptables -S FORWARD: ${policy || 'empty'}`);
            }
          },
          { timeout: 90_000, interval: 500 },
        )
        .catch(async (error: unknown) => {
          throw new Error(
            `dockerd did not set up its chains: ${String(error)}\n${await gw.journal('docker')}`,
          );
        });
      // A router's masquerade for the LAN, as the admin's own rule next to Docker's.
      await gw.check([
        'iptables',
        '-t',
        'nat',
        '-A',
        'POSTROUTING',
        '-s',
        '192.168.1.0/24',
        '-o',
        'wan0',
        '-j',
        'MASQUERADE',
      ]);
      await gw.check(['iptables', '-I', 'DOCKER-USER', '-i', 'br-lan', '-o', 'wan0', '-j', 'ACCEPT']);
      await gw.check([
        'iptables',
        '-I',
        'DOCKER-USER',
        '-m',
        'conntrack',
        '--ctstate',
        'RELATED,ESTABLISHED',
        '-j',
        'ACCEPT',
      ]);
    });
  }, 20 * 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await r?.destroy();
  }, 120_000);

  it('the doctor names Docker, says it drops, and its DOCKER-USER rule lets entries through and nothing else', async () => {
    const before = await r.firewallCheck();
    expect(before.status).toBe('warn');
    expect(before.detail).toContain(
      'Docker drops DNAT-ed connections (table ip filter chain FORWARD, policy drop)',
    );
    expect(before.fix).toEqual({
      command: 'iptables -I DOCKER-USER -i wan0 -o br-lan -m conntrack --ctstate DNAT -j ACCEPT',
    });
    await r.trigger();
    expect(await r.callback({}), 'Docker drops the callback').toBeNull();

    // Exactly as printed, as root on the gateway.
    await gateway!.check(['sh', '-c', before.fix!.command!]);
    const after = await r.firewallCheck();
    expect(after.status).toBe('ok');
    expect(after.detail).toContain('Docker: `ct status dnat accept` in table ip filter chain DOCKER-USER');
    await expectWorksAndOthersClosed(r);
    expect((await gateway!.check(['iptables', '-S', 'FORWARD'])).stdout).toContain('-P FORWARD DROP');
  });
});
