import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { createKernelDatapath, KernelDatapath } from '../../src/adapters/kernel-datapath.js';
import { createNftRunner } from '../../src/adapters/nft.js';
import { builtSetReaderPath, createSetReader, type SetReader } from '../../src/adapters/set-reader.js';
import type { Family } from '../../src/domain/types.js';
import { planConfig, SHARED_SET_NAMES, sharedSetName } from '../../src/nft/plan.js';
import type { KernelElement, KernelState } from '../../src/nft/state.js';
import { parseKernelState } from '../../src/nft/state.js';
import { labConfig, rule } from '../conformance/scenarios.js';
import { describeKernel } from '../harness/kernel-gate.js';

const netns = `ptsr-${process.pid}`;
const nft = (args: string[], input?: string) =>
  runProgram('nft', args, { netns, ...(input !== undefined ? { input } : {}) }).then((r) => r.stdout);

// One rule of each policy in both families; `guarded` allows one LAN host only (blocked records).
const config = labConfig(
  [
    rule({ name: 'any', family: 'both', idleTimeout: 300, open: [{ protocol: 'udp', ports: '7000' }] }),
    rule({
      name: 'contacted',
      family: 'both',
      remote: 'contacted',
      idleTimeout: 300,
      open: [{ protocol: 'udp', ports: '7001' }],
      trigger: [{ protocol: 'tcp', ports: '6001' }],
    }),
    rule({
      name: 'guarded',
      family: 'both',
      lanHosts: ['192.168.1.10', 'fd00:1::10'],
      idleTimeout: 300,
      open: [{ protocol: 'udp', ports: '7002' }],
      trigger: [{ protocol: 'tcp', ports: '6002' }],
    }),
  ],
  { mode: 'companion' },
);
const plan = planConfig(config);
const idOf = (name: string, family: Family) =>
  plan.rules.find((r) => r.rule.name === name && r.family === family)!.id;

const HOST = { ipv4: ['192.168.1.10', '192.168.1.11'], ipv6: ['fd00:1::10', 'fd00:1::ffff:11'] } as const;
const REMOTE = {
  ipv4: ['198.51.100.7', '203.0.113.200'],
  ipv6: ['2001:db8::7', '2001:db8:0:1::c8'],
} as const;

