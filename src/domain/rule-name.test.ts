import { describe, expect, it } from 'vitest';
import { validateRule } from './config.js';
import { ruleNameProblem } from './rule-name.js';

const rule = (name: string) => ({
  name,
  trigger: [{ protocol: 'tcp', ports: '4000' }],
  open: [{ protocol: 'tcp', ports: '40000' }],
});

describe('rule names', () => {
  it.each([
    ['a C0 control', 'a\u0007b'],
    ['a tab', 'a\tb'],
    ['DEL', 'a\u007fb'],
    ['a C1 control (NEL)', 'a\u0085b'],
    ['a C1 control (CSI)', 'a\u009b31mred'],
    ['the right-to-left override', 'invoice\u202egpj.exe'],
    ['a bidi isolate', 'a\u2067b\u2069'],
    ['a right-to-left mark', 'a\u200fb'],
    ['a lone high surrogate', 'a\ud800'],
    ['a lone low surrogate', '\udc00b'],
    ['a line separator', 'a\u2028b'],
    ['a dot', '.'],
    ['two dots', '..'],
  ])('refuses %s', (_what, name) => {
    expect(ruleNameProblem(name)).toBeDefined();
    const r = validateRule(rule(name));
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.issues).toContainEqual(
      expect.objectContaining({ path: ['name'], code: 'bad_name' }),
    );
  });

  it.each([
    'Game callback',
    '...',
    'a/b',
    'a%2Fb',
    '50% off?#x',
    'Ünïcödé ✓',
    'emoji 👨‍👩‍👧',
    'עברית',
    'مرحبا',
    '-leading-dash',
  ])('accepts %j', (name) => {
    expect(ruleNameProblem(name)).toBeUndefined();
    expect(validateRule(rule(name)).ok).toBe(true);
  });
});
