import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../core/config.js';
import type { Config } from '../core/types.js';
import { planConfig } from './plan.js';
import { renderApplyScript, renderRemoveScript, renderTable } from './render.js';

const fresh = { table: false, sets: new Set<string>(), chains: new Set<string>() };

async function load(path: string): Promise<Config> {
  const r = parseConfigText(await readFile(new URL(path, import.meta.url), 'utf8'));
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

// Golden files: the whole rendered script for a config. PORTTRIGGER_UPDATE_GOLDEN=1 rewrites them.
describe.each([
  ['../../examples/gateway.yaml', '../../test/golden/gateway.nft'],
  ['../../test/golden/standalone-lab.yaml', '../../test/golden/standalone-lab.nft'],
])('compiling %s', (input, golden) => {
  it('renders the golden script', async () => {
    const script = renderApplyScript(planConfig(await load(input)), fresh);
    const goldenUrl = new URL(golden, import.meta.url);
    if (process.env['PORTTRIGGER_UPDATE_GOLDEN'] === '1') await writeFile(goldenUrl, script);
    expect(script).toBe(await readFile(goldenUrl, 'utf8'));
  });
});

describe('renderApplyScript', () => {
  it('is deterministic', async () => {
    const config = await load('../../examples/gateway.yaml');
    expect(renderApplyScript(planConfig(config), fresh)).toBe(renderApplyScript(planConfig(config), fresh));
  });

  it('never lets rule names or descriptions into the script', async () => {
    const config = await load('../../examples/gateway.yaml');
    const hostile = {
      ...config,
      rules: config.rules.map((r, i) => ({
        ...r,
        name: `x"; flush ruleset; #${i}`,
        description: '} delete table',
      })),
    };
    const script = renderApplyScript(planConfig(hostile), fresh);
    expect(script).not.toContain('flush ruleset');
    expect(script).not.toContain('delete table');
  });

  it('deletes dispatch maps, dropped chains and dropped sets of the running table, and nothing else', async () => {
    const config = await load('../../examples/gateway.yaml');
    const plan = planConfig(config);
    const keptSet = plan.rules[0]!.entrySets.h!;
    const script = renderApplyScript(plan, {
      table: true,
      sets: new Set(['trigger4', 'dnat4', keptSet, 'h4_00000000_00000000', 'd4_00000000_00000000']),
      chains: new Set([
        'forward',
        'dstnat',
        'srcnat',
        'tr4_00000000_00000000',
        plan.rules[0]!.chains.trigger,
      ]),
    });
    const deletes = script.split('\n').filter((l) => l.startsWith('delete'));
    expect(deletes).toEqual([
      'delete map inet porttrigger dnat4',
      'delete map inet porttrigger trigger4',
      'delete chain inet porttrigger srcnat',
      'delete chain inet porttrigger tr4_00000000_00000000',
      'delete map inet porttrigger d4_00000000_00000000',
      'delete set inet porttrigger h4_00000000_00000000',
    ]);
    expect(script.indexOf('flush table')).toBeLessThan(script.indexOf('delete map'));
  });

  it('seeds carried entries after the table declaration', async () => {
    const plan = planConfig(await load('../../examples/gateway.yaml'));
    const set = plan.rules[0]!.entrySets.h!;
    const script = renderApplyScript(plan, fresh, [
      { set, key: '192.168.1.10', timeoutMs: 600_000, expiresMs: 1234 },
    ]);
    expect(script.trimEnd().split('\n').at(-1)).toBe(
      `add element inet porttrigger ${set} { 192.168.1.10 timeout 600000ms expires 1234ms }`,
    );
  });

  it('renders only base chains when the global switch is off', async () => {
    const config = await load('../../test/golden/standalone-lab.yaml');
    const table = renderTable(planConfig({ ...config, enabled: false }));
    expect(table).not.toMatch(/\bset |\bmap /);
    expect(table).toContain('masquerade');
  });

  it('removes only its own table', () => {
    expect(renderRemoveScript()).toBe('table inet porttrigger\ndelete table inet porttrigger\n');
  });
});
