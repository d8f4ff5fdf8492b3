import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createConntrackRunner } from './conntrack.js';
import { createNftRunner } from './nft.js';

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

  it('stops a conntrack listing that hangs and names it EXEC_TIMEOUT', async () => {
    await expect(createConntrackRunner({ binary: hang, timeoutMs: 200 }).listMarked()).rejects.toMatchObject({
      code: 'EXEC_TIMEOUT',
    });
  });
});
