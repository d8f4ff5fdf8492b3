import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { rule, config as testConfig } from '../../test/factories.js';
import { parseConfigText } from '../domain/config.js';
import type { Config, Rule } from '../domain/types.js';
import { planConfig } from './plan.js';
import {
  baseChainNames,
  kernelDispatchMaps,
  NO_TABLE,
  renderApplyScript,
  renderRemoveScript,
  renderTable,
} from './render.js';

const fresh = NO_TABLE;

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

  it('deletes dispatch maps, dropped chains and sets of an older layout, and never the shared sets', async () => {
    const config = await load('../../examples/gateway.yaml');
    const plan = planConfig(config);
    const kept = plan.rules[0]!.chains.trigger;
    const script = renderApplyScript(plan, {
      table: true,
      sets: new Set(['hold4', 'held6', 'h4_00000000_00000000']),
      maps: new Set(['trigger4', 'dnat4', 'dnat4_udp', 'target4', 'd4_00000000_00000000']),
      chains: new Set(['forward', 'dstnat', 'srcnat', 'tr4_00000000', kept]),
    });
    const deletes = script.split('\n').filter((l) => l.startsWith('delete'));
    expect(deletes).toEqual([
      'delete map inet porttrigger dnat4',
      'delete map inet porttrigger dnat4_udp',
      'delete map inet porttrigger trigger4',
      'delete chain inet porttrigger tr4_00000000',
      'delete map inet porttrigger d4_00000000_00000000',
      'delete map inet porttrigger target4',
      'delete set inet porttrigger h4_00000000_00000000',
    ]);
    expect(script.indexOf('flush table')).toBeLessThan(script.indexOf('delete map'));
  });

  it('deletes elements before it adds them, after the table declaration', async () => {
    const plan = planConfig(await load('../../examples/gateway.yaml'));
    const script = renderApplyScript(plan, fresh, [
      { set: 'hold4', key: '7 . 192.168.1.10', timeoutMs: 600_000, expiresMs: 1234 },
      { set: 'hold4', key: '7 . 192.168.1.10' },
    ]);
    expect(script.trimEnd().split('\n').slice(-2)).toEqual([
      'delete element inet porttrigger hold4 { 7 . 192.168.1.10 }',
      'add element inet porttrigger hold4 { 7 . 192.168.1.10 timeout 600000ms expires 1234ms }',
    ]);
  });

  it('keeps the number of named sets fixed however many rules there are', () => {
    const rules = Array.from({ length: 500 }, (_, i) => ({
      name: `r${i}`,
      enabled: true,
      family: 'both' as const,
      trigger: [{ protocol: 'tcp' as const, ports: String(10_000 + i) }],
      open: [{ protocol: 'udp' as const, ports: String(20_000 + i) }],
      idleTimeout: 60,
      lanHosts: 'any' as const,
      remote: 'any' as const,
      onExpire: 'keep' as const,
    }));
    const config = {
      interfaces: { lan: ['br-lan'], wan: ['wan0'] },
      mode: 'companion' as const,
      enabled: true,
      ipv6: true,
    };
    const count = (n: number) =>
      (renderTable(planConfig({ ...config, rules: rules.slice(0, n) })).match(/^\t(set|map) /gm) ?? [])
        .length;
    expect(count(500) - count(5)).toBe(0);
  });

  it('keeps the rule chains but looks up no dispatch map when the global switch is off', async () => {
    const config = await load('../../test/golden/standalone-lab.yaml');
    const table = renderTable(planConfig({ ...config, enabled: false }));
    expect(table).toMatch(/\bchain (tr|in|dn)[46]_/);
    const base = table.slice(table.indexOf('\tchain dstnat {'));
    expect(base).not.toMatch(/vmap @|jump closing/);
    expect(base).toContain('masquerade');
  });

  it('removes only its own table', () => {
    expect(renderRemoveScript()).toBe('table inet porttrigger\ndelete table inet porttrigger\n');
  });
});

