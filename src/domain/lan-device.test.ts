import { describe, expect, it } from 'vitest';
import { inSubnets, lanDeviceProblem, lanSubnetsOf, subnetOf } from './lan-device.js';

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

describe('lanDeviceProblem with the LAN subnets known', () => {
  const subnets = ['192.168.1.0/24', '2001:db8:1::/64'];

  it('accepts a device inside a LAN subnet', () => {
    expect(lanDeviceProblem('192.168.1.10', subnets)).toBeUndefined();
  });

  it.each(['10.9.0.5', '192.168.2.10'])(
    'refuses %j, a private address outside every LAN subnet',
    (address) => {
      expect(lanDeviceProblem(address, subnets)).toBe(
        `${address} is not in the LAN subnets (192.168.1.0/24, 2001:db8:1::/64): give the address of a device on the LAN`,
      );
    },
  );

  it('still refuses a public address for being public, and knows no subnets from an empty list', () => {
    expect(lanDeviceProblem('8.8.8.8', subnets)).toContain('is a public address');
    expect(lanDeviceProblem('10.9.0.5', [])).toBeUndefined();
  });
});

describe('LAN subnets', () => {
  it.each([
    ['192.168.1.1', 24, '192.168.1.0/24'],
    ['10.1.2.3', 8, '10.0.0.0/8'],
    ['2001:db8:1::1', 64, '2001:db8:1::/64'],
    ['100.64.0.3', 32, '100.64.0.3'],
    ['192.168.1.1', 33, undefined],
    ['not an address', 24, undefined],
  ] as const)('the subnet of %s/%d is %j', (address, length, subnet) => {
    expect(subnetOf(address, length)).toBe(subnet);
  });

  it('takes the subnets of the LAN interfaces alone, by the config names with wildcards', () => {
    const links = [
      { name: 'br-lan', up: true, addresses: [], subnets: ['192.168.1.0/24', '2001:db8:1::/64'] },
      { name: 'br-guest', up: true, addresses: [], subnets: ['192.168.9.0/24', '192.168.1.0/24'] },
      { name: 'wan0', up: true, addresses: [], subnets: ['203.0.113.0/24'] },
      { name: 'lan-old', up: true, addresses: [] },
    ];
    expect(lanSubnetsOf(links, ['br-*', 'lan-old'])).toEqual([
      '192.168.1.0/24',
      '192.168.9.0/24',
      '2001:db8:1::/64',
    ]);
    expect(lanSubnetsOf(links, ['eth9'])).toEqual([]);
  });

  it('finds an address of either family in the subnets, and nothing in a bad prefix', () => {
    const subnets = ['192.168.1.0/24', '2001:db8:1::/64', 'junk'];
    expect(inSubnets('192.168.1.77', subnets)).toBe(true);
    expect(inSubnets('2001:db8:1::20', subnets)).toBe(true);
    expect(inSubnets('2001:db8:2::20', subnets)).toBe(false);
    expect(inSubnets('10.0.0.1', subnets)).toBe(false);
    expect(inSubnets('junk', subnets)).toBe(false);
  });
});
