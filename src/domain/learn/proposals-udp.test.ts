import { describe, expect, it } from 'vitest';
import { seenInbound, seenOutbound, specsText } from '../../../test/factories.js';
import type { Protocol } from '../types.js';
import { analyseSession, type LearnProposal } from './proposals.js';

const T = 1_900_000_000_000;
const PHONE = '192.168.1.10';
const GATEWAY = '203.0.113.1';
const PROVIDER = '203.0.113.10';
const STUN = '203.0.113.20';

const out = (
  at: number,
  protocol: Protocol,
  sourcePort: number,
  to: string,
  port: number,
  existing = false,
) =>
  seenOutbound({
    at,
    protocol,
    source: PHONE,
    sourcePort,
    destination: to,
    port,
    ...(existing ? { existing: true } : {}),
  });
const inb = (at: number, protocol: Protocol, port: number, from: string, sourcePort: number) =>
  seenInbound({ at, protocol, source: from, sourcePort, destination: GATEWAY, port });
const trigger = (p: LearnProposal | undefined) => specsText(p?.rule.trigger);

/**
 * One call as baresip makes it behind the gateway (recorded in test/learn-corpus/sessions/sip-*.json): a STUN
 * lookup from the RTP and RTCP sockets, the INVITE on udp 5060, the provider's media first on the phone's
 * ports, then the phone's own media to the provider's media ports.
 */
function call(at: number, rtp: number, media: number, invite: boolean) {
  return {
    outbound: [
      out(at, 'udp', rtp, STUN, 3478),
      out(at + 1, 'udp', rtp + 1, STUN, 3478),
      ...(invite ? [out(at + 3, 'udp', 5060, PROVIDER, 5060)] : []),
      out(at + 15, 'udp', rtp, PROVIDER, media),
      out(at + 4000, 'udp', rtp + 1, PROVIDER, media + 1),
    ],
    inbound: [inb(at + 5, 'udp', rtp + 1, PROVIDER, media + 1), inb(at + 12, 'udp', rtp, PROVIDER, media)],
  };
}

