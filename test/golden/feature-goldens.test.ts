/**
 * One golden per feature, as firewall4's tests do it: a small config in `feature-<name>.yaml`, the script it
 * compiles to in `feature-<name>.nft` (which golden.kernel.test.ts also gives to nft and the kernel) and the
 * messages validation says about it in `feature-<name>.messages`. PORTTRIGGER_UPDATE_GOLDEN=1 rewrites them.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/domain/config.js';
import { formatPath, type Issue } from '../../src/domain/errors.js';
import { planConfig } from '../../src/nft/plan.js';
import { NO_TABLE, renderApplyScript } from '../../src/nft/render.js';

/** The features and what each compiles with besides its config (learn capture runs during a session only). */
const FEATURES = [
  ['remote-contacted', {}],
  ['on-expire-close', {}],
  ['lan-hosts', {}],
  ['companion', {}],
  ['standalone', {}],
  ['ipv6', {}],
  ['learn-capture', { learn: { host: '192.168.1.10' } }],
  ['mixed-ports', {}],
] as const;

const here = (file: string) => new URL(file, import.meta.url);

/** The messages of a config, one a line: warnings as `warning path: code: message`, errors as `error …`. */
function messages(issues: readonly Issue[], warnings: readonly Issue[]): string {
  const line = (kind: string) => (i: Issue) => `${kind} ${formatPath(i.path)}: ${i.code}: ${i.message}\n`;
  return [...issues.map(line('error')), ...warnings.map(line('warning'))].join('');
}

async function golden(file: string, actual: string): Promise<void> {
  if (process.env['PORTTRIGGER_UPDATE_GOLDEN'] === '1') await writeFile(here(file), actual);
  expect(actual, file).toBe(await readFile(here(file), 'utf8'));
}

describe.each(FEATURES)('the %s feature', (name, extra) => {
  it('compiles its small config to the golden ruleset with the golden messages', async () => {
    const result = parseConfigText(await readFile(here(`feature-${name}.yaml`), 'utf8'));
    await golden(`feature-${name}.messages`, messages(result.ok ? [] : result.issues, result.warnings));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    await golden(
      `feature-${name}.nft`,
      renderApplyScript({ ...planConfig(result.value), ...extra }, NO_TABLE),
    );
  });
});
