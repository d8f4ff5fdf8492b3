import { describe, expect, it } from 'vitest';
import { wanReachability } from './wan-reachability.js';

const v4 = (address: string, iface = 'eth0') => ({ iface, address, family: 'ipv4' as const });
const v6 = (address: string, iface = 'eth0') => ({ iface, address, family: 'ipv6' as const });

describe('wanReachability', () => {
  it.each(['100.64.0.1', '100.100.3.4', '100.127.255.254'])(
    'says %s is carrier-grade NAT that triggering cannot help',
    (address) => {
      const r = wanReachability([v4(address)]);
      expect(r.status).toBe('behind-nat');
      expect(r.message).toContain('carrier-grade NAT');
      expect(r.message).toContain('port triggering cannot help');
      expect(r.hint).toMatch(/public IPv4 address/);
    },
  );

  it.each(['10.1.2.3', '172.16.0.1', '172.31.255.1', '192.168.0.2'])('says %s is private', (address) => {
    expect(wanReachability([v4(address)])).toMatchObject({
      status: 'behind-nat',
      message: expect.stringContaining('private'),
    });
  });

  it.each(['192.0.2.2', '198.51.100.7', '203.0.113.1'])(
    'calls %s a documentation range, not public (the lab uses one as its internet)',
    (address) => {
      const r = wanReachability([v4(address)]);
      expect(r.status).toBe('test-network');
      expect(r.message).toContain(`${address} on eth0: a documentation range`);
      expect(r.message).not.toMatch(/public/);
    },
  );

  it.each(['100.63.255.255', '100.128.0.1', '172.32.0.1', '192.0.3.1', '203.0.114.1', '8.8.8.8'])(
    'takes %s as public',
    (address) => {
      expect(wanReachability([v4(address)]).status).toBe('public');
    },
  );

  it('points to IPv6 pinholes when the WAN has a global IPv6 address', () => {
    const r = wanReachability([v4('100.64.1.1'), v6('2001:db8:ff::1'), v6('fe80::1')]);
    expect(r).toMatchObject({ status: 'behind-nat', publicIpv6: true });
    expect(r.hint).toMatch(/IPv6 works/);
  });

  it('ignores link-local addresses and says when there is no address', () => {
    expect(wanReachability([v4('169.254.1.1'), v6('fe80::1')]).status).toBe('unknown');
  });
});