describe('analyseSession: udp applications as tcp ones', () => {
  it('takes the SIP signalling for the trigger, not the STUN lookup or the media that came before the attempts', () => {
    const calls = [call(T, 10016, 16390, true), call(T + 4200, 10006, 16394, false)];
    const { proposals } = analyseSession({
      outbound: calls.flatMap((c) => c.outbound),
      inbound: calls.flatMap((c) => c.inbound),
    });
    const [p] = proposals;
    expect(trigger(p)).toBe('udp 5060');
    expect(p?.rule.remote).toBe('contacted');
    expect(p?.rule.open).toEqual([{ protocol: 'udp', ports: '10000-10019' }]);
    expect(p?.confidence).toBe('high');
    // The STUN server never called; the phone's own RTP to the provider came before the second call's
    // attempts, from the ports they aim at.
    expect(p?.reasons[0]).toMatch(/not udp 3478 \(came before, but no host reached on it called\), udp 1639/);
    expect(p?.reasons[0]).toMatch(/udp 16391 \(sent from the ports called: the application's own media\)/);
    expect(proposals).toHaveLength(1);
  });

  it("does not take a call's media flow, still open when learning started, for the trigger", () => {
    // The last call's RTP flows outlive it in the connection tracker, as the signalling flow does.
    const before = [
      out(T, 'udp', 5060, PROVIDER, 5060, true),
      out(T, 'udp', 10002, PROVIDER, 16384, true),
      out(T, 'udp', 10003, PROVIDER, 16385, true),
      out(T, 'udp', 10002, STUN, 3478, true),
    ];
    const calls = [call(T + 500, 10014, 16394, false), call(T + 4800, 10008, 16396, false)];
    const { proposals, notes } = analyseSession({
      outbound: [...before, ...calls.flatMap((c) => c.outbound)],
      inbound: calls.flatMap((c) => c.inbound),
    });
    const [p] = proposals;
    expect(trigger(p)).toBe('udp 5060');
    expect(p?.rule.open).toEqual([{ protocol: 'udp', ports: '10000-10019' }]);
    expect(p?.confidence).toBe('medium');
    expect(p?.reasons[0]).toMatch(/udp 16384 \(sent from the ports called: the application's own media\)/);
    expect(notes.join('\n')).toMatch(
      /proposal 1 rests on a connection that was open before learning started/,
    );
  });

  it('takes the signalling for the trigger when the media comes from a host of its own', () => {
    // A provider whose media server is not its SIP proxy: the phone's RTP goes to the media server, which
    // then calls the next call's ports itself.
    const MEDIA = '203.0.113.40';
    const calls = [[10016, 16390, T] as const, [10006, 16394, T + 4200] as const].map(
      ([rtp, media, at], i) => ({
        outbound: [
          ...(i === 0 ? [out(at + 3, 'udp', 5060, PROVIDER, 5060)] : []),
          out(at + 15, 'udp', rtp, MEDIA, media),
          out(at + 4000, 'udp', rtp + 1, MEDIA, media + 1),
        ],
        inbound: [inb(at + 5, 'udp', rtp + 1, MEDIA, media + 1), inb(at + 12, 'udp', rtp, MEDIA, media)],
      }),
    );
    const { proposals } = analyseSession({
      outbound: calls.flatMap((c) => c.outbound),
      inbound: calls.flatMap((c) => c.inbound),
    });
    expect(proposals.map(trigger)).toEqual(['udp 5060']);
    expect(proposals[0]?.rule.remote).toBe('any');
    expect(proposals[0]?.rule.open).toEqual([{ protocol: 'udp', ports: '10000-10019' }]);
  });

  it('proposes media alone at low confidence, and says why', () => {
    const { proposals } = analyseSession({
      outbound: [out(T, 'udp', 10002, PROVIDER, 16384)],
      inbound: [1, 2, 3].map((i) => inb(T + i * 100, 'udp', 10002 + i, PROVIDER, 16384)),
    });
    expect(trigger(proposals[0])).toBe('udp 16384');
    expect(proposals[0]?.confidence).toBe('low');
    expect(proposals[0]?.confidenceReason).toMatch(/the application's own media with the host that called/);
  });

  it('keeps a udp tracker announced from the peer port as the trigger: its remote never called', () => {
    // Transmission announces to a udp tracker from its peer port, and talks uTP to peers from it.
    const TRACKER = '198.51.100.5';
    const peers = [21, 22, 23, 24].map((n) => `203.0.113.${n}`);
    const outbound = [out(T, 'udp', 51413, TRACKER, 6969), out(T + 9000, 'udp', 51413, peers[0] ?? '', 6881)];
    const inbound = peers.map((peer, i) => inb(T + 1000 + i * 2000, 'udp', 51413, peer, 6881 + i));
    const { proposals } = analyseSession({ outbound, inbound });
    expect(trigger(proposals[0])).toBe('udp 6969');
    expect(proposals[0]?.rule.remote).toBe('any');
    expect(proposals[0]?.confidence).toBe('high');
  });

  it('still takes a tcp connection whose ephemeral source port lies near the attempts for the trigger', () => {
    const { proposals } = analyseSession({
      outbound: [out(T - 100, 'tcp', 41000, STUN, 5222), out(T, 'tcp', 50003, PROVIDER, 21)],
      inbound: [50000, 50001, 50002].map((port, i) => inb(T + 500 + i * 100, 'tcp', port, PROVIDER, 20)),
    });
    expect(trigger(proposals[0])).toBe('tcp 21');
    expect(proposals[0]?.confidence).toBe('high');
    expect(proposals[0]?.reasons[0]).toMatch(
      /not tcp 5222 \(came before, but no host reached on it called\)/,
    );
  });
});
