import { describe, expect, it } from 'vitest';
import { linksOf, safetyReadDelayMs, UNWATCHED_SAFETY_READ_MS, WATCHED_SAFETY_READ_MS } from './wan-watch.js';

// `ip -j addr show` of a router: an ethernet WAN with a deprecated and a link-local IPv6 address (as ip printed
// them), a temporary privacy address, a ppp link with its peer, a LAN bridge whose cable is out, and loopback.
const IP_ADDR = [
  {
    ifindex: 3,
    ifname: 'eth0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    operstate: 'UP',
    addr_info: [
      { family: 'inet', local: '203.0.113.5', prefixlen: 24, scope: 'global', label: 'eth0' },
      {
        family: 'inet6',
        local: '2001:db8::1',
        prefixlen: 64,
        scope: 'global',
        nodad: true,
        deprecated: true,
      },
      { family: 'inet6', local: '2001:db8::5', prefixlen: 64, scope: 'global', dynamic: true },
      {
        family: 'inet6',
        local: '2001:db8::77',
        prefixlen: 64,
        scope: 'global',
        temporary: true,
        dynamic: true,
      },
      { family: 'inet6', local: 'fe80::7479:4bff:fe96:a75d', prefixlen: 64, scope: 'link', tentative: true },
    ],
  },
  {
    ifindex: 9,
    ifname: 'ppp0',
    flags: ['POINTOPOINT', 'MULTICAST', 'NOARP', 'UP', 'LOWER_UP'],
    operstate: 'UNKNOWN',
    addr_info: [
      { family: 'inet', local: '100.64.0.3', address: '100.64.0.1', prefixlen: 32, scope: 'global' },
    ],
  },
  {
    ifindex: 4,
    ifname: 'br-lan',
    flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP'],
    operstate: 'DOWN',
    addr_info: [{ family: 'inet', local: '192.168.1.1', prefixlen: 24, scope: 'global' }],
  },
  {
    ifindex: 1,
    ifname: 'lo',
    flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
    addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }],
  },
];

describe('linksOf', () => {
  it('reads each link, whether it is up with a carrier, its global addresses that last and their subnets', () => {
    expect(linksOf(IP_ADDR)).toEqual([
      {
        name: 'eth0',
        up: true,
        addresses: ['2001:db8::5', '203.0.113.5'],
        subnets: ['2001:db8::/64', '203.0.113.0/24'],
      },
      { name: 'ppp0', up: true, addresses: ['100.64.0.3'], subnets: ['100.64.0.3'] },
      { name: 'br-lan', up: false, addresses: ['192.168.1.1'], subnets: ['192.168.1.0/24'] },
      { name: 'lo', up: true, addresses: [], subnets: [] },
    ]);
  });

  it.each([null, {}, 'text', [{ flags: ['UP'] }]])(
    'reads nothing from output it does not know (%j)',
    (json) => {
      expect(linksOf(json)).toEqual([]);
    },
  );
});

describe('safetyReadDelayMs', () => {
  it('reads often while no monitor runs: the reads are the only observer then', () => {
    expect(safetyReadDelayMs(false, 40)).toBe(UNWATCHED_SAFETY_READ_MS);
    expect(safetyReadDelayMs(false, 5_000)).toBe(UNWATCHED_SAFETY_READ_MS);
  });

  it('reads rarely while the monitor runs, no sooner than its floor for a cheap read', () => {
    expect(safetyReadDelayMs(true, 40)).toBe(WATCHED_SAFETY_READ_MS);
    expect(safetyReadDelayMs(true, 0)).toBe(WATCHED_SAFETY_READ_MS);
  });

  it('keeps a slow read at a tenth of a per cent of a core, up to an hour apart', () => {
    expect(safetyReadDelayMs(true, 500)).toBe(500_000);
    expect(safetyReadDelayMs(true, 2_000)).toBe(2_000_000);
    expect(safetyReadDelayMs(true, 60_000)).toBe(3_600_000);
  });
});
