import { describe, expect, it } from 'vitest';
import {
  connectionRole,
  DEFAULT_CONNTRACK_TIMEOUTS,
  lastPacketAgeS,
  parseConntrackEvent,
  parseConntrackListing,
  parseConntrackTimeouts,
} from './conntrack-state.js';

const LISTING = [
  'ipv4     2 udp      17 117 src=203.0.113.10 dst=198.51.100.1 sport=40000 dport=7000 src=192.168.1.10 dst=203.0.113.10 sport=7000 dport=40000 [ASSURED] mark=201326592 use=1 id=11',
  'ipv4     2 tcp      6 431990 ESTABLISHED src=192.168.1.10 dst=203.0.113.10 sport=41000 dport=6970 src=203.0.113.10 dst=198.51.100.1 sport=6970 dport=41000 [ASSURED] mark=134217728 use=1 id=12',
  'ipv6     10 udp      17 25 src=2001:db8:2::10 dst=2001:db8:1::10 sport=40000 dport=7000 [UNREPLIED] src=2001:db8:1::10 dst=2001:db8:2::10 sport=7000 dport=40000 mark=201326592 use=1 id=13',
  'ipv4     2 udp      17 29 src=192.168.1.20 dst=203.0.113.10 sport=1 dport=53 [UNREPLIED] src=203.0.113.10 dst=198.51.100.1 sport=53 dport=1 mark=0 use=1 id=14',
  'conntrack v1.4.7 (conntrack-tools): 4 flow entries have been shown.',
].join('\n');

describe('parseConntrackListing', () => {
  const connections = parseConntrackListing(LISTING);

  it('keeps only connections with our mark and reads both tuples', () => {
    expect(connections.map((c) => c.id)).toEqual(['11', '12', '13']);
    expect(connections[0]).toMatchObject({
      family: 'ipv4',
      protocol: 'udp',
      timeoutS: 117,
      assured: true,
      original: { src: '203.0.113.10', dst: '198.51.100.1', sport: 40000, dport: 7000 },
      reply: { src: '192.168.1.10', dst: '203.0.113.10', sport: 7000, dport: 40000 },
    });
    expect(connections[1]).toMatchObject({ protocol: 'tcp', state: 'ESTABLISHED' });
    expect(connections[2]).toMatchObject({ family: 'ipv6', unreplied: true });
  });

  it('takes the last-packet age from the timeout of the connection state', () => {
    expect(connections.map((c) => lastPacketAgeS(c, DEFAULT_CONNTRACK_TIMEOUTS))).toEqual([3, 10, 5]);
  });

  it('names the holder: the DNAT target (IPv4), the destination (IPv6), the source of a trigger', () => {
    expect(connections.map(connectionRole)).toEqual([
      { kind: 'inbound', holder: '192.168.1.10', remote: '203.0.113.10', port: 7000 },
      { kind: 'trigger', holder: '192.168.1.10', remote: '203.0.113.10', port: 6970 },
      { kind: 'inbound', holder: '2001:db8:1::10', remote: '2001:db8:2::10', port: 7000 },
    ]);
  });

  it('ignores lines it does not understand', () => {
    expect(parseConntrackListing('garbage\nipv4 2 icmp 1 29 src=1.2.3.4 mark=134217728\n')).toEqual([]);
  });
});

describe('parseConntrackTimeouts', () => {
  it('reads sysctl lines by name and keeps defaults for the rest', () => {
    const t = parseConntrackTimeouts(
      'net.netfilter.nf_conntrack_udp_timeout = 60\nnet.netfilter.nf_conntrack_tcp_timeout_established = 7200\n',
    );
    expect(t.udp).toBe(60);
    expect(t.udpStream).toBe(120);
    expect(t.tcp['ESTABLISHED']).toBe(7200);
    expect(t.tcp['TIME_WAIT']).toBe(120);
  });
});

describe('parseConntrackEvent', () => {
  it('reads the time, the kind and the connection of an event line', () => {
    const line =
      '[1796018165.174966]\t    [NEW] ipv4     2 udp      17 30 src=192.168.1.10 dst=203.0.113.10 sport=40714 dport=9999 [UNREPLIED] src=203.0.113.10 dst=192.168.1.10 sport=9999 dport=40714 mark=134217728 id=3561889567';
    const event = parseConntrackEvent(line);
    expect(event?.type).toBe('new');
    expect(event?.at).toBe(1_796_018_165_175);
    expect(event?.connection.original).toEqual({
      src: '192.168.1.10',
      dst: '203.0.113.10',
      sport: 40714,
      dport: 9999,
    });
    expect(event?.connection.mark).toBe(0x0800_0000);
    expect(event?.connection.id).toBe('3561889567');
  });

  it('reads a destroy event with the fields the tracker adds at the end', () => {
    const line =
      '[1796018165.501014]\t[DESTROY] ipv6     10 tcp      6 src=2001:db8::10 dst=2001:db8:9::1 sport=5000 dport=6970 src=2001:db8:9::1 dst=2001:db8::10 sport=6970 dport=5000 [ASSURED] mark=0 id=7 [USERSPACE] portid=3562573132';
    const event = parseConntrackEvent(line);
    expect(event?.type).toBe('destroy');
    expect(event?.connection.family).toBe('ipv6');
    expect(event?.connection.protocol).toBe('tcp');
  });

  it('ignores summary lines and other protocols', () => {
    expect(parseConntrackEvent('conntrack v1.4.7 (conntrack-tools): 4 flow events have been shown.')).toBe(
      undefined,
    );
    expect(
      parseConntrackEvent(
        '[1.5]\t    [NEW] ipv4     2 icmp     1 30 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=1 mark=0',
      ),
    ).toBe(undefined);
  });
});
