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
    expect(delta(base, { ...base, enabled: false })).toBeUndefined();
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
});
