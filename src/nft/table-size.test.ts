import { describe, expect, it } from 'vitest';
import { config, rule } from '../../test/factories.js';
import { planConfig } from './plan.js';
import { tableObjects } from './table-size.js';

/** `count` rules of one shape on ports of their own (no two share a trigger port). */
function rules(count: number, over: Partial<Parameters<typeof rule>[0]> = {}) {
  return Array.from({ length: count }, (_, i) =>
    rule({
      name: `r${i}`,
      family: 'ipv4',
      trigger: [{ protocol: 'tcp', ports: String(1000 + i) }],
      open: [{ protocol: 'udp', ports: String(20_000 + i) }],
      ...over,
    }),
  );
}

describe('tableObjects', () => {
  it("counts a rule's chains and its dispatch elements", () => {
    const plan = planConfig(config(rules(1)));
    const [only] = plan.rules;
    // trigger, inbound and DNAT chain; one element in each of trigger4, inbound4 and dnat4.
    expect(Object.values(only!.chains).filter(Boolean)).toHaveLength(3);
    expect(tableObjects(plan)).toBe(6);
  });

  it('grows in proportion to the rules', () => {
    const one = tableObjects(planConfig(config(rules(1))));
    expect(tableObjects(planConfig(config(rules(100))))).toBe(100 * one);
    expect(tableObjects(planConfig(config(rules(100, { family: 'both' }))))).toBeGreaterThan(100 * one);
  });

  it('counts what a rule adds beyond the common shape: a close chain, a fan-out for shared trigger ports', () => {
    const plain = tableObjects(planConfig(config(rules(2))));
    expect(tableObjects(planConfig(config(rules(2, { onExpire: 'close' }))))).toBeGreaterThan(plain);
    const shared = rules(2, { trigger: [{ protocol: 'tcp', ports: '1000' }] });
    const sharedPlan = planConfig(config(shared));
    expect(sharedPlan.fanouts).toHaveLength(1);
    // The shared port is one dispatch element instead of two, and its fan-out chain one object more.
    expect(tableObjects(sharedPlan)).toBe(plain - 1 + 1);
  });

  it('is nothing for a config without rules', () => {
    expect(tableObjects(planConfig(config([])))).toBe(0);
  });
});
