/**
 * Restores of the kernel datapath after another tool's change, without the service: an entry no read ever saw
 * comes back from its marked trigger connection, and a flushed set is repaired from the elements that survived
 * or, where none names the holder, emptied so that nothing forwards unseen.
 */

import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createConntrackRunner } from '../../src/adapters/conntrack.js';
import { runProgram } from '../../src/adapters/exec.js';
import { KernelDatapath } from '../../src/adapters/kernel-datapath.js';
import { createNftRunner } from '../../src/adapters/nft.js';
import type { Config, TriggerTable } from '../../src/domain/types.js';
import { createVirtualNetwork, LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { planConfig, sharedSetName } from '../../src/nft/plan.js';
import { rule } from '../factories.js';
import { describeKernel } from '../harness/kernel-gate.js';

const A = LAB_ADDRESSES;
const CONFIG: Config = {
  interfaces: { lan: ['br-lan'], wan: ['wan0'] },
  mode: 'standalone',
  enabled: true,
  ipv6: true,
  rules: [rule({ name: 'game', family: 'ipv4', trigger: [{ protocol: 'udp', ports: '5000' }] })],
};
const NOTHING: TriggerTable = { at: 0, entries: [], conflicts: [], blocked: [] };

describeKernel('restoring the kernel datapath after another tool', () => {
  let net: VirtualNetwork;
  let datapath: KernelDatapath;
  let n = 0;
  const token = () => `rst${process.pid}-${++n}`;

  async function reachesLan1(): Promise<boolean> {
    const t = token();
    await net.host('wan1').sendUdp({ to: A.router.wan.ipv4, port: 7000, token: t });
    return (await net.host('lan1').waitFor(t, 800)) !== null;
  }

  beforeAll(async () => {
    net = await createVirtualNetwork({ prefix: 'ptr', run: runProgram });
    await net.host('lan1').listen('udp', 7000);
    const where = { netns: net.namespaces.router };
    datapath = new KernelDatapath({ nft: createNftRunner(where), conntrack: createConntrackRunner(where) });
  }, 60_000);

  afterAll(async () => {
    await datapath?.close();
    await net?.destroy();
  });

  it('brings back an entry opened just before `nft flush ruleset` from its marked trigger connection', async () => {
    await datapath.apply(CONFIG);
    await net.host('lan1').sendUdp({ to: A.hosts.wan1.ipv4, port: 5000, token: token() });
    // The trigger passed the router (its connection is tracked, marked); then the ruleset goes at once.
    await vi.waitFor(
      async () => {
        const { stdout } = await net.exec('router', 'conntrack', ['-L', '-p', 'udp', '--dport', '5000']);
        expect(stdout).toMatch(/mark=150994944/);
      },
      { timeout: 3_000, interval: 20 },
    );
    await net.exec('router', 'nft', ['flush', 'ruleset']);
    expect((await datapath.read()).intact).toBe(false);
    expect(await reachesLan1()).toBe(false);
    // Nothing remembered: the service never read this entry.
    await datapath.apply(CONFIG, NOTHING);
    const read = await datapath.read();
    expect(read.intact).toBe(true);
    expect(read.table.entries.map((e) => [e.rule, e.holder])).toEqual([['game', A.hosts.lan1.ipv4]]);
    expect(await reachesLan1()).toBe(true);
  });

  it('repairs `nft flush set hold4`: the read reports it, the restore writes the entry whole again', async () => {
    // From here on a datapath without the refresh from conntrack: a refresh round that lands right after the
    // flush would write the entry back itself and hide what the repair does.
    await datapath.close();
    datapath = new KernelDatapath({ nft: createNftRunner({ netns: net.namespaces.router }) });
    await datapath.apply(CONFIG);
    await net.exec('router', 'nft', ['flush', 'set', 'inet', 'porttrigger', 'hold4']);
    const broken = await datapath.read();
    expect(broken.intact).toBe(false);
    expect(broken.problems).toEqual([expect.stringMatching(/rule "game".*hold4 missing/)]);
    // The DNAT target still forwards although no entry shows: the hidden forward the repair removes.
    expect(broken.table.entries).toEqual([]);
    await conntrackFlush();
    await datapath.apply(CONFIG, NOTHING);
    const read = await datapath.read();
    expect(read).toMatchObject({ intact: true });
    expect(read.table.entries.map((e) => e.holder)).toEqual([A.hosts.lan1.ipv4]);
    expect(await reachesLan1()).toBe(true);
  });

  it('deletes an orphan gate that names no holder and no connection vouches for', async () => {
    await net.exec('router', 'nft', ['flush', 'set', 'inet', 'porttrigger', 'hold4']);
    // The DNAT maps are split by rule number: the one of this rule.
    const target = sharedSetName('target', 'ipv4', planConfig(CONFIG).rules[0]!.id)!;
    await net.exec('router', 'nft', ['flush', 'map', 'inet', 'porttrigger', target]);
    await conntrackFlush();
    expect((await datapath.read()).intact).toBe(false);
    await datapath.apply(CONFIG, NOTHING);
    const read = await datapath.read();
    expect(read).toMatchObject({ intact: true, table: { entries: [] } });
    const { stdout } = await net.exec('router', 'nft', ['-j', 'list', 'set', 'inet', 'porttrigger', 'held4']);
    expect(stdout).not.toContain('"elem"');
    expect(await reachesLan1()).toBe(false);
  });

  it('finds a flushed dispatch map, which leaves sets and chains looking intact, and applies it again', async () => {
    await net.exec('router', 'nft', ['flush', 'map', 'inet', 'porttrigger', 'dnat4_udp']);
    const broken = await datapath.read();
    expect(broken.intact).toBe(false);
    expect(broken.problems).toEqual(['dispatch map dnat4_udp: 0 of 1 elements']);
    await datapath.apply(CONFIG, NOTHING);
    expect(await datapath.read()).toMatchObject({ intact: true });
  });

  /** Forgets the tracked connections, so that a restore has only the kernel's sets to go on. */
  async function conntrackFlush(): Promise<void> {
    await net.exec('router', 'conntrack', ['-F']).catch(() => undefined);
  }
});
