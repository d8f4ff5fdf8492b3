import { describe, expect, it } from 'vitest';
import type { Config, Rule } from '../core/types.js';
import { parseEntrySetName, planConfig } from './plan.js';

const rule = (over: Partial<Rule> & { name: string }): Rule => ({
  enabled: true,
  family: 'both',
  trigger: [{ protocol: 'tcp', ports: '6970' }],
  open: [{ protocol: 'udp', ports: '7000' }],
  idleTimeout: 60,
  lanHosts: 'any',
  remote: 'any',
  onExpire: 'keep',
  ...over,
});
const config = (rules: Rule[], over: Partial<Config> = {}): Config => ({
  interfaces: { lan: ['br-lan'], wan: ['wan0'] },
  mode: 'companion',
  enabled: true,
  ipv6: true,
  rules,
  ...over,
});

describe('planConfig', () => {
  it('splits shared trigger ports into disjoint pieces that fan out to every owner', () => {
    const plan = planConfig(
      config(
        [
          rule({
            name: 'a',
            trigger: [{ protocol: 'tcp', ports: '100-200' }],
            open: [{ protocol: 'udp', ports: '1' }],
          }),
          rule({
            name: 'b',
            trigger: [{ protocol: 'tcp', ports: '150-250' }],
            open: [{ protocol: 'udp', ports: '2' }],
          }),
        ],
        { ipv6: false },
      ),
    );
    const [a, b] = plan.rules;
    const pieces = plan.dispatch.trigger4.map((e) => [e.range.from, e.range.to, e.chain]);
    const fan = plan.fanouts[0]!;
    expect(pieces).toEqual([
      [100, 149, a!.chains.trigger],
      [150, 200, fan.name],
      [201, 250, b!.chains.trigger],
    ]);
    expect(fan.targets).toEqual([a!.chains.trigger, b!.chains.trigger].sort());
  });

  it('plans one object group per family in scope', () => {
    expect(planConfig(config([rule({ name: 'a' })])).rules.map((r) => r.family)).toEqual(['ipv4', 'ipv6']);
    expect(planConfig(config([rule({ name: 'a' })], { ipv6: false })).rules.map((r) => r.family)).toEqual([
      'ipv4',
    ]);
    expect(planConfig(config([rule({ name: 'a', family: 'ipv6' })])).rules.map((r) => r.family)).toEqual([
      'ipv6',
    ]);
  });

  it('plans nothing for disabled rules or with the switch off', () => {
    expect(planConfig(config([rule({ name: 'a', enabled: false })])).rules).toEqual([]);
    expect(planConfig(config([rule({ name: 'a' })], { enabled: false })).rules).toEqual([]);
  });

  it('keeps entry set names while only the name-independent parts stay the same', () => {
    const name = (r: Rule) => planConfig(config([r], { ipv6: false })).rules[0]!.entrySets.h!;
    const base = rule({ name: 'a' });
    expect(name({ ...base, description: 'changed', trigger: [{ protocol: 'udp', ports: '9' }] })).toBe(
      name(base),
    );
    const id = (r: Rule) => parseEntrySetName(name(r))!.entryId;
    expect(id({ ...base, idleTimeout: 5 })).toBe(id(base)); // same entries, new declaration
    expect(name({ ...base, idleTimeout: 5 })).not.toBe(name(base));
    expect(id({ ...base, open: [{ protocol: 'udp', ports: '7001' }] })).not.toBe(id(base));
    expect(id({ ...base, name: 'b' })).not.toBe(id(base));
  });

  it('uses holder sets for remote any and remote/pair sets for remote contacted', () => {
    const [any4, any6] = planConfig(config([rule({ name: 'a' })])).rules;
    expect(Object.keys(any4!.entrySets)).toEqual(['h', 'd']);
    expect(Object.keys(any6!.entrySets)).toEqual(['h']);
    const [c4, c6] = planConfig(config([rule({ name: 'a', remote: 'contacted' })])).rules;
    expect(Object.keys(c4!.entrySets)).toEqual(['t', 'p', 'm']);
    expect(Object.keys(c6!.entrySets)).toEqual(['t', 'p']);
  });
});
