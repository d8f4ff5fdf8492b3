import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { watchConntrack } from '../../src/adapters/conntrack-events.js';
import { runProgram } from '../../src/adapters/exec.js';
import { watchLines } from '../../src/adapters/line-watch.js';
import type { ConntrackEvent } from '../../src/nft/conntrack-state.js';
import { describeKernel } from '../harness/kernel-gate.js';

/** Longer than the watch's longest backoff (40 ms) several times over. */
const NO_RESTART_WINDOW_MS = 200;

const netns = `ptce-${process.pid}`;
const inNs = (program: string, args: string[], input?: string) =>
  runProgram(program, args, { netns, ...(input !== undefined ? { input } : {}) });

// Local UDP on loopback is tracked like forwarded traffic; the output NAT hook marks it as our chains do.
const MARKING = `table inet ptce {
  chain out {
    type nat hook output priority -100;
    udp dport { 9997, 9999 } ct mark set ct mark | 0x08000000
    udp dport 9998 ct mark set ct mark | 0x01000000
  }
}
`;

async function sendUdp(port: number): Promise<void> {
  await inNs('python3', [
    '-c',
    'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x", ("127.0.0.1", int(sys.argv[1])))',
    String(port),
  ]);
}

describeKernel('conntrack event stream', () => {
  beforeAll(async () => {
    await runProgram('ip', ['netns', 'add', netns]);
    await inNs('ip', ['link', 'set', 'lo', 'up']);
    await inNs('nft', ['-f', '-'], MARKING);
  });
  afterAll(() => runProgram('ip', ['netns', 'del', netns]).catch(() => undefined));

  it('hears new connections with the mark it filters on, as they happen, and none of the others', async () => {
    const events: ConntrackEvent[] = [];
    let started = false;
    const watch = watchConntrack({
      netns,
      filter: { types: ['new', 'destroy'], mark: { value: 0x0800_0000, mask: 0x0f00_0000 } },
      onEvent: (e) => events.push(e),
      onStart: () => {
        started = true;
      },
    });
    try {
      await expect.poll(() => started).toBe(true);
      // The process subscribes shortly after it starts: send until the first marked event arrives.
      await expect
        .poll(
          async () => {
            await sendUdp(9999);
            return events.length;
          },
          { timeout: 5_000, interval: 200 },
        )
        .toBeGreaterThan(0);
      const sentAt = Date.now();
      await sendUdp(9998);
      await sendUdp(9997);
      await expect.poll(() => events.some((e) => e.connection.original.dport === 9997)).toBe(true);
      const last = events.find((e) => e.connection.original.dport === 9997)!;
      expect(last.type).toBe('new');
      expect(last.connection.mark & 0x0f00_0000).toBe(0x0800_0000);
      expect(Math.abs(last.at - sentAt)).toBeLessThan(5_000);
      expect(events.some((e) => e.connection.original.dport === 9998)).toBe(false);

      await inNs('conntrack', ['-D', '-p', 'udp', '--dport', '9999']);
      await expect.poll(() => events.some((e) => e.type === 'destroy')).toBe(true);
    } finally {
      await watch.close();
    }
    expect(watch.running).toBe(false);
  });

  it('reports a program that ends and starts it again', async () => {
    const errors: Error[] = [];
    let starts = 0;
    const lines: string[] = [];
    const watch = watchLines({
      program: 'sh',
      args: ['-c', 'echo line; exit 3'],
      onLine: (l) => lines.push(l),
      onError: (e) => errors.push(e),
      onStart: () => starts++,
      minBackoffMs: 20,
      maxBackoffMs: 40,
    });
    try {
      await expect.poll(() => starts).toBeGreaterThanOrEqual(2);
      expect(errors[0]?.message).toMatch(/sh exited with 3/);
      expect(lines.filter((l) => l === 'line').length).toBeGreaterThanOrEqual(1);
    } finally {
      await watch.close();
    }
    const after = starts;
    // Nothing to wait for here: this is how long a restart that close failed to cancel would take to show.
    await delay(NO_RESTART_WINDOW_MS);
    expect(starts).toBe(after);
  });
});
