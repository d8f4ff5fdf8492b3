/**
 * The README's check of a config, `set -o pipefail; porttrigger compile FILE | nft -c -f -`, run as written in
 * bash with the built CLI and the real nft: it fails for an invalid config and passes for a valid one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { describeKernel } from '../harness/kernel-gate.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = `${ROOT}dist/cli/main.js`;

function pipe(config: string, pipefail: boolean) {
  return spawnSync(
    'bash',
    ['-c', `${pipefail ? 'set -o pipefail; ' : ''}"$NODE" "$MAIN" compile "$CONFIG" | nft -c -f -`],
    { env: { ...process.env, NODE: process.execPath, MAIN, CONFIG: config }, encoding: 'utf8' },
  );
}

describeKernel('porttrigger compile | nft -c -f -', () => {
  it('fails under pipefail for an invalid config, with the issues on stderr, and passes for a valid one', () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npm run build)`);
    const invalid = pipe(`${ROOT}test/cli/fixtures/invalid.yaml`, true);
    expect(invalid.status).toBe(3);
    expect(invalid.stderr).toContain('nothing to compile');
    // Without pipefail the shell reports nft's status, which checked an empty script: why the README sets it.
    expect(pipe(`${ROOT}test/cli/fixtures/invalid.yaml`, false).status).toBe(0);
    const valid = pipe(`${ROOT}examples/gateway.yaml`, true);
    expect(valid.stderr).toBe('');
    expect(valid.status).toBe(0);
  });
});
