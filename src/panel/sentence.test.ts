import { describe, expect, it } from 'vitest';
import { validateRule } from '../domain/config.js';
import type { Rule } from '../domain/types.js';
import { durationText, ruleSentence } from './sentence.js';

function rule(input: Record<string, unknown>): Rule {
  const r = validateRule(input);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

describe('rules in plain words', () => {
  it('reads a rule as one sentence', () => {
    const r = rule({
      name: 'game',
      trigger: [{ protocol: 'tcp', ports: '6970' }],
      open: [{ protocol: 'udp', ports: '7000-7010' }],
      idleTimeout: 600,
    });
    expect(ruleSentence(r)).toBe(
      'When a device on the LAN sends TCP to port 6970, open UDP ports 7000-7010 to that device; ' +
        'any server may connect; closes after 10 min without traffic.',
    );
  });

  it('names allowed hosts, contacted remotes, the family and closing', () => {
    const r = rule({
      name: 'call',
      trigger: [{ protocol: 'both', ports: '5060' }],
      open: [
        { protocol: 'udp', ports: '16384-16482' },
        { protocol: 'tcp', ports: '5061' },
      ],
      idleTimeout: 90,
      lanHosts: ['192.168.1.0/24'],
      remote: 'contacted',
      family: 'ipv4',
      onExpire: 'close',
    });
    expect(ruleSentence(r)).toBe(
      'When a device in 192.168.1.0/24 on the LAN sends TCP or UDP to port 5060, open UDP ports 16384-16482 ' +
        'and TCP port 5061 to that device (IPv4 only); only the server it contacted may connect; closes after ' +
        '1 min 30 s without traffic; open connections are cut when it closes.',
    );
  });

  it.each([
    [45, '45 s'],
    [600, '10 min'],
    [5400, '1 h 30 min'],
  ])('writes %i seconds as %s', (s, text) => {
    expect(durationText(s)).toBe(text);
  });
});
