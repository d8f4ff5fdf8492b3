/**
 * One rule change, or the global switch, as one delta transaction (docs/architecture.md): the kernel ends up
 * with exactly the table a full apply of the new config makes, entries of the other rules stay open, the changed
 * rule's close (switched off, all of them).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { KernelDatapath } from '../../src/adapters/kernel-datapath.js';
import { createNftRunner } from '../../src/adapters/nft.js';
import type { NftRunner } from '../../src/domain/programs.js';
import type { Config, Rule } from '../../src/domain/types.js';
import { planConfig } from '../../src/nft/plan.js';
import { config as configOf, rule } from '../factories.js';
import { describeKernel } from '../harness/kernel-gate.js';
import { normaliseTable, putEntry } from '../harness/table-text.js';

const netns = `ptc-${process.pid}`;
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
  // Ranges too: a change that makes a rule's ports a range is then a delta (the range maps exist).
  udp('span', 5500, 7500, {
    trigger: [{ protocol: 'udp', ports: '5500-5510' }],
    open: [{ protocol: 'udp', ports: '7500-7510' }],
  }),
];
const start: Config = configOf(rules, { mode: 'standalone' });

const normalisedTable = async () => normaliseTable(await nft(['list', 'table', 'inet', 'porttrigger']));
const openEntry = (config: Config, name: string, holder: string) => putEntry(nft, config, name, holder);

async function fullTableOf(config: Config): Promise<string> {
  const dp = new KernelDatapath({ nft: createNftRunner({ netns }) });
  await dp.apply(config);
  const table = await normalisedTable();
  await dp.remove();
  return table;
}

describeKernel('one rule change as a delta', () => {
  beforeAll(() => runProgram('ip', ['netns', 'add', netns]));
  afterAll(() => runProgram('ip', ['netns', 'del', netns]).catch(() => undefined));

  const changes: [string, Config][] = [
    ['an added rule', { ...start, rules: [...rules, udp('extra', 5400, 7400)] }],
    ['an added rule that shares a trigger port', { ...start, rules: [...rules, udp('extra', 5100, 7400)] }],
    [
      'a disabled rule',
      { ...start, rules: rules.map((r) => (r.name === 'voice' ? { ...r, enabled: false } : r)) },
    ],
    [
      'an edited rule (idle timeout)',
      { ...start, rules: rules.map((r) => (r.name === 'voice' ? { ...r, idleTimeout: 30 } : r)) },
    ],
    [
      'an edited rule (open ports)',
      {
        ...start,
        rules: rules.map((r) =>
          r.name === 'voice' ? { ...r, open: [{ protocol: 'udp', ports: '7150-7160' }] } : r,
        ),
      },
    ],
    ['a deleted rule', { ...start, rules: rules.filter((r) => r.name !== 'shared') }],
  ];

  it.each(changes)('leaves the table a full apply makes: %s', async (_, next) => {
    const expected = await fullTableOf(next);
    const dp = new KernelDatapath({ nft: createNftRunner({ netns }) });
    await dp.apply(start);
    await dp.apply(next, undefined, { change: true });
    expect(dp.lastApply).toBe('change');
    expect(await normalisedTable()).toBe(expected);
    expect((await dp.read()).intact).toBe(true);
    await dp.remove();
  });

  it('keeps the open entries of other rules and closes those of the changed rule', async () => {
    const dp = new KernelDatapath({ nft: createNftRunner({ netns }) });
    await dp.apply(start);
    await openEntry(start, 'game', '192.168.1.10');
    await openEntry(start, 'voice', '192.168.1.11');
    expect((await dp.read('entries')).table.entries.map((e) => e.rule).sort()).toEqual(['game', 'voice']);

    const disabled = {
      ...start,
      rules: rules.map((r) => (r.name === 'voice' ? { ...r, enabled: false } : r)),
    };
    const report = await dp.apply(disabled, undefined, { change: true });
    expect(dp.lastApply).toBe('change');
    expect(report).toEqual({ kept: 1, dropped: 1 });
    const after = (await dp.read()).table.entries;
    expect(after.map((e) => [e.rule, e.holder])).toEqual([['game', '192.168.1.10']]);
    // Enabled again, the rule starts without its old entry (docs/semantics.md, 12).
    await dp.apply(start, undefined, { change: true });
    expect((await dp.read()).table.entries.map((e) => e.rule)).toEqual(['game']);
    await dp.remove();
  });

  it('plans a change from the last listing while no signal came, and lists the sets again after one', async () => {
    let now = 1_000_000;
    const runner = createNftRunner({ netns });
    const listings: string[][] = [];
    const counted: NftRunner = {
      ...runner,
      listJson: (args) => {
        listings.push([...args]);
        return runner.listJson(args);
      },
    };
    const dp = new KernelDatapath({ nft: counted, clock: () => now });
    const without = (...names: string[]) => ({
      ...start,
      rules: rules.map((r) => (names.includes(r.name) ? { ...r, enabled: false } : r)),
    });
    const expected = await fullTableOf(without('voice'));
    await dp.apply(start);
    await dp.read('entries');
    const lastSignal = now - 1;
    // A quiet minute: far past the moment in which any listing is taken as still true.
    now += 60_000;
    listings.length = 0;
    await dp.apply(without('voice'), undefined, { change: true, quietSince: lastSignal });
    expect(dp.lastApply).toBe('change');
    expect((await dp.read('change', { quietSince: lastSignal })).table.entries).toEqual([]);
    expect((await dp.read('entries', { quietSince: lastSignal })).intact).toBe(true);
    expect(listings).toEqual([]);
    expect(await normalisedTable()).toBe(expected);

    // An entry opens (the connection tracker signals it): the next change lists the sets and closes it.
    await openEntry(start, 'game', '192.168.1.10');
    now += 5_000;
    const signalled = now;
    now += 10;
    const report = await dp.apply(without('voice', 'game'), undefined, {
      change: true,
      quietSince: signalled,
    });
    expect(listings.length).toBeGreaterThan(0);
    expect(report).toEqual({ kept: 0, dropped: 1 });
    expect((await dp.read()).table.entries).toEqual([]);

    // An open entry's time is only a lower bound: a listing that shows one is never taken as still true.
    await openEntry(start, 'tight', '192.168.1.5');
    await dp.read('entries');
    now += 60_000;
    listings.length = 0;
    await dp.apply(without('voice', 'game', 'tight'), undefined, { change: true, quietSince: signalled });
    expect(listings.length).toBeGreaterThan(0);
    expect((await dp.read()).table.entries).toEqual([]);
    await dp.remove();
  });

  it('falls back to a full apply when the kernel is not what the last apply left', async () => {
    const dp = new KernelDatapath({ nft: createNftRunner({ netns }) });
    await dp.apply(start);
    const voice = planConfig(start).rules.find((r) => r.rule.name === 'voice')!;
    // Another tool removed what the delta would delete: nft refuses the delta, the full apply puts it right.
    await nft(['delete', 'element', 'inet', 'porttrigger', 'trigger4_udp', '{ 5100 }']);
    await nft(['delete', 'chain', 'inet', 'porttrigger', voice.chains.trigger]);
    const next = { ...start, rules: rules.filter((r) => r.name !== 'voice') };
    await dp.apply(next, undefined, { change: true });
    expect(dp.lastApply).toBe('full');
    expect(await normalisedTable()).toBe(await fullTableOfKeeping(next, dp));
    await dp.remove();
  });

  // The global switch: a plan of no rules on one side (src/nft/switch-delta.ts).
  it.each([
    ['standalone', configOf(rules, { mode: 'standalone' })],
    ['companion', configOf(rules)],
    ['companion, no rule of onExpire close', configOf(rules.slice(0, 3))],
    // A port map and a range map of one protocol, looked up from a chain of their own.
    [
      'standalone, a range of open ports beside single ports',
      configOf([...rules, rule({ name: 'range', open: [{ protocol: 'udp', ports: '7400-7410' }] })], {
        mode: 'standalone',
      }),
    ],
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
    // Another tool deleted a base chain the delta flushes: nft refuses the delta, the full apply puts it right.
    await nft(['delete', 'chain', 'inet', 'porttrigger', 'forward']);
    await dp.apply(off, undefined, { change: true });
    expect(dp.lastApply).toBe('full');
    expect(await normalisedTable()).toBe(await fullTableOf(off));
  });
});

/** The full table of `config`, listed after a full apply by the same datapath (no remove in between). */
async function fullTableOfKeeping(config: Config, dp: KernelDatapath): Promise<string> {
  await dp.apply(config);
  return normalisedTable();
}