describe('the hooks', () => {
  const base = {
    enabled: true,
    family: 'both',
    trigger: [{ protocol: 'tcp', ports: '6970' }],
    open: [{ protocol: 'udp', ports: '7000' }],
    idleTimeout: 60,
    lanHosts: 'any',
    remote: 'any',
    onExpire: 'keep',
  } as const;
  const config = (mode: 'companion' | 'standalone', onExpire: 'keep' | 'close'): Config => ({
    interfaces: { lan: ['br-lan'], wan: ['wan0'] },
    mode,
    enabled: true,
    ipv6: true,
    rules: [{ ...base, name: 'game', onExpire }],
  });

  it('puts no chain of ours on established packets in companion mode', () => {
    const script = renderTable(planConfig(config('companion', 'keep')));
    expect(script).not.toContain('hook forward');
    expect(script).toContain('type nat hook prerouting');
    expect(script).toContain('ct mark set ct mark & 0xf0ffffff | 0x09000000');
    // Conflicts and blocked triggers carry the notify bit alone: they wake the service but keep no entry open.
    expect(script).toContain('add @conflict4 { jhash meta nfproto mod 1 offset');
    expect(script).toMatch(
      /add @conflict4 \{ [^}]+ \} ct mark set ct mark & 0xf0ffffff \| 0x01000000 return/,
    );
  });

  it('adds one mark test to the forward hook for onExpire: close, before the standalone policy', () => {
    const forward = renderTable(planConfig(config('standalone', 'close'))).split('chain forward {')[1]!;
    const rules = forward
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && l !== '}');
    expect(rules.slice(0, 3)).toEqual([
      'type filter hook forward priority filter; policy drop;',
      'ct mark & 0x02000000 == 0x02000000 jump closing',
      'ct state established,related accept',
    ]);
  });
});

