import { describe, expect, it } from 'vitest';
import { seenInbound, seenOutbound, specsText } from '../../../test/factories.js';
import type { Protocol } from '../types.js';
import { analyseSession, type LearnProposal } from './proposals.js';
import type { SeenConnection } from './recorder.js';

const T = 1_900_000_000_000;
const DEVICE = '192.168.1.10';
const GATEWAY = '203.0.113.1';
const TRACKER = '198.51.100.5';
const RESOLVER = '198.51.100.53';
const WEB = '198.51.100.80';
const SCANNER = '192.0.2.66';
const peer = (n: number) => `203.0.113.${100 + n}`;

const out = (at: number, protocol: Protocol, port: number, to: string, existing = false) =>
  seenOutbound({
    at,
    protocol,
    source: DEVICE,
    destination: to,
    port,
    ...(existing ? { existing: true } : {}),
  });
const inb = (at: number, protocol: Protocol, port: number, from: string) =>
  seenInbound({ at, protocol, source: from, destination: GATEWAY, port });
/** A name lookup and a web fetch every 2 s for the whole session: what any device does all day. */
function background(from: number, to: number): SeenConnection[] {
  const list: SeenConnection[] = [];
  for (let t = from; t < to; t += 2000) list.push(out(t, 'udp', 53, RESOLVER), out(t + 50, 'tcp', 443, WEB));
  return list;
}
const spec = (p: LearnProposal | undefined) => specsText(p?.rule.trigger);
const opened = (p: LearnProposal | undefined) => specsText(p?.rule.open);

describe('analyseSession: causality, not frequency', () => {
  it('proposes a swarm with one try per peer, triggered by the tracker the peers learnt the device from', () => {
    const outbound = [...background(T - 10_000, T + 60_000), out(T, 'tcp', 6969, TRACKER)];
    const inbound = [1, 2, 3, 4].map((n) => inb(T + 1000 * n, 'tcp', 51413, peer(n)));
    const { proposals } = analyseSession({ outbound, inbound });
    expect(proposals).toHaveLength(1);
    expect(spec(proposals[0])).toBe('tcp 6969');
    expect(opened(proposals[0])).toBe('tcp 51413');
    expect(proposals[0]?.rule.remote).toBe('any');
    expect(proposals[0]?.confidence).toBe('high');
    expect(proposals[0]?.reasons[0]).toMatch(/not .*udp 53 \(DNS\)/);
  });

  it('does not take the port of a peer the device contacted for the trigger', () => {
    const outbound = [
      out(T, 'tcp', 6969, TRACKER),
      out(T + 500, 'tcp', 51413, peer(1)),
      out(T + 600, 'tcp', 51413, peer(2)),
      out(T + 700, 'udp', 51413, peer(2)),
    ];
    const inbound = [
      inb(T + 900, 'tcp', 51413, peer(1)),
      inb(T + 1200, 'udp', 51413, peer(2)),
      inb(T + 1500, 'tcp', 51413, peer(3)),
    ];
    const [first, ...rest] = analyseSession({ outbound, inbound }).proposals;
    expect(rest).toEqual([]);
    expect(spec(first)).toBe('tcp 6969');
    expect(opened(first)).toBe('tcp 51413,udp 51413');
    expect(first?.reasons[0]).toMatch(/not tcp 51413 \(the ports called on themselves\)/);
  });

  it('never lets DNS or web traffic trigger when the application connection explains the attempts', () => {
    const server = '203.0.113.10';
    const outbound = [...background(T - 30_000, T + 30_000), out(T + 1, 'tcp', 6970, server)];
    const inbound = [7000, 7001, 7002, 7003].map((p, i) => inb(T + 1500 + i * 300, 'udp', p, server));
    const { proposals } = analyseSession({ outbound, inbound });
    expect(proposals).toHaveLength(1);
    expect(spec(proposals[0])).toBe('tcp 6970');
    expect(proposals[0]?.rule.remote).toBe('contacted');
    expect(proposals[0]?.confidence).toBe('high');
  });

  it('falls back to infrastructure only when nothing else explains the attempts, at low confidence, and says so', () => {
    const outbound = background(T - 10_000, T + 60_000);
    const inbound = [inb(T + 3000, 'tcp', 5000, peer(1)), inb(T + 4000, 'tcp', 5000, peer(2))];
    const [p] = analyseSession({ outbound, inbound }).proposals;
    expect(p?.confidence).toBe('low');
    expect(p?.confidenceReason).toMatch(/only (DNS|HTTPS) traffic/);
  });

  it('never merges unrelated groups of attempts: each gets its own trigger', () => {
    const game = '203.0.113.10';
    const irc = '203.0.113.20';
    const outbound = [out(T, 'tcp', 6970, game), out(T + 100, 'tcp', 6667, irc)];
    const inbound = [
      ...[7000, 7001, 7002].map((p, i) => inb(T + 1000 + i * 100, 'udp', p, game)),
      inb(T + 5000, 'tcp', 4000, peer(1)),
      inb(T + 9000, 'tcp', 4001, peer(1)),
      inb(T + 12000, 'tcp', 4000, peer(2)),
    ];
    const { proposals } = analyseSession({ outbound, inbound });
    expect(proposals.map((p) => `${spec(p)} -> ${opened(p)}`).sort()).toEqual([
      'tcp 6667 -> tcp 4000-4009',
      'tcp 6970 -> udp 7000-7002',
    ]);
  });
});

