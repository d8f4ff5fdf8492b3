import { describe, expect, it } from 'vitest';
import { seenInbound, seenOutbound } from '../../../test/factories.js';
import { keptByLanScope, lanScopeNote, OUTSIDE_SOURCES_KEPT } from './lan-scope.js';

const LAN = ['192.168.1.0/24', '2001:db8:1::/64'];
const at = 1_900_000_000_000;

describe('keptByLanScope', () => {
  it.each([
    ['192.168.1.10', 'ipv4', true],
    ['2001:db8:1::10', 'ipv6', true],
    ['10.9.0.5', 'ipv4', false],
    ['192.168.2.10', 'ipv4', false],
    ['2001:db8:2::10', 'ipv6', false],
  ] as const)('keeps an outbound connection of %s: %s', (source, family, kept) => {
    const c = seenOutbound({ at, protocol: 'tcp', source, destination: '203.0.113.10', port: 6970, family });
    expect(keptByLanScope(c, LAN)).toBe(kept);
  });

  it('keeps every inbound attempt (it comes from the WAN), and everything while the subnets are unknown', () => {
    const attempt = seenInbound({
      at,
      protocol: 'udp',
      source: '198.51.100.7',
      destination: '203.0.113.1',
      port: 7000,
    });
    expect(keptByLanScope(attempt, LAN)).toBe(true);
    const outside = seenOutbound({
      at,
      protocol: 'tcp',
      source: '10.9.0.5',
      destination: '203.0.113.10',
      port: 1,
    });
    expect(keptByLanScope(outside, undefined)).toBe(true);
  });
});

describe('lanScopeNote', () => {
  it('says nothing when nothing was ignored', () => {
    expect(lanScopeNote({ lanSubnets: LAN, outsideLan: 0, outsideLanSources: [] })).toBeUndefined();
  });

  it('names the subnets, the count and the addresses ignored', () => {
    expect(
      lanScopeNote({ lanSubnets: LAN, outsideLan: 3, outsideLanSources: ['10.9.0.5', '10.9.0.6'] }),
    ).toBe(
      'ignored 3 outbound connections from addresses outside the LAN subnets (192.168.1.0/24, 2001:db8:1::/64): 10.9.0.5, 10.9.0.6',
    );
    expect(lanScopeNote({ lanSubnets: LAN, outsideLan: 1, outsideLanSources: ['10.9.0.5'] })).toContain(
      'ignored 1 outbound connection from',
    );
  });

  it('says "among them" once the list of addresses is full', () => {
    const sources = Array.from({ length: OUTSIDE_SOURCES_KEPT }, (_, i) => `10.9.0.${i + 1}`);
    expect(lanScopeNote({ lanSubnets: LAN, outsideLan: 40, outsideLanSources: sources })).toMatch(
      /\(192\.168\.1\.0\/24, 2001:db8:1::\/64\), among them 10\.9\.0\.1, .*10\.9\.0\.10$/,
    );
  });

  it('says that the subnets were unknown and every address was kept', () => {
    expect(lanScopeNote({ outsideLan: 0, outsideLanSources: [] })).toMatch(/could not be read/);
  });
});
