import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createConntrackRunner } from './conntrack.js';
import { createNftRunner, LIST_TIMEOUT_MS, nftTimeoutMs, TIMEOUT_MS_PER_OBJECT } from './nft.js';

// A program that never answers, like an nft or conntrack stuck in the kernel.
const dir = mkdtempSync(join(tmpdir(), 'pt-hang-'));
const hang = join(dir, 'hang');
writeFileSync(hang, '#!/bin/sh\nexec sleep 10\n');
chmodSync(hang, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('timeouts of the programs the service runs', () => {
  it.each([
    ['a listing', 200, (r: ReturnType<typeof createNftRunner>) => r.listJson(['list', 'tables'])],
    ['the version query', 200, (r: ReturnType<typeof createNftRunner>) => r.version()],
    ['an apply', 300, (r: ReturnType<typeof createNftRunner>) => r.apply('flush ruleset\n')],
    ['a check', 300, (r: ReturnType<typeof createNftRunner>) => r.check('flush ruleset\n')],
  ])(
    'stops %s of an nft that hangs after its own timeout (%i ms), as NFT_TIMEOUT',
    async (_what, ms, call) => {
      const runner = createNftRunner({ binary: hang, listTimeoutMs: 200, applyTimeoutMs: 300 });
      await expect(call(runner)).rejects.toMatchObject({
        code: 'NFT_TIMEOUT',
        message: expect.stringContaining(`timed out after ${ms} ms`),
      });
    },
  );

  it('gives a listing and an apply of a large table time in proportion, and still stops them', async () => {
    const runner = createNftRunner({ binary: hang, listTimeoutMs: 200, applyTimeoutMs: 300 });
    runner.expectTableSize?.(400);
    const extra = 400 * TIMEOUT_MS_PER_OBJECT;
    await expect(runner.listJson(['list', 'tables'])).rejects.toMatchObject({
      code: 'NFT_TIMEOUT',
      message: expect.stringContaining(`timed out after ${200 + extra} ms`),
    });
    await expect(runner.apply('flush ruleset\n')).rejects.toMatchObject({
      code: 'NFT_TIMEOUT',
      message: expect.stringContaining(`timed out after ${300 + extra} ms`),
    });
  });

  it('stops a conntrack listing that hangs and names it EXEC_TIMEOUT', async () => {
    await expect(createConntrackRunner({ binary: hang, timeoutMs: 200 }).listMarked()).rejects.toMatchObject({
      code: 'EXEC_TIMEOUT',
    });
  });
});

describe('nftTimeoutMs', () => {
  it('is the base for an empty table and grows by the allowance per object', () => {
    expect(nftTimeoutMs(15_000, 0)).toBe(15_000);
    expect(nftTimeoutMs(15_000, 15_000)).toBe(15_000 + 15_000 * TIMEOUT_MS_PER_OBJECT);
    expect(nftTimeoutMs(15_000, 150_000) - nftTimeoutMs(15_000, 15_000)).toBe(
      135_000 * TIMEOUT_MS_PER_OBJECT,
    );
  });

  it('leaves nearly twice the slowest listing measured: 10,000 dual-stack rules, 150,000 objects, 47 s', () => {
    expect(nftTimeoutMs(LIST_TIMEOUT_MS, 150_000)).toBeGreaterThanOrEqual(1.8 * 47_000);
  });

  it('never shortens the base', () => {
    expect(nftTimeoutMs(4_000, -10)).toBe(4_000);
  });
});
