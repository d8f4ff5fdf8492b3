/**
 * The service observes the kernel by its signals, not by polling: in a virtual network, with the slow
 * reconciliation set to a minute, real packets open, conflict and expire entries and the events arrive anyway;
 * another tool's flushes are repaired within 2 s and never leave a forward the trigger table does not show.
 */

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/adapters/logger.js';
import type { TriggerEntry } from '../../src/domain/types.js';
import { LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { startKernelService } from '../../src/main/start-service.js';
import { findInconsistencies } from '../../src/nft/consistency.js';
import { planConfig, SHARED_SET_NAMES } from '../../src/nft/plan.js';
import { parseKernelState } from '../../src/nft/state.js';
import type { PublishedEvent } from '../../src/service/events.js';
import type { Service } from '../../src/service/service.js';
import { portRule } from '../factories.js';
import { createGateway, type Gateway } from '../harness/gateway.js';
import { describeKernel } from '../harness/kernel-gate.js';

const A = LAB_ADDRESSES;
const LAN1 = A.hosts.lan1.ipv4;
const LAN2 = A.hosts.lan2.ipv4;
const WAN1 = A.hosts.wan1.ipv4;
const GATEWAY = A.router.wan.ipv4;
/** Longer than any test waits: a test that passes did not need the safety net. */
const RECONCILE_MS = 60_000;
/**
 * The goal is 2 s (bench measures it); tests run beside other suites on a loaded machine, so they only check
 * that the repair came from the signal: well before the reconciliation.
 */
const RESTORE_BOUND_MS = 6_000;

describeKernel('the service observes the kernel by its signals', () => {
  let gw: Gateway;
  let net: VirtualNetwork;
  let service: Service | undefined;
  const events: (PublishedEvent & { seenAt: number })[] = [];
  const logs: string[] = [];
  let tokens = 0;
  const token = () => `obs${process.pid}-${++tokens}`;

  async function start(
    extra: { reconcileIntervalMs?: number; conntrackBinary?: string } = {},
  ): Promise<Service> {
    service = await startKernelService({
      configPath: gw.configPath,
      // Warnings are kept: a failing assertion shows what the service said (restores, broken streams).
      logger: createLogger({ level: 'warn', sink: { write: (line: string) => void logs.push(line.trim()) } }),
      netns: net.namespaces.router,
      reconcileIntervalMs: RECONCILE_MS,
      ...extra,
    });
    service.subscribe((e) => events.push({ ...e, seenAt: Date.now() }));
    return service;
  }

  function nft(...args: string[]) {
    return net.exec('router', 'nft', args);
  }

  /** Sends one datagram from wan1 to the gateway; the LAN host it reached, or undefined. */
  async function inbound(port: number): Promise<'lan1' | 'lan2' | undefined> {
    const t = token();
    await net.host('wan1').sendUdp({ to: GATEWAY, port, token: t });
    const [one, two] = await Promise.all([
      net.host('lan1').waitFor(t, 800),
      net.host('lan2').waitFor(t, 800),
    ]);
    return one ? 'lan1' : two ? 'lan2' : undefined;
  }

  async function trigger(host: 'lan1' | 'lan2', port: number): Promise<number> {
    const sentAt = Date.now();
    await net.host(host).sendUdp({ to: WAN1, port, token: token() });
    return sentAt;
  }

  function entriesOf(rule: string): Promise<TriggerEntry[]> {
    return service!.table().then((t) => t.entries.filter((e) => e.rule === rule));
  }

  /** What is broken in our sets, read by the test itself. */
  async function inconsistencies(): Promise<string[]> {
    const { stdout } = await nft('-j', 'list', 'table', 'inet', 'porttrigger');
    const doc = JSON.parse(stdout);
    return findInconsistencies(
      planConfig(service!.config),
      parseKernelState({ sets: doc, maps: doc, chains: doc }),
    );
  }

  beforeAll(async () => {
    gw = await createGateway({
      prefix: 'pto',
      api: false,
      maxEvents: 10_000,
      rules: [
        portRule('game', 'udp 5000', 'udp 7000', { idleTimeout: 60 }),
        portRule('call', 'tcp 6000', 'udp 7100', { idleTimeout: 60, remote: 'contacted' }),
        portRule('short', 'udp 5200', 'udp 7200', { idleTimeout: 3 }),
        portRule('voice', 'udp 5300', 'udp 7300', { idleTimeout: 60, remote: 'contacted' }),
      ],
      listen: [7000, 7100, 7200, 7300].flatMap((p) => [
        ['lan1', 'udp', p] as const,
        ['lan2', 'udp', p] as const,
      ]),
    });
    net = gw.net;
    gw.onCleanup(() => service?.stop());
    await start();
  }, 60_000);

  afterAll(() => gw?.cleanup());

  it('a trigger brings `opened` on the event stream without any poll, long before the reconciliation', async () => {
    expect(service!.health().datapath.signals).toMatchObject({ connections: 'running', ruleset: 'running' });
    const sentAt = await trigger('lan1', 5000);
    const opened = await vi.waitFor(
      () => {
        const e = events.find((x) => x.type === 'opened' && x.rule === 'game');
        if (!e) throw new Error('no opened event yet');
        return e;
      },
      { timeout: 10_000, interval: 10 },
    );
    expect(opened).toMatchObject({ host: LAN1, family: 'ipv4' });
    // The reconciliation runs a minute after start at the earliest: this came from the signal.
    expect(opened.seenAt - sentAt).toBeLessThan(RECONCILE_MS / 2);
    expect(service!.metricsText()).toMatch(/^porttrigger_signals_total [1-9]\d*$/m);
    expect(await inbound(7000)).toBe('lan1');
  });

  it('a conflict names the holder at the time of the conflict, though the holder changes right after', async () => {
    const t0 = await trigger('lan1', 5200);
    await vi.waitFor(() => expect(events.some((e) => e.type === 'opened' && e.rule === 'short')).toBe(true), {
      timeout: 5_000,
    });
    // lan2 triggers while lan1 still holds (the entry lasts 3 s from t0): a conflict.
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(t0 + 1_000), { timeout: 2_000 });
    await trigger('lan2', 5200);
    const conflict = await vi.waitFor(
      () => {
        const e = events.find((x) => x.type === 'conflict' && x.rule === 'short');
        if (!e) throw new Error('no conflict event yet');
        return e;
      },
      { timeout: 5_000, interval: 10 },
    );
    // Then lan1's entry expires and lan2 takes it, long before any reconciliation.
    await vi.waitFor(
      async () => {
        await trigger('lan2', 5200);
        expect((await entriesOf('short')).map((e) => e.holder)).toEqual([LAN2]);
      },
      { timeout: 10_000, interval: 300 },
    );
    expect(conflict).toMatchObject({ contender: LAN2, holder: LAN1 });
    expect(events.filter((e) => e.type === 'conflict' && e.rule === 'short')).toHaveLength(1);
  });

  it('closes an entry at its expiry (the expired event) with the reconciliation a minute away', async () => {
    const closed = await vi.waitFor(
      () => {
        const e = events.find((x) => x.type === 'closed' && x.rule === 'short' && x.host === LAN2);
        if (!e) throw new Error('no closed event yet');
        return e;
      },
      { timeout: 15_000, interval: 50 },
    );
    expect(closed).toMatchObject({ reason: 'expired' });
    expect(await inbound(7200)).toBeUndefined();
  });

  it('trigger, then at once `nft flush ruleset`: the entry is back and inbound reaches its holder', async () => {
    const before = events.length;
    await trigger('lan1', 5300);
    // As soon as the trigger has passed the router (its connection is tracked), the ruleset goes.
    await vi.waitFor(
      async () => {
        const { stdout } = await net.exec('router', 'conntrack', ['-L', '-p', 'udp', '--dport', '5300']);
        expect(stdout).toContain(`src=${LAN1}`);
      },
      { timeout: 3_000, interval: 5 },
    );
    await nft('flush', 'ruleset');
    const flushedAt = Date.now();
    await vi.waitFor(
      async () => {
        expect((await entriesOf('voice')).map((e) => [e.holder, e.remote])).toEqual([[LAN1, WAN1]]);
        expect(await inconsistencies()).toEqual([]);
      },
      { timeout: RESTORE_BOUND_MS, interval: 50 },
    );
    expect(Date.now() - flushedAt).toBeLessThan(RESTORE_BOUND_MS);
    // The game entry, seen before the flush, is back too.
    expect((await entriesOf('game')).map((e) => e.holder)).toEqual([LAN1]);
    const t = token();
    await net.host('wan1').sendUdp({ to: GATEWAY, port: 7300, token: t });
    expect(await net.host('lan1').waitFor(t, 1_000)).not.toBeNull();
    expect(await inbound(7000)).toBe('lan1');
    // Nothing closed: the entries were restored, not reopened.
    expect(events.slice(before).filter((e) => e.type === 'closed')).toEqual([]);
  });

  describe('`nft flush set` of each of our sets', () => {
    for (const name of SHARED_SET_NAMES) {
      it(`${name}: consistent again within 2 s, never a hidden forward`, async () => {
        // Both kinds of entry are open before the flush.
        await trigger('lan1', 5000);
        await net.host('lan1').connectTcp({ to: WAN1, port: 6000, timeoutMs: 300 });
        await vi.waitFor(
          async () => {
            expect((await entriesOf('game')).length).toBe(1);
            expect((await entriesOf('call')).length).toBe(1);
          },
          { timeout: 5_000, interval: 50 },
        );
        const kind = /target/.test(name) ? 'map' : 'set';
        await nft('flush', kind, 'inet', 'porttrigger', name);
        const flushedAt = Date.now();
        await vi.waitFor(async () => expect(await inconsistencies(), logs.slice(-5).join('\n')).toEqual([]), {
          timeout: RESTORE_BOUND_MS,
          interval: 50,
        });
        expect(Date.now() - flushedAt).toBeLessThan(RESTORE_BOUND_MS);
        // What forwards is what the table shows.
        const game = await entriesOf('game');
        expect(await inbound(7000)).toBe(game.length > 0 ? 'lan1' : undefined);
        const call = await entriesOf('call');
        const t = token();
        await net.host('wan1').sendUdp({ to: GATEWAY, port: 7100, token: t });
        expect((await net.host('lan1').waitFor(t, 800)) !== null).toBe(call.length > 0);
      }, 30_000);
    }
  });

  it('without conntrack the service still works on its reconciliation, and says so in /health', async () => {
    await service!.stop();
    await start({ reconcileIntervalMs: 2_000, conntrackBinary: '/nonexistent/conntrack' });
    const health = service!.health();
    expect(health.datapath.signals).toMatchObject({ connections: 'unavailable', ruleset: 'running' });
    expect(health.datapath.signals?.detail).toMatch(/conntrack is not installed/);
    const before = events.length;
    await trigger('lan2', 5000);
    await vi.waitFor(
      () =>
        expect(
          events
            .slice(before)
            .some((e) => e.type === 'conflict' || (e.type === 'opened' && e.rule === 'game')),
        ).toBe(true),
      { timeout: 8_000, interval: 50 },
    );
  }, 30_000);
});
