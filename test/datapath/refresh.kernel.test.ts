import { expect, it } from 'vitest';
import { LAB_ADDRESSES } from '../../src/lab/virtual-network.js';
import { createKernelTarget } from '../conformance/kernel-target.js';
import { labConfig, rule } from '../conformance/scenarios.js';
import { describeKernel } from '../harness/kernel-gate.js';

const udp = (port: number) => ({ protocol: 'udp', port }) as const;

// The refresh from conntrack is what keeps an entry open past its first packet; without it (the service is
// down) the kernel's own timeout closes the entry: closed is the safe failure.
describeKernel('entries without the refresh from conntrack', () => {
  it('close idleTimeout after the last new connection, though an established one keeps sending', async () => {
    const t = await createKernelTarget({ refresh: false });
    try {
      await t.apply(labConfig([rule({ name: 'game', idleTimeout: 3 })]));
      await t.trigger('lan1', 'wan1', { protocol: 'tcp', port: 6970 });
      const flow = await t.connect('wan1', udp(7000));
      expect(flow).not.toBeNull();
      for (let i = 0; i < 5; i++) {
        await t.wait(1000);
        // Established traffic still flows (onExpire: keep): only the entry is gone.
        expect(await flow!.send()).toBe('lan1');
      }
      expect((await t.table()).entries).toEqual([]);
      expect(await t.inbound('wan2', udp(7001))).toBeNull();
    } finally {
      await t.dispose();
    }
  }, 60_000);

  it('stay open with the refresh while the same connection keeps sending', async () => {
    const t = await createKernelTarget();
    try {
      await t.apply(labConfig([rule({ name: 'game', idleTimeout: 3 })]));
      await t.trigger('lan1', 'wan1', { protocol: 'tcp', port: 6970 });
      const flow = await t.connect('wan1', udp(7000));
      for (let i = 0; i < 5; i++) {
        await t.wait(1000);
        expect(await flow!.send()).toBe('lan1');
      }
      expect((await t.table()).entries.map((e) => e.holder)).toEqual([LAB_ADDRESSES.hosts.lan1.ipv4]);
      expect(await t.inbound('wan2', udp(7001))).toBe('lan1');
    } finally {
      await t.dispose();
    }
  }, 60_000);
});
