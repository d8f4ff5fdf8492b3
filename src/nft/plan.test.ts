import { describe, expect, it } from 'vitest';
import { config, rule } from '../../test/factories.js';
import type { Rule } from '../domain/types.js';
import { planConfig } from './plan.js';

describe('planConfig', () => {
  it('dispatches trigger ranges, cut and fanned out where rules share ports', () => {
    const plan = planConfig(
      config(
        [
          rule({
            name: 'a',
            trigger: [{ protocol: 'tcp', ports: '100-102' }],
            open: [{ protocol: 'udp', ports: '1' }],
          }),
          rule({
            name: 'b',
            trigger: [{ protocol: 'tcp', ports: '102-103' }],
            open: [{ protocol: 'udp', ports: '2' }],
          }),
        ],
        { ipv6: false },
      ),
    );
    const [a, b] = plan.rules;
    const fan = plan.fanouts[0]!;
    expect(plan.dispatch.trigger4.map((e) => [e.from, e.to, e.chain])).toEqual([
      [100, 101, a!.chains.trigger],
      [102, 102, fan.name],
      [103, 103, b!.chains.trigger],
    ]);
    expect(plan.dispatch.inbound4.map((e) => [e.protocol, e.from, e.to])).toEqual([
      ['udp', 1, 1],
      ['udp', 2, 2],
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

  it('keeps the number of a rule while its name, open ports and remote policy stay', () => {
    const id = (r: Rule) => planConfig(config([r], { ipv6: false })).rules[0]!.id;
    const base = rule({ name: 'a' });
    expect(
      id({ ...base, description: 'changed', idleTimeout: 5, trigger: [{ protocol: 'udp', ports: '9' }] }),
    ).toBe(id(base));
    expect(id({ ...base, open: [{ protocol: 'udp', ports: '7001' }] })).not.toBe(id(base));
    expect(id({ ...base, remote: 'contacted' })).not.toBe(id(base));
    expect(id({ ...base, name: 'b' })).not.toBe(id(base));
  });

  it('gives every rule its own number', () => {
    const many = Array.from({ length: 3000 }, (_, i) =>
      rule({ name: `r${i}`, open: [{ protocol: 'udp', ports: String(1000 + i) }] }),
    );
    const ids = planConfig(config(many, { ipv6: false })).rules.map((r) => r.id);
    expect(new Set(ids).size).toBe(3000);
  });

  it('plans a DNAT chain for IPv4 only and a close chain only for onExpire: close', () => {
    const [v4, v6] = planConfig(config([rule({ name: 'a', onExpire: 'close' })])).rules;
    expect(Object.keys(v4!.chains)).toEqual(['trigger', 'inbound', 'dnat', 'close']);
    expect(Object.keys(v6!.chains)).toEqual(['trigger', 'inbound', 'close']);
  });
});