describe('dispatch maps by key kind', () => {
  const single = rule({
    name: 'single',
    trigger: [{ protocol: 'udp', ports: '5000' }],
    open: [{ protocol: 'udp', ports: '7000' }],
  });
  const ranged = rule({
    name: 'ranged',
    trigger: [{ protocol: 'udp', ports: '6000-6010' }],
    open: [{ protocol: 'udp', ports: '7100-7110' }],
  });
  const mixed = rule({
    name: 'mixed',
    trigger: [{ protocol: 'udp', ports: '5000,6000-6010' }],
    open: [{ protocol: 'udp', ports: '7000,7100-7110' }],
    onExpire: 'close',
  });
  const v4 = (rules: Rule[]) => planConfig(testConfig(rules, { ipv6: false }));
  const mapDecl = (table: string, name: string) => table.match(new RegExp(`\\tmap ${name} \\{[^}]*\\}`))?.[0];
  const chainLines = (table: string, name: string) =>
    (table.split(`\tchain ${name} {\n`)[1] ?? '')
      .split('\n\t}')[0]!
      .split('\n')
      .map((l) => l.trim());

  it('puts single ports in hash maps, looked up straight from the base chain', () => {
    const table = renderTable(v4([single]));
    expect(mapDecl(table, 'trigger4_udp')).toContain('type inet_service : verdict;\n');
    expect(mapDecl(table, 'trigger4_udp')).not.toContain('interval');
    expect(mapDecl(table, 'dnat4_udp')).toContain('7000 : goto dn4_');
    expect(table).not.toContain('_ranges');
    expect(table).toMatch(/fib daddr oifname \{ "wan0" \} th dport vmap @trigger4_udp\n/);
  });

  it('puts ranges in interval maps, and only ranges', () => {
    const table = renderTable(v4([ranged]));
    expect(mapDecl(table, 'trigger4_udp_ranges')).toContain('flags interval;');
    expect(mapDecl(table, 'trigger4_udp_ranges')).toContain('6000-6010 : jump tr4_');
    expect(table).not.toMatch(/map (trigger|dnat|inbound)4_udp \{/);
    expect(table).toMatch(/th dport vmap @trigger4_udp_ranges\n/);
  });

  it('looks up both maps of a mixed rule through one chain, the DNAT and close maps in two rules each', () => {
    const plan = v4([mixed]);
    const table = renderTable(plan);
    const maps = kernelDispatchMaps(plan);
    expect(maps.map((m) => [m.name, m.elements.map((e) => `${e.from}-${e.to}`)])).toEqual([
      ['trigger4_udp', ['5000-5000']],
      ['trigger4_udp_ranges', ['6000-6010']],
      ['dnat4_udp', ['7000-7000']],
      ['dnat4_udp_ranges', ['7100-7110']],
      ['inbound4_udp', ['7000-7000']],
      ['inbound4_udp_ranges', ['7100-7110']],
      ['close4_udp', ['7000-7000']],
      ['close4_udp_ranges', ['7100-7110']],
    ]);
    expect(chainLines(table, 'trigger4_udp_dport')).toEqual([
      'th dport vmap @trigger4_udp',
      'th dport vmap @trigger4_udp_ranges',
    ]);
    // A close element goes to its chain from `closing` itself: once it returns, `closing` has nothing left to do.
    expect(chainLines(table, 'closing')).toEqual([
      'meta nfproto ipv4 meta l4proto udp ct direction original th dport vmap @close4_udp',
      'meta nfproto ipv4 meta l4proto udp ct direction original th dport vmap @close4_udp_ranges',
      'meta nfproto ipv4 meta l4proto udp ct direction reply th sport vmap @close4_udp',
      'meta nfproto ipv4 meta l4proto udp ct direction reply th sport vmap @close4_udp_ranges',
    ]);
    expect(table).toContain('7000 : goto cl4_');
    expect(table).toContain('7100-7110 : goto cl4_');
    const dstnat = chainLines(table, 'dstnat');
    expect(dstnat.filter((l) => l.includes('jump trigger4_udp_dport'))).toHaveLength(1);
    // A DNAT element goes to its chain from the base chain itself: a packet it does not translate ends there.
    expect(
      dstnat.filter((l) => /fib daddr type local th dport vmap @dnat4_udp(_ranges)?$/.test(l)),
    ).toHaveLength(2);
    expect(table).not.toContain('dnat4_udp_dport');
    expect(table).not.toContain('close4_udp_dport');
    expect(baseChainNames(plan)).toEqual(
      expect.arrayContaining(['trigger4_udp_dport', 'inbound4_udp_dport']),
    );
    expect(baseChainNames(plan)).not.toContain('close4_udp_sport');
  });

  it('never puts a port in both maps, also where one rule shares a port of another rule range', () => {
    const inside = rule({
      name: 'inside',
      trigger: [{ protocol: 'udp', ports: '6005' }],
      open: [{ protocol: 'udp', ports: '7200' }],
    });
    const maps = kernelDispatchMaps(v4([ranged, inside]));
    const ports = maps.find((m) => m.name === 'trigger4_udp')!.elements;
    const ranges = maps.find((m) => m.name === 'trigger4_udp_ranges')!.elements;
    expect(ports.map((e) => [e.from, e.chain.slice(0, 4)])).toEqual([[6005, 'fan4']]);
    expect(ranges.map((e) => [e.from, e.to])).toEqual([
      [6000, 6004],
      [6006, 6010],
    ]);
  });

  it('replaces dispatch maps of the one-map shape, and drops lookup chains the plan no longer has', () => {
    const plan = v4([single]);
    const script = renderApplyScript(plan, {
      table: true,
      sets: new Set(),
      maps: new Set(['trigger4_udp', 'trigger4_udp_ranges', 'dnat4_udp']),
      chains: new Set(['dstnat', 'srcnat', 'trigger4_udp_dport', plan.rules[0]!.chains.trigger]),
    });
    const lines = script.split('\n');
    expect(lines.filter((l) => l.startsWith('delete'))).toEqual([
      'delete map inet porttrigger dnat4_udp',
      'delete map inet porttrigger trigger4_udp',
      'delete map inet porttrigger trigger4_udp_ranges',
      'delete chain inet porttrigger trigger4_udp_dport',
    ]);
    expect(lines.indexOf('delete map inet porttrigger trigger4_udp')).toBeLessThan(
      lines.indexOf('\tmap trigger4_udp {'),
    );
  });
});
