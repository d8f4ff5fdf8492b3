import { describe, expect, it } from 'vitest';
import { lanDeviceProblem } from './lan-device.js';

describe('lanDeviceProblem', () => {
  it.each(['192.168.1.10', '10.0.0.5', '172.16.3.4', '172.31.255.1', '169.254.7.7', ' 192.168.1.20 '])(
    'accepts %j, a private or link-local unicast address',
    (address) => {
      expect(lanDeviceProblem(address)).toBeUndefined();
    },
  );

  it.each([
    ['8.8.8.8', 'is a public address, not one of a LAN device'],
    ['172.32.0.1', 'is a public address'],
    ['0.0.0.0', '"this network"'],
    ['127.0.0.1', 'loopback'],
    ['255.255.255.255', 'the broadcast address'],
    ['224.0.0.251', 'a multicast group'],
    ['239.255.255.250', 'a multicast group'],
    ['240.0.0.1', 'reserved'],
    ['fd00::1', 'is not an IPv4 address'],
    ['pc1', 'is not an IPv4 address'],
  ])('refuses %j (%s)', (address, said) => {
    expect(lanDeviceProblem(address)).toContain(said);
  });
});
