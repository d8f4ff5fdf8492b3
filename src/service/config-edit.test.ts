import { describe, expect, it } from 'vitest';
import { config as makeConfig, rule as makeRule } from '../../test/factories.js';
import type { Config, Rule } from '../domain/types.js';
import {
  issuesForRule,
  withRuleAdded,
  withRuleEnabled,
  withRuleRemoved,
  withRuleReplaced,
} from './config-edit.js';
import { checkPort } from './port-check.js';

const rule = (name: string, ports = '7000'): Rule =>
  makeRule({
    name,
    trigger: [{ protocol: 'udp', ports: '5000' }],
    open: [{ protocol: 'udp', ports }],
    idleTimeout: 30,
  });
const config: Config = makeConfig([rule('game'), rule('voice', '8000-8010')]);

describe('rule edits', () => {
  it('refuses a second rule with the same name in another case', () => {
    expect(() => withRuleAdded(config, rule('GAME'))).toThrow(
      expect.objectContaining({ code: 'RULE_EXISTS' }),
    );
  });

  it('finds and refuses names in any Unicode normal form: a decomposed é is the composed one', () => {
    const withEte = withRuleAdded(config, rule('\u00e9t\u00e9', '9000'));
    expect(() => withRuleAdded(withEte, rule('E\u0301te\u0301', '9100'))).toThrow(
      expect.objectContaining({ code: 'RULE_EXISTS' }),
    );
    expect(withRuleEnabled(withEte, 'e\u0301te\u0301', false).rules.at(-1)).toMatchObject({ enabled: false });
    expect(withRuleRemoved(withEte, 'e\u0301te\u0301').rules).toHaveLength(2);
  });

  it('replaces in place and may rename, but not onto another rule', () => {
    expect(withRuleReplaced(config, 'game', rule('arcade')).rules.map((r) => r.name)).toEqual([
      'arcade',
      'voice',
    ]);
    expect(() => withRuleReplaced(config, 'game', rule('voice'))).toThrow(
      expect.objectContaining({ code: 'RULE_EXISTS' }),
    );
  });

  it.each([
    ['replace', () => withRuleReplaced(config, 'nope', rule('x'))],
    ['remove', () => withRuleRemoved(config, 'nope')],
    ['enable', () => withRuleEnabled(config, 'nope', true)],
  ])('%s of an unknown rule is RULE_NOT_FOUND', (_what, edit) => {
    expect(edit).toThrow(expect.objectContaining({ code: 'RULE_NOT_FOUND' }));
  });

  it('makes whole-config issue paths relative to the edited rule only', () => {
    const issues = [
      { path: ['rules', 1, 'open'], code: 'open_overlap', message: 'x' },
      { path: ['rules', 0, 'open'], code: 'open_overlap', message: 'y' },
    ];
    expect(issuesForRule(issues, 1).map((i) => i.path)).toEqual([['open'], ['rules', 0, 'open']]);
  });
});

describe('checkPort', () => {
  const table = {
    at: 0,
    entries: [{ rule: 'voice', family: 'ipv4' as const, holder: '192.168.1.10', expiresAt: 9 }],
    conflicts: [],
    blocked: [],
  };

  it('names the rule that opens the port and the host that receives it', () => {
    expect(checkPort(config, table, 8005, 'udp')).toEqual({
      port: 8005,
      protocol: 'udp',
      open: true,
      matches: [{ rule: 'voice', enabled: true, entries: table.entries }],
      at: table.at,
    });
  });

  it('dates the answer by its table and says when that table is stale', () => {
    expect(checkPort(config, { ...table, stale: true }, 8005, 'udp')).toMatchObject({
      at: table.at,
      stale: true,
    });
  });

  it('says closed for a port of a rule without entries, and for another protocol', () => {
    expect(checkPort(config, table, 7000, 'udp')).toMatchObject({ open: false, matches: [{ rule: 'game' }] });
    expect(checkPort(config, table, 8005, 'tcp')).toMatchObject({ open: false, matches: [] });
  });
});
