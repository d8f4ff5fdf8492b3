import { describe, expect, it } from 'vitest';
import { validateConfig, validateRule } from './config.js';
import { ruleNameKey, ruleNameProblem } from './rule-name.js';

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
    ['a zero-width space', 'game\u200b'],
    ['a zero-width joiner between letters', 'ga\u200dme'],
    ['a zero-width non-joiner', 'ga\u200cme'],
    ['a soft hyphen', 'ga\u00adme'],
    ['a byte order mark inside', 'ga\ufeffme'],
    ['a word joiner', 'ga\u2060me'],
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

  it('says which invisible character it refuses', () => {
    expect(ruleNameProblem('game\u200b')).toBe(
      'name must not contain invisible format characters (U+200B, such as a zero-width space or joiner)',
    );
  });

  it('stores names in NFC: a decomposed é is the same name as a composed one', () => {
    const decomposed = validateRule(rule('e\u0301te'));
    expect(decomposed.ok && decomposed.value.name).toBe('\u00e9te');
    expect(ruleNameKey('E\u0301TE')).toBe(ruleNameKey('\u00e9te'));
  });

  it('refuses two rules whose names differ only in normal form, and says why', () => {
    const r = validateConfig({
      interfaces: { lan: ['br-lan'], wan: ['eth0'] },
      rules: [rule('\u00e9te'), { ...rule('e\u0301te'), open: [{ protocol: 'tcp', ports: '40001' }] }],
    });
    expect(r.ok ? [] : r.issues).toEqual([
      {
        path: ['rules', 1, 'name'],
        code: 'duplicate_name',
        message:
          '"e\u0301te" is also the name of rules[0] (names are compared in Unicode NFC, regardless of case)',
      },
    ]);
  });
});
