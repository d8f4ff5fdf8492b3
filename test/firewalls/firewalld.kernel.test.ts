/**
 * Companion mode beside firewalld (nftables backend) on a booted Debian 13 gateway: firewalld needs D-Bus and
 * systemd, so it runs in the booted-gateway harness, in the router namespace of a virtual network, with
 * external (WAN, masquerade) and internal (LAN) zones and a lan-to-wan policy. porttrigger's table is applied
 * in the same namespace and the doctor reads it from the host, as `porttrigger doctor --netns` does.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type BootedGateway, bootGateway } from '../gateway/booted-gateway.js';
import { describeKernel } from '../harness/kernel-gate.js';
import { type CompanionRouter, companionRouter, expectWorksAndOthersClosed } from './companion.js';

const CONF = '/etc/firewalld/firewalld.conf';

describeKernel('beside firewalld (external/internal zones, masquerade, a lan-to-wan policy)', () => {
  let r: CompanionRouter;
  let gateway: BootedGateway | undefined;
  const cmd = (...args: string[]) => gateway!.check(['firewall-cmd', ...args]);

  beforeAll(async () => {
    r = await companionRouter('ptfwd', async (netns) => {
      // The package comes from Debian into a cached layer of the gateway's root file system.
      gateway = await bootGateway({ routerNamespace: netns, extraPackages: ['firewalld'] });
      const gw = gateway;
      await vi
        .waitFor(
          async () => {
            const state = (await gw.exec(['firewall-cmd', '--state'])).stdout.trim();
            if (state !== 'running') throw new Error(`firewall-cmd --state: ${state || 'no answer'}`);
          },
          { timeout: 60_000, interval: 500 },
        )
        .catch(async (error: unknown) => {
          throw new Error(`firewalld did not start: ${String(error)}\n${await gw.journal('firewalld')}`);
        });
      expect((await gateway.check(['grep', '-E', '^FirewallBackend=', CONF])).stdout.trim()).toBe(
        'FirewallBackend=nftables',
      );
      await cmd('--permanent', '--zone=external', '--add-interface=wan0');
      await cmd('--permanent', '--zone=internal', '--add-interface=br-lan');
      await cmd('--permanent', '--new-policy', 'lan-to-wan');
      await cmd('--permanent', '--policy', 'lan-to-wan', '--add-ingress-zone', 'internal');
      await cmd('--permanent', '--policy', 'lan-to-wan', '--add-egress-zone', 'external');
      await cmd('--permanent', '--policy', 'lan-to-wan', '--set-target', 'ACCEPT');
      await cmd('--reload');
    });
  }, 20 * 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await r?.destroy();
  }, 120_000);

  it('the doctor names firewalld and its `ct status dnat accept`; a trigger works and firewalld decides the rest', async () => {
    expect((await cmd('--get-zone-of-interface=wan0')).stdout.trim()).toBe('external');
    const check = await r.firewallCheck();
    expect(check).toMatchObject({ status: 'ok' });
    expect(check.detail).toContain(
      'firewalld: `ct status dnat accept` in table inet firewalld chain filter_FORWARD lets DNAT-ed connections through',
    );
    await expectWorksAndOthersClosed(r);
  });

  it('with StrictForwardPorts=yes the doctor says firewalld drops them; its fix, applied as printed, lets them through', async () => {
    const original = (await gateway!.check(['cat', CONF])).stdout;
    await gateway!.writeFile(
      CONF,
      `${original.replace(/^StrictForwardPorts=.*$/m, '')}\nStrictForwardPorts=yes\n`,
    );
    await cmd('--reload');
    const strict = await r.firewallCheck();
    expect(strict.status).toBe('warn');
    expect(strict.detail).toMatch(
      /^firewalld drops DNAT-ed connections \(table inet firewalld chain filter_FORWARD, a final reject or drop in chain filter_FORWARD/,
    );
    expect(strict.fix).toEqual({
      command: `sed -i 's/^StrictForwardPorts=.*/StrictForwardPorts=no/' ${CONF} && firewall-cmd --reload`,
    });
    await r.trigger();
    expect(await r.callback({}), 'strict firewalld drops the callback').toBeNull();

    // Exactly as printed, as root on the gateway.
    await gateway!.check(['sh', '-c', strict.fix!.command!]);
    expect((await r.firewallCheck()).status).toBe('ok');
    await expectWorksAndOthersClosed(r);
  });
});
