import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runProgram } from '../adapters/exec.js';
import { createNftRunner } from '../adapters/nft.js';
import { runDoctor } from './doctor.js';

const dir = mkdtempSync(join(tmpdir(), 'pt-doctor-hang-'));
const hang = join(dir, 'nft');
writeFileSync(hang, '#!/bin/sh\nexec sleep 10\n');
chmodSync(hang, 0o755);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the doctor with an nft that hangs', () => {
  it('finishes, reporting the nft and kernel checks as failed because nft timed out', async () => {
    const checks = await runDoctor({
      nft: createNftRunner({ binary: hang, listTimeoutMs: 200, applyTimeoutMs: 200 }),
      run: runProgram,
    });
    expect(checks.find((c) => c.id === 'nft')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/timed out after 200 ms/),
    });
    expect(checks.find((c) => c.id === 'kernel')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/timed out after 200 ms/),
    });
  });
});

// The hanging nft with short timeouts: only the set reader's check is looked at.
const quickNft = () => createNftRunner({ binary: hang, listTimeoutMs: 200, applyTimeoutMs: 200 });

describe('the doctor and the set reader', () => {
  it('warns, naming the failure, when the reader fails, and says how to build it when there is none', async () => {
    const failing = await runDoctor({
      nft: quickNft(),
      run: runProgram,
      setReader: '/bin/false',
    });
    expect(failing.find((c) => c.id === 'set-reader')).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/^the set reader failed: .*through nft -j/),
    });
    const missing = await runDoctor({
      nft: quickNft(),
      run: runProgram,
      setReader: false,
    });
    expect(missing.find((c) => c.id === 'set-reader')).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/^the set reader was not built/),
      hint: expect.stringMatching(/libnftnl-dev/),
    });
    const without = await runDoctor({ nft: quickNft(), run: runProgram });
    expect(without.some((c) => c.id === 'set-reader')).toBe(false);
  });
});