describe('analyseSession: scans and sweeps', () => {
  it('sets a sequential sweep aside, whatever its order, and keeps the application', () => {
    const server = '203.0.113.10';
    const outbound = [out(T, 'tcp', 6970, server)];
    const sweep = Array.from({ length: 20 }, (_, i) => inb(T + 500 + i * 30, 'tcp', 7010 - i, SCANNER));
    const app = [7000, 7001, 7002].map((p, i) => inb(T + 800 + i * 100, 'udp', p, server));
    const { proposals, notes, scanners } = analyseSession({ outbound, inbound: [...sweep, ...app] });
    expect(scanners.map((s) => s.source)).toEqual([SCANNER]);
    expect(proposals).toHaveLength(1);
    expect(opened(proposals[0])).toBe('udp 7000-7002');
    expect(notes.join('\n')).toMatch(/192\.0\.2\.66 scanned the gateway \(20 ports: .*within a second\)/);
  });

  it('sets aside a slow scatter of one host and knocks on well-known ports', () => {
    const outbound = [out(T, 'tcp', 6969, TRACKER)];
    const inbound = [
      inb(T + 1000, 'tcp', 22, peer(9)),
      inb(T + 2000, 'tcp', 3389, peer(8)),
      inb(T + 3000, 'tcp', 3389, peer(7)),
      ...[12000, 23000, 41000].map((p, i) => inb(T + 20_000 * i, 'tcp', p, SCANNER)),
    ];
    const { proposals, notes } = analyseSession({ outbound, inbound });
    expect(proposals).toEqual([]);
    expect(notes.join('\n')).toMatch(/3 attempts on well-known or commonly attacked ports/);
  });

  it('proposes one peer that tried twice, at low confidence', () => {
    const [p] = analyseSession({
      outbound: [out(T, 'tcp', 6969, TRACKER)],
      inbound: [inb(T + 1000, 'tcp', 51413, peer(1)), inb(T + 5000, 'tcp', 51413, peer(1))],
    }).proposals;
    expect(opened(p)).toBe('tcp 51413');
    expect(p?.confidence).toBe('low');
  });
});

describe('analyseSession: connections older than the session, ranges, udp', () => {
  it('lets a connection open before the session explain the attempts, and asks for a restart', () => {
    const irc = '203.0.113.20';
    const outbound = [out(T, 'tcp', 6667, irc, true)];
    const inbound = [4000, 4001, 4002].map((p, i) => inb(T + 30_000 + i * 5000, 'tcp', p, peer(1)));
    const { proposals, notes } = analyseSession({ outbound, inbound });
    expect(spec(proposals[0])).toBe('tcp 6667');
    expect(proposals[0]?.confidence).toBe('medium');
    expect(notes.join('\n')).toMatch(
      /proposal 1 rests on a connection that was open before learning started/,
    );
  });

  it('tells the user to restart the application when nothing the device did explains the attempts', () => {
    const inbound = [4000, 4001, 4002].map((p, i) => inb(T + i * 5000, 'tcp', p, peer(1)));
    const { proposals, notes } = analyseSession({ outbound: [], inbound });
    expect(proposals).toEqual([]);
    expect(notes.join('\n')).toMatch(
      /3 inbound attempts on tcp 4000-4002 followed no outbound connection .* restart it/,
    );
  });

  it("widens to a known application's range and says why; else only across the gaps between tries", () => {
    const irc = '203.0.113.20';
    const [dcc] = analyseSession({
      outbound: [out(T, 'tcp', 6667, irc)],
      inbound: [4000, 4001, 4002].map((p, i) => inb(T + 1000 + i * 1000, 'tcp', p, peer(i))),
    }).proposals;
    expect(opened(dcc)).toBe('tcp 4000-4009');
    expect(dcc?.reasons.join('\n')).toMatch(/lie in the range of the preset "IRC DCC"/);
    const [other] = analyseSession({
      outbound: [out(T, 'tcp', 7777, irc)],
      inbound: [4000, 4003].map((p, i) => inb(T + 1000 + i * 1000, 'tcp', p, irc)),
    }).proposals;
    expect(opened(other)).toBe('tcp 4000-4003');
    expect(other?.reasons.join('\n')).toMatch(/the ports between the tried ports 4000 and 4003/);
  });

  it('handles a udp application as a tcp one: SIP registration, then media from another host', () => {
    const registrar = '203.0.113.30';
    const media = '203.0.113.31';
    const outbound = [...background(T - 5000, T + 20_000), out(T, 'udp', 5060, registrar)];
    const inbound = [10000, 10001, 10000, 10001].map((p, i) => inb(T + 4000 + i * 20, 'udp', p, media));
    const [p] = analyseSession({ outbound, inbound }).proposals;
    expect(spec(p)).toBe('udp 5060');
    expect(opened(p)).toBe('udp 10000-10019');
    expect(p?.rule.remote).toBe('any');
  });
});
