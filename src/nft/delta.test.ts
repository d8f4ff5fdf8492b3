import { describe, expect, it } from 'vitest';
import { config, rule } from '../../test/factories.js';
import type { Config } from '../domain/types.js';
import { renderDelta } from './delta.js';
import { planConfig } from './plan.js';

const game = rule({ name: 'game', trigger: [{ protocol: 'udp', ports: '5000' }] });
const voice = rule({
  name: 'voice',
  trigger: [{ protocol: 'udp', ports: '5100' }],
  open: [{ protocol: 'udp', ports: '7100' }],
});
const chat = rule({
  name: 'chat',
  trigger: [{ protocol: 'udp', ports: '5200' }],
  open: [{ protocol: 'udp', ports: '7200' }],
});
const base = config([game, voice, chat]);

function delta(before: Config, after: Config) {
  return renderDelta(planConfig(before), planConfig(after), []);
}

function chainsOf(name: string, c: Config): string[] {
  const plans = planConfig(c).rules.filter((r) => r.rule.name === name);
  return plans.flatMap((r) => Object.values(r.chains).filter((x): x is string => !!x));
}

describe('renderDelta', () => {
  it('adds only the new rule: its chains and its dispatch elements', () => {
    const extra = rule({
      name: 'extra',
      trigger: [{ protocol: 'udp', ports: '5300' }],
      open: [{ protocol: 'udp', ports: '7300' }],
    });
    const after = config([game, voice, chat, extra]);
    const d = delta(base, after)!;
    expect([...d.chainsAdded].sort()).toEqual(chainsOf('extra', after).sort());
    expect(d.chainsReplaced).toEqual([]);
    expect(d.chainsDeleted).toEqual([]);
    // Two families' trigger elements, the IPv4 DNAT, both families' inbound.
    expect(d.elementsAdded).toBe(5);
    expect(d.elementsDeleted).toBe(0);
    for (const other of ['game', 'voice', 'chat']) {
      for (const chain of chainsOf(other, after)) expect(d.script).not.toContain(chain);
    }
    expect(d.script).not.toMatch(/flush table|delete map|delete set/);
  });

  it('deletes a disabled rule: its elements first, then its chains', () => {
    const after = config([game, { ...voice, enabled: false }, chat]);
    const d = delta(base, after)!;
    expect([...d.chainsDeleted].sort()).toEqual(chainsOf('voice', base).sort());
    expect(d.elementsDeleted).toBe(5);
    expect(d.elementsAdded).toBe(0);
    const lines = d.script.trim().split('\n');
    const lastElement = lines.findLastIndex((l) => l.startsWith('delete element'));
    const firstChain = lines.findIndex((l) => l.startsWith('delete chain'));
    expect(lastElement).toBeLessThan(firstChain);
  });

  it('replaces the chains of an edited rule in place when its number stays', () => {
    const after = config([game, { ...voice, idleTimeout: 120 }, chat]);
    const d = delta(base, after)!;
    expect(d.chainsAdded).toEqual([]);
    expect(d.chainsDeleted).toEqual([]);
    expect(d.chainsReplaced.length).toBeGreaterThan(0);
    expect(d.chainsReplaced.every((c) => chainsOf('voice', after).includes(c))).toBe(true);
    expect(d.elementsAdded + d.elementsDeleted).toBe(0);
    expect(d.script).toContain('timeout 120s');
  });

  it('touches nothing for the same config', () => {
    expect(delta(base, { ...base, rules: [...base.rules] })!.script).toBe('');
  });

  it('leaves a change of the base chains to the full apply', () => {
    // The first TCP trigger adds a rule to the base chain dstnat.
    const tcp = rule({
      name: 'tcp',
      trigger: [{ protocol: 'tcp', ports: '6000' }],
      open: [{ protocol: 'udp', ports: '7600' }],
    });
    expect(delta(base, config([game, voice, chat, tcp]))).toBeUndefined();
    // The switch with another setting changed: the rule chains may change with it, whatever the rules.
    const mode = { ...base, enabled: false, mode: 'standalone' as const };
    expect(delta(base, mode)).toBeUndefined();
  });

  it('puts the entry element operations last, deletes before adds', () => {
    const after = config([game, { ...voice, enabled: false }, chat]);
    const d = renderDelta(planConfig(base), planConfig(after), [
      { set: 'held4', key: '1', timeoutMs: 1000, expiresMs: 1000 },
      { set: 'held4', key: '2' },
    ])!;
    const lines = d.script.trim().split('\n');
    expect(lines.at(-2)).toBe('delete element inet porttrigger held4 { 2 }');
    expect(lines.at(-1)).toMatch(/^add element inet porttrigger held4 \{ 1 timeout/);
  });

  describe('in the map of its key kind', () => {
    const ranged = rule({
      name: 'ranged',
      trigger: [{ protocol: 'udp', ports: '6000-6010' }],
      open: [{ protocol: 'udp', ports: '7600-7610' }],
    });
    const mixed = rule({
      name: 'mixed',
      trigger: [{ protocol: 'udp', ports: '5400,6100-6110' }],
      open: [{ protocol: 'udp', ports: '7400,7700-7710' }],
    });
    const singles = rule({
      name: 'singles',
      trigger: [{ protocol: 'udp', ports: '5300' }],
      open: [{ protocol: 'udp', ports: '7300' }],
    });
    const elementLines = (script: string) =>
      script.split('\n').filter((l) => / element .* (trigger|dnat|inbound)/.test(l));
    const withRanges = config([game, voice, chat, ranged]);

    it('adds one-port elements to the hash maps alone', () => {
      const d = delta(withRanges, config([game, voice, chat, ranged, singles]))!;
      expect(elementLines(d.script).map((l) => l.split(' {')[0])).toEqual([
        'add element inet porttrigger trigger4_udp',
        'add element inet porttrigger trigger6_udp',
        'add element inet porttrigger dnat4_udp',
        'add element inet porttrigger inbound4_udp',
        'add element inet porttrigger inbound6_udp',
      ]);
    });

    it('adds and deletes a mixed rule: each port spec in its own map, by its key', () => {
      const after = config([game, voice, chat, ranged, mixed]);
      const added = elementLines(delta(withRanges, after)!.script);
      expect(added).toContainEqual(
        expect.stringMatching(/^add element inet porttrigger trigger4_udp \{ 5400 : jump tr4_/),
      );
      expect(added).toContainEqual(
        expect.stringMatching(/^add element inet porttrigger trigger4_udp_ranges \{ 6100-6110 : jump tr4_/),
      );
      expect(added).toContainEqual(
        expect.stringMatching(/^add element inet porttrigger dnat4_udp \{ 7400 : goto dn4_/),
      );
      expect(added).toContainEqual(
        expect.stringMatching(/^add element inet porttrigger dnat4_udp_ranges \{ 7700-7710 : goto dn4_/),
      );
      expect(added).toHaveLength(10);
      const deleted = elementLines(delta(after, withRanges)!.script);
      expect(deleted).toContain('delete element inet porttrigger trigger4_udp { 5400 }');
      expect(deleted).toContain('delete element inet porttrigger trigger4_udp_ranges { 6100-6110 }');
      expect(deleted).toContain('delete element inet porttrigger inbound6_udp_ranges { 7700-7710 }');
      expect(deleted).toHaveLength(10);
    });

    it('leaves the first range of a table of single ports, and the last one gone, to the full apply', () => {
      // The base chains look up a range map only while it has elements.
      expect(delta(base, config([game, voice, chat, ranged]))).toBeUndefined();
      expect(delta(config([game, voice, chat, ranged]), base)).toBeUndefined();
    });

    it('leaves the first single port of a table of ranges to the full apply', () => {
      const onlyRanges = config([ranged]);
      expect(delta(onlyRanges, config([ranged, singles]))).toBeUndefined();
      expect(delta(config([ranged, singles]), onlyRanges)).toBeUndefined();
    });
  });
});
