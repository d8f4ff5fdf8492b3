/** The doctor's WAN checks on a router namespace whose uplink has a carrier-grade NAT or private address. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { validateConfig } from '../../src/domain/config.js';
import type { Config } from '../../src/domain/types.js';
import { createVirtualNetwork, LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { doctorOnThisMachine } from '../../src/main/doctor-wiring.js';
import { describeKernel } from '../harness/kernel-gate.js';

const WAN = LAB_ADDRESSES.router.wan;

function config(listen: string): Config {
  const r = validateConfig({
    interfaces: { lan: [LAB_ADDRESSES.router.lan.interface], wan: [WAN.interface] },
    api: { listen, tokenFile: '/nonexistent/token' },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

describeKernel('porttrigger doctor on the WAN side', () => {
  let net: VirtualNetwork;
  const ip = (args: string[]) => runProgram('ip', args, { netns: net.namespaces.router });
  const check = async (id: string, listen = '127.0.0.1:8080') =>
    (await doctorOnThisMachine({ netns: net.namespaces.router, config: config(listen) })).find(
      (c) => c.id === id,
    );

  beforeAll(async () => {
    net = await createVirtualNetwork({ prefix: 'ptwan', run: runProgram });
  });
  afterAll(async () => {
    await net?.destroy();
  });

  it('finds a public WAN address reachable, and one in 100.64.0.0/10 behind carrier-grade NAT', async () => {
    expect(await check('wan-address')).toMatchObject({
      status: 'ok',
      detail: expect.stringContaining(WAN.ipv4),
    });
    await ip(['addr', 'del', `${WAN.ipv4}/${WAN.ipv4Prefix}`, 'dev', WAN.interface]);
    await ip(['addr', 'add', '100.64.12.7/10', 'dev', WAN.interface]);
    try {
      const cgnat = await check('wan-address');
      expect(cgnat).toMatchObject({ status: 'warn' });
      expect(cgnat?.detail).toContain('100.64.12.7 on wan0');
      expect(cgnat?.detail).toContain('port triggering cannot help');
      // The lab's uplink also has a global IPv6 address: IPv6 pinholes are the way out.
      expect(cgnat?.hint).toMatch(/IPv6 works/);
    } finally {
      await ip(['addr', 'del', '100.64.12.7/10', 'dev', WAN.interface]);
      await ip(['addr', 'add', `${WAN.ipv4}/${WAN.ipv4Prefix}`, 'dev', WAN.interface]);
    }
  });

  it('warns when the API would listen on every address or on the WAN address', async () => {
    expect(await check('api-listen', '127.0.0.1:8080')).toMatchObject({ status: 'ok' });
    expect(await check('api-listen', `${LAB_ADDRESSES.router.lan.ipv4}:8080`)).toMatchObject({
      status: 'ok',
    });
    expect(await check('api-listen', ':8080')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('every address'),
    });
    expect(await check('api-listen', `${WAN.ipv4}:8080`)).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('WAN interface wan0'),
    });
  });
});
