/**
 * The global switch as one delta transaction: the kernel ends up with exactly the table a full apply of the
 * switched config makes, switched off the open entries close as a full apply closes them, and a delta that nft
 * refuses falls back to the full apply.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { KernelDatapath } from '../../src/adapters/kernel-datapath.js';
import { createNftRunner } from '../../src/adapters/nft.js';
import type { Config, Rule } from '../../src/domain/types.js';
import { planConfig, sharedSetName } from '../../src/nft/plan.js';
import { config as configOf, rule } from '../factories.js';
import { describeKernel } from '../harness/kernel-gate.js';

const netns = `pts-${process.pid}`;
const nft = (args: string[]) => runProgram('nft', args, { netns }).then((r) => r.stdout);

const udp = (name: string, trigger: number, open: number, over: Partial<Rule> = {}): Rule =>
  rule({
    name,
    trigger: [{ protocol: 'udp', ports: String(trigger) }],
    open: [{ protocol: 'udp', ports: String(open) }],
    idleTimeout: 600,
    ...over,
  });

const rules = [
  udp('game', 5000, 7000),
  udp('voice', 5100, 7100, { family: 'ipv4' }),
  udp('shared', 5000, 7200, { remote: 'contacted' }),
  udp('tight', 5300, 7300, { lanHosts: ['192.168.1.0/28'], onExpire: 'close' }),
];

/** Chains in name order (a delta adds them at the end), expiry times left out (they run down). */
async function normalisedTable(): Promise<string> {
  const text = (await nft(['list', 'table', 'inet', 'porttrigger'])).replace(/ expires \S+/g, '');
  const blocks: string[][] = [[]];
  for (const line of text.split('\n')) {
    if (/^\t(chain|set|map) /.test(line)) blocks.push([]);
    if (line.trim() !== '' && line !== '}') blocks.at(-1)!.push(line);
  }
  const [head, ...rest] = blocks.map((b) => b.join('\n'));
  return [head, ...rest.sort()].join('\n');
}

/** An open entry of rule `name` (remote any, IPv4) held by `holder`, put straight into the shared sets. */
async function openEntry(config: Config, name: string, holder: string): Promise<void> {
  const id = planConfig(config).rules.find((r) => r.rule.name === name && r.family === 'ipv4')!.id;
  const add = (set: string, element: string) =>
    nft(['add', 'element', 'inet', 'porttrigger', set, `{ ${element} }`]);
  await add(sharedSetName('target', 'ipv4', id)!, `${id} timeout 600s expires 500s : ${holder}`);
  await add('hold4', `${id} . ${holder} timeout 600s expires 500s`);
  await add('held4', `${id} timeout 600s expires 500s`);
}

/** The table a full apply of `config` makes, in a datapath of its own. */
async function fullTableOf(config: Config): Promise<string> {
  const dp = new KernelDatapath({ nft: createNftRunner({ netns }) });
  await dp.apply(config);
  const table = await normalisedTable();
  await dp.remove();
  return table;
}

describeKernel('the global switch as a delta', () => {
  beforeAll(() => runProgram('ip', ['netns', 'add', netns]));
  afterAll(() => runProgram('ip', ['netns', 'del', netns]).catch(() => undefined));

  it.each([
    ['standalone', configOf(rules, { mode: 'standalone' })],
    ['companion', configOf(rules)],
    ['companion, no rule of onExpire close', configOf(rules.slice(0, 3))],
  ])('switched off and on again leaves the tables full applies make (%s)', async (_, on) => {
    const off = { ...on, enabled: false };
    const [fullOff, fullOn] = [await fullTableOf(off), await fullTableOf(on)];
    const dp = new KernelDatapath({ nft: createNftRunner({ netns }) });
    await dp.apply(on);
    await dp.apply(off, undefined, { change: true });
    expect(dp.lastApply).toBe('change');
    expect(await normalisedTable()).toBe(fullOff);
    expect((await dp.read()).intact).toBe(true);
    await dp.apply(on, undefined, { change: true });
    expect(dp.lastApply).toBe('change');
    expect(await normalisedTable()).toBe(fullOn);
    expect((await dp.read()).intact).toBe(true);
    await dp.remove();
  });

  it('closes every open entry when switched off, as a full apply does, and keeps the records', async () => {
    const on = configOf(rules, { mode: 'standalone' });
    const dp = new KernelDatapath({ nft: createNftRunner({ netns }) });
    await dp.apply(on);
    await openEntry(on, 'game', '192.168.1.10');
    await openEntry(on, 'voice', '192.168.1.11');
    await nft(['add', 'element', 'inet', 'porttrigger', 'blocked4', '{ 7 . 192.168.1.99 }']);
    const report = await dp.apply({ ...on, enabled: false }, undefined, { change: true });
    expect(dp.lastApply).toBe('change');
    expect(report).toEqual({ kept: 0, dropped: 2 });
    expect((await dp.read()).table.entries).toEqual([]);
    const sets = await nft(['list', 'sets', 'table', 'inet', 'porttrigger']);
    expect(sets).not.toMatch(/192\.168\.1\.1[01]/);
    expect(sets).toMatch(/7 \. 192\.168\.1\.99/);
    await dp.remove();
  });

  it('falls back to a full apply when nft refuses the switch delta', async () => {
    const on = configOf(rules, { mode: 'standalone' });
    const off = { ...on, enabled: false };
    const dp = new KernelDatapath({ nft: createNftRunner({ netns }) });
    await dp.apply(on);
    // Another tool deleted a dispatch map the delta deletes: nft refuses the delta, the full apply puts it right.
    await nft(['flush', 'chain', 'inet', 'porttrigger', 'dstnat']);
    await nft(['delete', 'map', 'inet', 'porttrigger', 'inbound6_udp']);
    await dp.apply(off, undefined, { change: true });
    expect(dp.lastApply).toBe('full');
    expect(await normalisedTable()).toBe(await fullTableOf(off));
  });
});
