/**
 * A clock step while entries are open, as NTP makes on a board without a real-time clock: the wall clock jumps
 * an hour ahead, then two hours back. The kernel's timeouts do not follow the wall clock, and the service (with
 * the production wiring: conntrack signals, SQLite history) must not either: no entry closes or opens because
 * of the step, the time left of each entry moves only with real time, and the history keeps every event
 * readable in the order they happened, also those stamped before the step back.
 *
 * The step is injected as the service's clock (Date.now plus an offset), which is what the process sees of a
 * real `date -s`; the machine's own clock is never touched, so the test cannot disturb anything else here.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { silentLogger } from '../../src/adapters/logger.js';
import { createVirtualNetwork, LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { startKernelService } from '../../src/main/start-service.js';
import type { Service } from '../../src/service/service.js';
import { describeKernel } from '../harness/kernel-gate.js';

const A = LAB_ADDRESSES;
const HOUR = 3_600_000;

describeKernel('a clock step of ±1 h while entries are open', () => {
  let net: VirtualNetwork;
  let dir: string;
  let service: Service;
  let offset = 0;
  const clock = () => Date.now() + offset;

  beforeAll(async () => {
    net = await createVirtualNetwork({ prefix: 'ptclk', run: runProgram });
    dir = await mkdtemp(join(tmpdir(), 'pt-clock-'));
    const configPath = join(dir, 'config.yaml');
    await writeFile(
      configPath,
      `interfaces: { lan: [br-lan], wan: [wan0] }
mode: standalone
rules:
  - name: game
    trigger: [{ protocol: udp, ports: "5000" }]
    open: [{ protocol: tcp, ports: "4000" }]
    idleTimeout: 120
    family: ipv4
  - name: voice
    trigger: [{ protocol: udp, ports: "5060" }]
    open: [{ protocol: udp, ports: "16384" }]
    idleTimeout: 120
    family: ipv4
api: { listen: 127.0.0.1:0, tokenFile: ${join(dir, 'token')} }
events: { database: ${join(dir, 'events.db')} }
`,
    );
    service = await startKernelService({
      configPath,
      logger: silentLogger,
      netns: net.namespaces.router,
      clock,
    });
    await net.host('wan1').listen('udp', 5000);
    await net.host('wan1').listen('udp', 5060);
    await net.host('lan1').listen('tcp', 4000);
  });
  afterAll(async () => {
    await service?.stop();
    await net?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const trigger = async (from: 'lan1' | 'lan2', port: number) => {
    const t = `clock-${process.pid}-${from}-${port}`;
    await net.host(from).sendUdp({ to: A.hosts.wan1.ipv4, port, token: t });
    expect(await net.host('wan1').waitFor(t, 5_000)).not.toBeNull();
  };
  const entryOf = async (rule: string) => (await service.readNow()).entries.find((e) => e.rule === rule);
  const events = () => service.queryEvents({ order: 'asc' }).events;

  it('changes no expiry, opens and closes nothing, and keeps the history readable', async () => {
    await trigger('lan1', 5000);
    await expect.poll(() => entryOf('game'), { timeout: 10_000 }).toBeDefined();
    const before = (await entryOf('game'))!;
    const left0 = before.expiresAt - clock();
    const at0 = performance.now();

    // NTP steps the clock an hour ahead.
    offset = HOUR;
    const ahead = await entryOf('game');
    expect(ahead, 'the entry is still open after the step ahead').toBeDefined();
    const left1 = ahead!.expiresAt - clock();
    // The time left moved with real time only (a second of slack for the reads in between).
    expect(Math.abs(left1 - (left0 - (performance.now() - at0)))).toBeLessThan(1_500);
    expect(ahead!.expiresAt - before.expiresAt).toBeGreaterThan(HOUR - 2_000);

    // And two hours back: an hour before the trigger, by the wall clock.
    offset = -HOUR;
    const back = await entryOf('game');
    expect(back, 'the entry is still open after the step back').toBeDefined();
    const left2 = back!.expiresAt - clock();
    expect(Math.abs(left2 - (left0 - (performance.now() - at0)))).toBeLessThan(1_500);
    expect(back!.holder).toBe(A.hosts.lan1.ipv4);

    // A new entry after the step back is stamped an hour before the first one.
    await trigger('lan2', 5060);
    await expect.poll(() => entryOf('voice'), { timeout: 10_000 }).toBeDefined();
    await expect.poll(() => events().length, { timeout: 5_000 }).toBe(2);
    const [first, second] = events();
    expect(first).toMatchObject({ type: 'opened', rule: 'game', host: A.hosts.lan1.ipv4 });
    expect(second).toMatchObject({ type: 'opened', rule: 'voice', host: A.hosts.lan2.ipv4 });
    expect(second!.at).toBeLessThan(first!.at);
    // Newest first (the history's order) is the order they happened, whatever the clock said.
    expect(service.queryEvents({}).events.map((e) => ('rule' in e ? e.rule : e.type))).toEqual([
      'voice',
      'game',
    ]);
    // Nothing closed: neither step looked like an expiry to the service.
    expect(events().filter((e) => e.type === 'closed')).toEqual([]);
    const entries = (await service.readNow()).entries.map((e) => e.rule).sort();
    expect(entries).toEqual(['game', 'voice']);
  });
});
