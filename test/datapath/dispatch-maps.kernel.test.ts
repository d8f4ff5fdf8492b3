/**
 * Dispatch maps by key kind (docs/architecture.md): one-port elements in hash maps, ranges in interval maps.
 * Real packets through a rule that has both, and through changes that add the first range to a table of
 * single ports and take it away again: the base chains then look up one more or one less map.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { KernelDatapath } from '../../src/adapters/kernel-datapath.js';
import { createNftRunner } from '../../src/adapters/nft.js';
import type { Config, Rule } from '../../src/domain/types.js';
import { createVirtualNetwork, LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { planConfig } from '../../src/nft/plan.js';
import { NO_TABLE, renderApplyScript } from '../../src/nft/render.js';
import { config as configOf, rule } from '../factories.js';
import { describeKernel } from '../harness/kernel-gate.js';

const A = LAB_ADDRESSES;
type LanHost = 'lan1' | 'lan2';
// How long "not delivered" is waited for: packets take microseconds, a loaded machine reports them late.
const SILENCE_MS = 1500;

const udpRule = (name: string, trigger: string, open: string): Rule =>
  rule({
    name,
    family: 'ipv4',
    trigger: [{ protocol: 'udp', ports: trigger }],
    open: [{ protocol: 'udp', ports: open }],
    idleTimeout: 600,
  });

const game = udpRule('game', '5000', '7000');
const span = udpRule('span', '6000-6010', '7100-7110');
const mixed = udpRule('mixed', '5200,6200-6210', '7200,7300-7310');

describeKernel('dispatch maps of ports and of ranges', () => {
  let net: VirtualNetwork;
  let tokens = 0;
  const listening = new Set<string>();

  beforeAll(async () => {
    net = await createVirtualNetwork({ prefix: 'pthm', run: runProgram });
  });
  afterAll(() => net?.destroy());

  const datapath = () => new KernelDatapath({ nft: createNftRunner({ netns: net.namespaces.router }) });
  const listen = async (node: LanHost | 'wan1', port: number) => {
    if (listening.has(`${node}/${port}`)) return;
    await net.host(node).listen('udp', port);
    listening.add(`${node}/${port}`);
  };

  /** A trigger datagram from `from` to wan1, once it has left the gateway. */
  async function trigger(from: LanHost, port: number): Promise<void> {
    await listen('wan1', port);
    const token = `hm${process.pid}-${++tokens}`;
    await net.host(from).sendUdp({ to: A.hosts.wan1.ipv4, port, token });
    if (!(await net.host('wan1').waitFor(token, 5000)))
      throw new Error(`trigger ${port} never left the gateway`);
  }

  /** A new inbound datagram from wan1 to the gateway: the LAN host that got it, or null. */
  async function inbound(port: number): Promise<LanHost | null> {
    await Promise.all([listen('lan1', port), listen('lan2', port)]);
    const token = `hm${process.pid}-${++tokens}`;
    await net.host('wan1').sendUdp({ to: A.router.wan.ipv4, port, token });
    const got = await Promise.all(
      (['lan1', 'lan2'] as const).map(async (h) =>
        (await net.host(h).waitFor(token, SILENCE_MS))?.token === token ? h : null,
      ),
    );
    return got.find((h) => h !== null) ?? null;
  }

  const maps = async () =>
    (await net.exec('router', 'nft', ['list', 'maps', 'inet'])).stdout.match(/map \S+/g)?.sort() ?? [];

  it('triggers a rule of a single port and a range through each, and opens both', async () => {
    const dp = datapath();
    const config: Config = configOf([mixed], { mode: 'standalone', ipv6: false });
    await dp.apply(config);
    expect(await maps()).toContain('map trigger4_udp_ranges');
    await trigger('lan1', 5200);
    expect(await inbound(7200)).toBe('lan1');
    expect(await inbound(7305)).toBe('lan1');
    expect(await dp.release({ rule: 'mixed' })).toBeGreaterThan(0);
    expect(await inbound(7200)).toBeNull();
    await trigger('lan2', 6205);
    expect(await inbound(7310)).toBe('lan2');
    expect(await inbound(7200)).toBe('lan2');
    expect(await inbound(7311)).toBeNull();
    await dp.remove();
  });

  /** A datagram from wan1's port `sport` to the gateway's `port`: the LAN host that got it, or null. */
  async function inboundFrom(sport: number, port: number): Promise<LanHost | null> {
    await Promise.all([listen('lan1', port), listen('lan2', port), listen('wan1', sport)]);
    const token = `hm${process.pid}-${++tokens}`;
    await net.host('wan1').sendUdp({ to: A.router.wan.ipv4, port, sport, token });
    const got = await Promise.all(
      (['lan1', 'lan2'] as const).map(async (h) =>
        (await net.host(h).waitFor(token, SILENCE_MS))?.token === token ? h : null,
      ),
    );
    return got.find((h) => h !== null) ?? null;
  }

  it('closes the connections of an onExpire close rule through its port map and its range map', async () => {
    const dp = datapath();
    const closer: Rule = { ...mixed, name: 'closer', onExpire: 'close', idleTimeout: 10 };
    await dp.apply(configOf([closer], { mode: 'standalone', ipv6: false }));
    await trigger('lan1', 5200);
    const flows = [
      [41_200, 7200],
      [41_305, 7305],
    ] as const;
    for (const [sport, port] of flows) {
      expect(await inboundFrom(sport, port)).toBe('lan1');
      // The same connection again while the entry is held: its close chain returns it to the forward chain.
      expect(await inboundFrom(sport, port)).toBe('lan1');
    }
    // Nothing refreshes the entry without the service: it expires idleTimeout after the trigger.
    await expect.poll(() => inboundFrom(41_200, 7200), { timeout: 30_000, interval: 500 }).toBeNull();
    for (const [sport, port] of flows) expect(await inboundFrom(sport, port)).toBeNull();
    await dp.remove();
  });

  it('adds the first range rule to a table of single ports and deletes it again, entries of others kept', async () => {
    const dp = datapath();
    const singles = configOf([game], { mode: 'standalone', ipv6: false });
    const withSpan = { ...singles, rules: [game, span] };
    await dp.apply(singles);
    expect(await maps()).not.toContain('map trigger4_udp_ranges');
    await trigger('lan1', 5000);
    expect(await inbound(7000)).toBe('lan1');

    // The base chains gain a lookup of the range maps: a full apply, not a delta.
    await dp.apply(withSpan, undefined, { change: true });
    expect(dp.lastApply).toBe('full');
    expect(await maps()).toContain('map trigger4_udp_ranges');
    expect(await inbound(7000)).toBe('lan1');
    await trigger('lan2', 6003);
    expect(await inbound(7100)).toBe('lan2');
    expect(await inbound(7110)).toBe('lan2');

    // With ranges in the table, a mixed rule is a delta: its elements go into the maps of their kind.
    await dp.apply({ ...withSpan, rules: [game, span, mixed] }, undefined, { change: true });
    expect(dp.lastApply).toBe('change');
    await trigger('lan2', 6210);
    expect(await inbound(7300)).toBe('lan2');
    expect(await inbound(7200)).toBe('lan2');
    await dp.apply(withSpan, undefined, { change: true });
    expect(dp.lastApply).toBe('change');
    expect(await inbound(7200)).toBeNull();

    // The last range gone: the lookups of the range maps go with it.
    await dp.apply(singles, undefined, { change: true });
    expect(dp.lastApply).toBe('full');
    expect(await maps()).not.toContain('map trigger4_udp_ranges');
    expect(await inbound(7100)).toBeNull();
    expect(await inbound(7000)).toBe('lan1');
    expect((await dp.read()).intact).toBe(true);
    await dp.remove();
  });

  it('replaces a table of the one-interval-map shape on the first apply', async () => {
    const singles = configOf([game], { mode: 'standalone', ipv6: false });
    // Earlier versions declared these same maps with interval flags; with single ports alone, that is all.
    const old = renderApplyScript(planConfig(singles), NO_TABLE).replaceAll(
      'type inet_service : verdict;\n',
      'type inet_service : verdict; flags interval;\n',
    );
    await net.exec('router', 'nft', ['-f', '-'], { input: old });
    const listed = async () =>
      (await net.exec('router', 'nft', ['list', 'map', 'inet', 'porttrigger', 'trigger4_udp'])).stdout;
    expect(await listed()).toContain('flags interval');
    const dp = datapath();
    await dp.apply({ ...singles, rules: [game, mixed] });
    expect(await listed()).not.toContain('flags interval');
    await trigger('lan1', 5000);
    expect(await inbound(7000)).toBe('lan1');
    await trigger('lan2', 6201);
    expect(await inbound(7301)).toBe('lan2');
    expect((await dp.read()).intact).toBe(true);
    await dp.remove();
  });
});
