import { describe, expect, it } from 'vitest';
import { eventRow } from './events.js';

describe('eventRow', () => {
  it('prints a rule event with its rule and family', () => {
    expect(
      eventRow({
        type: 'opened',
        at: 0,
        rule: 'game',
        family: 'ipv4',
        host: '192.168.1.10',
        expiresAt: 30_000,
      }).slice(1),
    ).toEqual(['opened', 'game', 'ipv4', '192.168.1.10 holds it']);
  });

  it.each([
    [
      {
        type: 'wan-changed' as const,
        at: 0,
        interface: 'eth0',
        previous: ['203.0.113.7'],
        addresses: ['203.0.113.9'],
      },
      ['wan-changed', '-', '-', 'WAN eth0 is now 203.0.113.9 (was 203.0.113.7)'],
    ],
    [
      { type: 'wan-down' as const, at: 0, interface: 'ppp0', previous: ['100.64.0.2'] },
      ['wan-down', '-', '-', 'WAN ppp0 went down (it had 100.64.0.2)'],
    ],
    [
      {
        type: 'wan-up' as const,
        at: 0,
        interface: 'ppp0',
        addresses: ['100.64.0.3'],
        previous: ['100.64.0.2'],
      },
      ['wan-up', '-', '-', 'WAN ppp0 is up with 100.64.0.3 (was 100.64.0.2)'],
    ],
  ])('prints the WAN event %j without a rule or family', (event, row) => {
    expect(eventRow(event).slice(1)).toEqual(row);
  });
});
