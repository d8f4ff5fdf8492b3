import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { config, rule } from '../../test/factories.js';
import type { Config, Rule } from '../domain/types.js';
import { renderDelta } from './delta.js';
import { type Plan, planConfig } from './plan.js';
import { patchBetween, patchPlan } from './plan-patch.js';

/** Ports from a small range, so that trigger ports of different rules meet, touch and fan out. */
const port = fc.integer({ min: 5000, max: 5030 });
const portSpec = fc
  .tuple(port, fc.integer({ min: 0, max: 6 }), fc.boolean())
  .map(([from, width, single]) => (single || width === 0 ? `${from}` : `${from}-${from + width}`));
const protocol = fc.constantFrom('tcp' as const, 'udp' as const);

/** A rule of `name` whose open ports are its own (rules' open ports never overlap: validation). */
function ruleArb(name: string, slot: number): fc.Arbitrary<Rule> {
  return fc
    .record({
      trigger: fc.array(fc.record({ protocol, ports: portSpec }), { minLength: 1, maxLength: 3 }),
      openProtocol: protocol,
      openWidth: fc.integer({ min: 0, max: 2 }),
      enabled: fc.boolean(),
      family: fc.constantFrom('both' as const, 'ipv4' as const, 'ipv6' as const),
      remote: fc.constantFrom('any' as const, 'contacted' as const),
      onExpire: fc.constantFrom('keep' as const, 'close' as const),
      idleTimeout: fc.integer({ min: 30, max: 32 }),
    })
    .map(({ openProtocol, openWidth, ...r }) => {
      const from = 20_000 + slot * 10;
      const ports = openWidth === 0 ? `${from}` : `${from}-${from + openWidth}`;
      return rule({ name, ...r, open: [{ protocol: openProtocol, ports }] });
    });
}

type Edit =
  | { kind: 'add'; rule: Rule }
  | { kind: 'replace'; at: number; rule: Rule }
  | { kind: 'delete'; at: number }
  | { kind: 'toggle'; at: number }
  | { kind: 'switch' };

/** An edit of a config as the service makes it: one rule added, replaced, deleted, toggled, or the switch. */
function editArb(step: number): fc.Arbitrary<Edit> {
  return fc.oneof(
    ruleArb(`new${step}`, 100 + step).map((r) => ({ kind: 'add' as const, rule: r })),
    fc
      .tuple(fc.nat(), fc.boolean(), ruleArb(`re${step}`, 100 + step))
      .map(([at, rename, r]) => ({ kind: 'replace' as const, at, rule: rename ? r : { ...r, name: '' } })),
    fc.nat().map((at) => ({ kind: 'delete' as const, at })),
    fc.nat().map((at) => ({ kind: 'toggle' as const, at })),
    fc.constant({ kind: 'switch' as const }),
  );
}

function applyEdit(c: Config, edit: Edit): Config {
  const rules = [...c.rules];
  if (edit.kind === 'switch') return { ...c, enabled: !c.enabled };
  if (edit.kind === 'add') return { ...c, rules: [...rules, edit.rule] };
  if (rules.length === 0) return c;
  const at = edit.at % rules.length;
  const old = rules[at]!;
  if (edit.kind === 'delete') rules.splice(at, 1);
  else if (edit.kind === 'toggle') rules[at] = { ...old, enabled: !old.enabled };
  else {
    // Edited in place: the same name keeps the rule's number unless its open ports or remote policy change.
    const open = edit.rule.name === '' ? old.open : edit.rule.open;
    rules[at] = { ...edit.rule, name: edit.rule.name || old.name, open };
  }
  return { ...c, rules };
}

const scenario = fc
  .tuple(
    fc
      .integer({ min: 0, max: 8 })
      .chain((n) => fc.tuple(...[...Array(n).keys()].map((i) => ruleArb(`r${i}`, i)))),
    fc.integer({ min: 1, max: 8 }).chain((n) => fc.tuple(...[...Array(n).keys()].map((i) => editArb(i)))),
    fc.boolean(),
  )
  .map(([rules, edits, ipv6]) => ({ start: config(rules as Rule[], { ipv6 }), edits }));

describe('patchPlan', () => {
  it('plans a sequence of one-rule edits exactly as planConfig plans each config whole', () => {
    fc.assert(
      fc.property(scenario, ({ start, edits }) => {
        let current = start;
        let plan: Plan = planConfig(start);
        for (const edit of edits) {
          const next = applyEdit(current, edit);
          const whole = planConfig(next);
          const patched = patchPlan(plan, next);
          // Undefined only when numbers meet, which these names and ports do not make.
          expect(patched).toBeDefined();
          expect(patched).toEqual(whole);
          // The delta from the patch is the delta of the whole comparison, line for line.
          expect(patchBetween(plan, patched!)).toBeDefined();
          expect(renderDelta(plan, patched!, [])).toEqual(renderDelta(planConfig(current), whole, []));
          current = next;
          plan = patched!;
        }
      }),
      { numRuns: 400 },
    );
  });

  it('fails when the patch is wrong: a dispatch list patched from the wrong plan differs from the whole plan', () => {
    const a = rule({ name: 'a', trigger: [{ protocol: 'udp', ports: '5000-5010' }] });
    const b = rule({
      name: 'b',
      trigger: [{ protocol: 'udp', ports: '5005' }],
      open: [{ protocol: 'udp', ports: '7100' }],
    });
    const one = config([a]);
    const two = { ...one, rules: [a, b] };
    // A plan that claims config `one` but holds the lists of no rule: rule `a`'s elements are missing.
    const wrong = patchPlan({ ...planConfig({ ...one, rules: [] }), config: one }, two);
    expect(wrong).toBeDefined();
    expect(wrong).not.toEqual(planConfig(two));
    expect(patchPlan(planConfig(one), two)).toEqual(planConfig(two));
  });

  it('plans the whole config when a rule would take a number another rule has, or settings change', () => {
    const c = config([rule({ name: 'a' })]);
    const plan = planConfig(c);
    // The same name, open ports and remote policy: the same entry identity, so planConfig salts one number.
    const twin = { ...c, rules: [...c.rules, { ...c.rules[0]! }] };
    expect(patchPlan(plan, twin)).toBeUndefined();
    expect(patchPlan(plan, { ...c, interfaces: { lan: ['lan1'], wan: ['wan0'] } })).toBeUndefined();
  });

  it('keeps the dispatch lists and rule plans of a switch, and splits a fan-out when one of its rules goes', () => {
    const a = rule({ name: 'a', trigger: [{ protocol: 'udp', ports: '5000-5010' }] });
    const b = rule({
      name: 'b',
      trigger: [{ protocol: 'udp', ports: '5005-5006' }],
      open: [{ protocol: 'udp', ports: '7100' }],
    });
    const both = planConfig(config([a, b]));
    const off = patchPlan(both, { ...both.config, enabled: false })!;
    expect(off.dispatch).toBe(both.dispatch);
    expect(off.rules).toEqual([]);
    expect(both.fanouts).toHaveLength(2);
    const alone = patchPlan(both, { ...both.config, rules: [a] })!;
    expect(alone.fanouts).toEqual([]);
    expect(alone.dispatch.trigger4).toEqual([
      {
        protocol: 'udp',
        from: 5000,
        to: 5010,
        chain: 'tr4_' + alone.chained[0]!.id.toString(16).padStart(8, '0'),
      },
    ]);
    expect(renderDelta(both, alone, [])?.chainsDeleted).toEqual(
      expect.arrayContaining(both.fanouts.map((f) => f.name)),
    );
  });
});