/** nft commands that put elements in every shared set and map of both families. */
function seedScript(): string {
  const T = 'inet porttrigger';
  const lines: string[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    const [h1, h2] = HOST[family];
    const [r1, r2] = REMOTE[family];
    const any = idOf('any', family);
    const con = idOf('contacted', family);
    const guarded = idOf('guarded', family);
    const set = (kind: Parameters<typeof sharedSetName>[0], id?: number) => sharedSetName(kind, family, id);
    const entry = 'timeout 300s expires 250s';
    lines.push(`add element ${T} ${set('held')} { ${any} ${entry} }`);
    lines.push(`add element ${T} ${set('hold')} { ${any} . ${h1} ${entry} }`);
    lines.push(`add element ${T} ${set('taken')} { ${con} . ${r1} ${entry}, ${con} . ${r2} timeout 120s }`);
    lines.push(
      `add element ${T} ${set('pair')} { ${con} . ${r1} . ${h1} ${entry}, ${con} . ${r2} . ${h2} timeout 120s }`,
    );
    // Records take the set's own timeout, as the packet path adds them.
    lines.push(`add element ${T} ${set('conflict')} { ${any} . ${h2} }`);
    lines.push(`add element ${T} ${set('rconflict')} { ${con} . ${h2} . ${r1} }`);
    lines.push(`add element ${T} ${set('blocked')} { ${guarded} . ${h2} }`);
    if (family === 'ipv4') {
      lines.push(`add element ${T} ${set('target', any)} { ${any} ${entry} : ${h1} }`);
      lines.push(`add element ${T} ${set('rtarget', con)} { ${con} . ${r1} ${entry} : ${h1} }`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The elements of a state without their expiry, in one order, and their expiries (s) by key. */
function split(state: KernelState): { shape: unknown; expiries: Map<string, number> } {
  const expiries = new Map<string, number>();
  const shape = [...state.sets.values()]
    .map((s) => ({
      name: s.name,
      timeoutS: s.timeoutS,
      elements: s.elements
        .map((e: KernelElement) => {
          const key = `${s.name} ${e.key.join(' . ')}`;
          expiries.set(key, e.expiresMs !== undefined ? e.expiresMs / 1000 : e.expiresS);
          return { key: e.key, value: e.value, timeoutS: e.timeoutS, finite: Number.isFinite(e.expiresS) };
        })
        .sort((a, b) => (a.key.join() < b.key.join() ? -1 : 1)),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return { shape, expiries };
}

describeKernel('set reader', () => {
  beforeAll(async () => {
    await runProgram('ip', ['netns', 'add', netns]);
  });
  afterAll(() => runProgram('ip', ['netns', 'del', netns]).catch(() => undefined));

  it('is built', () => {
    expect(builtSetReaderPath()).toMatch(/dist\/native\/porttrigger-set-reader$/);
  });

  it('reads the same sets, maps and elements as nft -j, and expiries to the millisecond', async () => {
    const reader = createSetReader({ netns })!;
    expect(await reader.read([])).toBeNull();
    const dp = new KernelDatapath({ nft: createNftRunner({ netns }) });
    await dp.apply(config);
    await nft(['-f', '-'], seedScript());

    const setNames = SHARED_SET_NAMES.filter((n) => !/^r?target4_/.test(n));
    const maps = [sharedSetName('target', 'ipv4', idOf('any', 'ipv4'))!];
    maps.push(sharedSetName('rtarget', 'ipv4', idOf('contacted', 'ipv4'))!);
    const [fromReader, sets, ...mapListings] = await Promise.all([
      reader.read([...setNames, ...maps]),
      nft(['-j', 'list', 'sets', 'table', 'inet', 'porttrigger']),
      ...maps.map((m) => nft(['-j', 'list', 'map', 'inet', 'porttrigger', m])),
    ]);
    const fromNft = parseKernelState({
      sets: JSON.parse(sets),
      maps: { nftables: [] },
      chains: { nftables: [] },
    });
    const nftMaps = mapListings.map((l) =>
      parseKernelState({ sets: { nftables: [] }, maps: JSON.parse(l), chains: { nftables: [] } }),
    );
    const expected: KernelState = {
      ...fromNft,
      sets: new Map([...fromNft.sets, ...nftMaps.flatMap((m) => [...m.sets])]),
    };
    const got = split(fromReader!);
    const want = split(expected);
    expect(got.shape).toEqual(want.shape);
    // Every set kind has elements (the seed reached each).
    const counts = (got.shape as { name: string; elements: unknown[] }[]).map((s) => [
      s.name,
      s.elements.length,
    ]);
    expect(counts.filter(([, n]) => n === 0)).toEqual([]);
    // nft rounds down to the second; the reader has the milliseconds, taken at about the same moment.
    for (const [key, seconds] of want.expiries) {
      const ms = got.expiries.get(key)!;
      expect(ms, key).toBeGreaterThanOrEqual(seconds - 1);
      expect(ms, key).toBeLessThan(seconds + 2);
      if (Number.isFinite(ms)) expect(Number.isInteger(ms), key).toBe(false);
    }
    await dp.remove();
  });

  it('gives the datapath the same entry reading as nft, and is what it uses', async () => {
    const real = createSetReader({ netns })!;
    let reads = 0;
    const counting: SetReader = {
      ...real,
      read: (names) => {
        reads++;
        return real.read(names);
      },
    };
    const faults: unknown[] = [];
    const withReader = new KernelDatapath({
      nft: createNftRunner({ netns }),
      setReader: counting,
      onSetReaderFault: (e) => faults.push(e),
    });
    const withNft = new KernelDatapath({ nft: createNftRunner({ netns }), perSetReadFrom: 0 });
    await withReader.apply(config);
    await nft(['-f', '-'], seedScript());
    for (const dp of [withNft, withReader]) await dp.apply(config);
    const [a, b] = await Promise.all([withReader.read('entries'), withNft.read('entries')]);
    expect(reads).toBe(1);
    expect(faults).toEqual([]);
    expect(a.intact).toBe(true);
    const strip = (t: typeof a.table) => ({
      ...t,
      at: 0,
      entries: t.entries.map((e) => ({ ...e, expiresAt: 0 })),
      conflicts: t.conflicts.map((c) => ({ ...c, at: 0 })),
      blocked: t.blocked.map((c) => ({ ...c, at: 0 })),
    });
    expect(a.table.entries.length).toBe(6);
    expect(strip(a.table)).toEqual(strip(b.table));
    for (const [i, e] of a.table.entries.entries()) {
      expect(Math.abs(e.expiresAt - b.table.entries[i]!.expiresAt)).toBeLessThan(2_000);
    }
    // A table that is gone reads as not intact, from the reader too.
    await nft(['delete', 'table', 'inet', 'porttrigger']);
    const gone = await withReader.read('entries');
    expect(reads).toBe(2);
    expect(gone.intact).toBe(false);
    expect(gone.table.entries).toEqual([]);
    expect(faults).toEqual([]);
  });

  it('falls back to nft, saying so once, when the reader is missing or fails', async () => {
    const faults: string[] = [];
    const onSetReaderFault = (e: unknown) => faults.push(String(e));
    const missing = createKernelDatapath({
      netns,
      setReaderBinary: '/nonexistent/porttrigger-set-reader',
      onSetReaderFault,
    });
    expect(faults).toEqual([expect.stringMatching(/no set reader at \/nonexistent\/porttrigger-set-reader/)]);
    await missing.apply(config);
    await nft(['-f', '-'], seedScript());
    expect((await missing.read('entries')).table.entries.length).toBe(6);

    faults.length = 0;
    // A reader that runs and fails: the read still succeeds, through nft, and the fault is told once.
    const failing = createKernelDatapath({ netns, setReaderBinary: '/bin/false', onSetReaderFault });
    await failing.apply(config);
    for (let i = 0; i < 2; i++) {
      const reading = await failing.read('entries');
      expect(reading.intact).toBe(true);
      expect(reading.table.entries.length).toBe(6);
    }
    expect(faults).toEqual([expect.stringMatching(/the set reader failed/)]);
    await failing.remove();
  });
});
