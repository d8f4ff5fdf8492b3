import { describe, expect, it } from 'vitest';
import { parseConfigText } from './config.js';
import { MAX_ALIAS_COUNT, readYaml } from './yaml-document.js';

const BOMB = [
  'a: &a [x, x, x, x, x, x, x, x, x]',
  'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
  'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
  'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
  'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]',
].join('\n');

describe('readYaml', () => {
  it.each([
    [
      'an undefined alias',
      'interfaces: { lan: [a], wan: [b] }\nrules: *nope\n',
      'yaml_undefined_alias',
      ['rules'],
    ],
    ['an alias used before its anchor', 'a: *x\nb: &x 1\n', 'yaml_undefined_alias', ['a']],
    ['an alias bomb', BOMB, 'yaml_alias_limit', []],
    [
      'a duplicate key',
      'interfaces: { lan: [a], wan: [b] }\nmode: standalone\nmode: companion\n',
      'yaml_duplicate_key',
      ['mode'],
    ],
    [
      'a nested duplicate key',
      'interfaces:\n  lan: [a]\n  lan: [b]\n',
      'yaml_duplicate_key',
      ['interfaces', 'lan'],
    ],
    ['an unclosed flow sequence', 'interfaces:\n  lan: [br-lan\n', 'yaml_syntax', undefined],
    ['two documents', 'a: 1\n---\nb: 2\n', 'yaml_syntax', undefined],
    ['a tab indent', 'a:\n\t- 1\n', 'yaml_syntax', undefined],
  ])('turns %s into an issue with a code, a path and a line', (_what, text, code, path) => {
    const r = readYaml(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues[0]).toMatchObject({ code, message: expect.stringMatching(/^line \d+: /) });
    if (path) expect(r.issues[0]!.path).toEqual(path);
  });

  it('expands aliases within the limit', () => {
    const r = readYaml('x: &x [1, 2]\ny: *x\n');
    expect(r).toMatchObject({ ok: true, value: { x: [1, 2], y: [1, 2] } });
    expect(MAX_ALIAS_COUNT).toBeGreaterThanOrEqual(50);
  });

  it('keeps an unknown tag as a warning with its line', () => {
    const r = readYaml('a: !!nope x\n');
    expect(r).toMatchObject({ ok: true, warnings: [{ code: 'yaml_warning', path: ['a'] }] });
  });
});

describe('parseConfigText on hostile YAML', () => {
  it.each([
    'rules: *nope',
    BOMB,
    'interfaces: &i { lan: [a], wan: [b] }\ninterfaces: *i',
    '- *a',
    '? *a\n: 1',
  ])('returns issues and never throws for %j', (text) => {
    const r = parseConfigText(text);
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.issues.length).toBeGreaterThan(0);
  });
});
