import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { KernelDatapath } from '../../src/adapters/kernel-datapath.js';
import type { NftRunner } from '../../src/adapters/nft.js';
import { createNftRunner, NftError } from '../../src/adapters/nft.js';
import { PorttriggerError } from '../../src/domain/errors.js';
import { planConfig, sharedSetName } from '../../src/nft/plan.js';
import { labConfig, rule } from '../conformance/scenarios.js';
import { describeKernel } from '../harness/kernel-gate.js';

const netns = `ptd-${process.pid}`;
const nft = (args: string[], input?: string) =>
  runProgram('nft', args, { netns, ...(input !== undefined ? { input } : {}) }).then((r) => r.stdout);
const config = labConfig([rule({ name: 'game', idleTimeout: 300 })], { mode: 'companion' });

describeKernel('kernel datapath adapter', () => {
  beforeAll(() => runProgram('ip', ['netns', 'add', netns]));
  afterAll(() => runProgram('ip', ['netns', 'del', netns]).catch(() => undefined));

  // From 0 elements on, every read lists the sets read-back needs one by one (the way of a large table).
  it.each([
    ['one listing of every set', undefined],
    ['a listing per set', 0],
  ])(
    'notices a deleted or flushed table, and restores remembered entries with their remaining time (%s)',
    async (_, perSetReadFrom) => {
      const dp = new KernelDatapath({
        nft: createNftRunner({ netns }),
        ...(perSetReadFrom !== undefined ? { perSetReadFrom } : {}),
      });
      await dp.apply(config);
      expect((await dp.read()).intact).toBe(true);
      const id = planConfig(config).rules[0]!.id;
      const add = (set: string, element: string) =>
        nft(['add', 'element', 'inet', 'porttrigger', set, `{ ${element} }`]);
      await add(sharedSetName('target', 'ipv4', id)!, `${id} timeout 300s expires 100s : 192.168.1.10`);
      await add('hold4', `${id} . 192.168.1.10 timeout 300s expires 100s`);
      await add('held4', `${id} timeout 300s expires 100s`);
      const { table: remembered } = await dp.read();
      expect(remembered.entries.map((e) => e.holder)).toEqual(['192.168.1.10']);

      await nft(['flush', 'set', 'inet', 'porttrigger', 'hold4']);
      expect((await dp.read()).table.entries).toEqual([]);
      await add('hold4', `${id} . 192.168.1.10 timeout 300s expires 100s`);
      expect((await dp.read()).table.entries.map((e) => e.holder)).toEqual(['192.168.1.10']);

      await nft(['flush', 'table', 'inet', 'porttrigger']);
      expect((await dp.read()).intact).toBe(false);
      await nft(['delete', 'table', 'inet', 'porttrigger']);
      expect((await dp.read()).intact).toBe(false);

      await dp.apply(config, remembered);
      expect((await dp.read()).intact).toBe(true);
      const [entry] = (await dp.read()).table.entries;
      expect(entry?.holder).toBe('192.168.1.10');
      expect(entry!.expiresAt - Date.now()).toBeGreaterThan(90_000);
      expect(entry!.expiresAt - Date.now()).toBeLessThanOrEqual(100_000);
      await dp.remove();
    },
  );

  it('reports a failing listing as a failure, not as a table that is gone', async () => {
    const real = createNftRunner({ netns });
    // The real runner, except that once the table is applied every listing fails as a timed-out nft would.
    let failing = false;
    const failingList: NftRunner = {
      ...real,
      listJson: (args) =>
        failing
          ? Promise.reject(new NftError('NFT_TIMEOUT', 'nft did not finish the listing: timed out'))
          : real.listJson(args),
    };
    const dp = new KernelDatapath({ nft: failingList });
    await dp.apply(config);
    failing = true;
    await expect(dp.read()).rejects.toMatchObject({ code: 'NFT_TIMEOUT' });
    await expect(dp.read('entries')).rejects.toMatchObject({ code: 'NFT_TIMEOUT' });
    failing = false;
    await dp.remove();
  });

  it('reports a failing listing of one set as a failure while that set is there', async () => {
    const real = createNftRunner({ netns });
    const failingSet: NftRunner = {
      ...real,
      listJson: (args) =>
        args.includes('hold4')
          ? Promise.reject(new NftError('NFT_TIMEOUT', 'nft did not finish the listing: timed out'))
          : real.listJson(args),
    };
    const dp = new KernelDatapath({ nft: failingSet, perSetReadFrom: 0 });
    await dp.apply(config);
    // Set by set is how a signal's read lists a large table; a full read is one listing of the table.
    await expect(dp.read('entries')).rejects.toMatchObject({ code: 'NFT_TIMEOUT' });
    await dp.remove();
  });

  it('leaves the running ruleset untouched when nft refuses a script', async () => {
    const real = createNftRunner({ netns });
    const dp = new KernelDatapath({ nft: real });
    await dp.apply(config);
    const before = await nft(['list', 'ruleset']);
    // The same runner, but every script it applies ends in a line nft refuses.
    const broken: NftRunner = {
      ...real,
      check: (script) => real.check(`${script}add rule inet porttrigger nosuchchain accept\n`),
      apply: (script) => real.apply(`${script}add rule inet porttrigger nosuchchain accept\n`),
    };
    const failing = new KernelDatapath({ nft: broken });
    const error = await failing.apply(labConfig([rule({ name: 'other', idleTimeout: 5 })])).catch((e) => e);
    expect(error).toBeInstanceOf(PorttriggerError);
    expect(error.code).toBe('NFT_REJECTED');
    expect(error.message).toMatch(/^nft rejected the ruleset: /);
    expect(await nft(['list', 'ruleset'])).toBe(before);
    await dp.remove();
    expect(await nft(['list', 'ruleset'])).toBe('');
  });

  it('names a missing nft binary', async () => {
    const dp = new KernelDatapath({ nft: createNftRunner({ netns, binary: 'nft-is-not-installed' }) });
    const error = await dp.apply(config).catch((e) => e);
    expect(error.code).toBe('NFT_MISSING');
    expect(error.message).toMatch(/install nftables/);
  });
});
