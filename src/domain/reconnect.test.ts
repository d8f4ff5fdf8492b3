import { describe, expect, it } from 'vitest';
import { reconnectNotice } from './reconnect.js';
import type { TriggerTable } from './types.js';

const table = (rules: string[]): TriggerTable => ({
  at: 0,
  entries: rules.map((rule) => ({ rule, family: 'ipv4', holder: '192.168.1.10', expiresAt: 1 })),
  conflicts: [],
  blocked: [],
});

describe('reconnectNotice', () => {
  it('says in one sentence that a connected application must reconnect when nothing holds the rule', () => {
    const text = reconnectNotice({ name: 'IRC DCC', enabled: true }, table(['Game']));
    expect(text).toMatch(/^Nothing is using "IRC DCC" right now: .* must reconnect .*\.$/);
    expect(text?.split('. ').length).toBe(1);
  });

  it.each([
    ['the rule is held', { name: 'IRC DCC', enabled: true }, ['IRC DCC']],
    ['the rule is off', { name: 'IRC DCC', enabled: false }, []],
  ])('says nothing when %s', (_title, rule, held) => {
    expect(reconnectNotice(rule, table(held))).toBeUndefined();
  });
});
