import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { describeKernel } from '../harness/kernel-gate.js';

const dir = new URL('./', import.meta.url);
const netns = `ptg-${process.pid}`;

// The golden scripts must be what the kernel accepts, not only what we expect to print.
describeKernel('golden scripts', () => {
  beforeAll(() => runProgram('ip', ['netns', 'add', netns]));
  afterAll(() => runProgram('ip', ['netns', 'del', netns]).catch(() => undefined));

  it('are accepted by nft -c and by the kernel', async () => {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.nft'));
    expect(files.length).toBeGreaterThanOrEqual(9);
    for (const file of files) {
      const script = await readFile(new URL(file, dir), 'utf8');
      await runProgram('nft', ['-c', '-f', '-'], { netns, input: script });
      await runProgram('nft', ['-f', '-'], { netns, input: script });
      await runProgram('nft', ['delete', 'table', 'inet', 'porttrigger'], { netns });
    }
  });
});
