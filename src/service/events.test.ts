import { describe, expect, it } from 'vitest';
import { describeWanEvent, hostsOfEvent, type WanEvent } from './events.js';

describe('describeWanEvent', () => {
  it.each<[WanEvent, string]>([
    [
      {
        type: 'wan-changed',
        at: 1,
        interface: 'eth0',
        previous: ['203.0.113.7'],
        addresses: ['203.0.113.9'],
      },
      'WAN eth0 is now 203.0.113.9 (was 203.0.113.7)',
    ],
    [
      { type: 'wan-changed', at: 1, interface: 'eth0', previous: ['203.0.113.7'], addresses: [] },
      'WAN eth0 lost its address 203.0.113.7',
    ],
    [
      {
        type: 'wan-changed',
        at: 1,
        interface: 'eth0',
        previous: [],
        addresses: ['203.0.113.9', '2001:db8::9'],
      },
      'WAN eth0 got the address 203.0.113.9 and 2001:db8::9',
    ],
    [
      { type: 'wan-down', at: 1, interface: 'ppp0', previous: ['100.64.0.2'] },
      'WAN ppp0 went down (it had 100.64.0.2)',
    ],
    [{ type: 'wan-down', at: 1, interface: 'ppp0', previous: [] }, 'WAN ppp0 went down'],
    [
      { type: 'wan-up', at: 1, interface: 'ppp0', addresses: ['100.64.0.3'], previous: ['100.64.0.2'] },
      'WAN ppp0 is up with 100.64.0.3 (was 100.64.0.2)',
    ],
    [
      { type: 'wan-up', at: 1, interface: 'ppp0', addresses: ['100.64.0.3'], previous: ['100.64.0.3'] },
      'WAN ppp0 is up with 100.64.0.3 (the same as before)',
    ],
    [{ type: 'wan-up', at: 1, interface: 'ppp0', addresses: [] }, 'WAN ppp0 is up with no address yet'],
  ])('%j says %s', (event, text) => {
    expect(describeWanEvent(event)).toBe(text);
  });
});

describe('hostsOfEvent', () => {
  it('names the LAN hosts of trigger events and none for the WAN', () => {
    expect(
      hostsOfEvent({
        type: 'conflict',
        at: 1,
        rule: 'r',
        family: 'ipv4',
        contender: '10.0.0.2',
        holder: '10.0.0.3',
      }),
    ).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(hostsOfEvent({ type: 'blocked', at: 1, rule: 'r', family: 'ipv4', host: '10.0.0.4' })).toEqual([
      '10.0.0.4',
    ]);
    expect(hostsOfEvent({ type: 'wan-down', at: 1, interface: 'ppp0', previous: [] })).toEqual([]);
  });
});
