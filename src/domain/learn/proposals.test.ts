import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seenInbound, seenOutbound } from '../../../test/factories.js';
import type { Protocol } from '../types.js';
import { idleTimeoutFor, proposeRules } from './proposals.js';

const T = 1_900_000_000_000;
const DEVICE = '192.168.1.10';
const SERVER = '203.0.113.10';
const OTHER = '198.51.100.20';
const GATEWAY = '203.0.113.1';

const out = (at: number, port: number, to = SERVER, protocol: Protocol = 'tcp') =>
  seenOutbound({ at, protocol, source: DEVICE, destination: to, port });
const inb = (at: number, port: number, from = SERVER, protocol: Protocol = 'udp') =>
  seenInbound({ at, protocol, source: from, sourcePort: 5000, destination: GATEWAY, port });

describe('proposeRules', () => {
  it('turns callbacks from the contacted server into one rule with remote contacted and the evidence', () => {
    const outbound = [out(T, 6970)];
    const inbound = [inb(T + 2000, 7000), inb(T + 3000, 7001), inb(T + 3500, 7002), inb(T + 4000, 7003)];
    const proposals = proposeRules({ outbound, inbound });
    expect(proposals).toHaveLength(1);
    const [p] = proposals;
    expect(p?.rule).toEqual({
      name: 'Learned tcp 6970',
      trigger: [{ protocol: 'tcp', ports: '6970' }],
      open: [{ protocol: 'udp', ports: '7000-7003' }],
      remote: 'contacted',
      idleTimeout: 60,
    });
    expect(p?.confidence).toBe('high');
    expect(p?.evidence).toBe(
      `4 inbound attempts on udp 7000-7003 from ${SERVER}, 2-4 s after ${DEVICE} connected to ${SERVER} tcp 6970`,
    );
  });

  it('says remote any when the attempts come from a host the device did not contact', () => {
    const outbound = [out(T, 6970)];
    const inbound = [inb(T + 1000, 7000, OTHER), inb(T + 1500, 7001, OTHER), inb(T + 2000, 7005, OTHER)];
    const [p, ...rest] = proposeRules({ outbound, inbound });
    expect(rest).toHaveLength(0);
    expect(p?.rule.remote).toBe('any');
    expect(p?.rule.open).toEqual([{ protocol: 'udp', ports: '7000-7005' }]);
    expect(p?.evidence).toMatch(/not contacted/);
  });

  it('ties callbacks to the outbound port that reached their sender, not to other traffic', () => {
    const outbound = [
      out(T, 443, '192.0.2.80'),
      out(T + 100, 27015, SERVER, 'udp'),
      out(T + 200, 443, '192.0.2.81'),
    ];
    const inbound = [inb(T + 1000, 27005), inb(T + 1200, 27006)];
    const [p] = proposeRules({ outbound, inbound });
    expect(p?.rule.trigger).toEqual([{ protocol: 'udp', ports: '27015' }]);
    expect(p?.rule.remote).toBe('contacted');
  });

  it('proposes nothing for attempts with no outbound connection before them, or too long after', () => {
    expect(proposeRules({ outbound: [], inbound: [inb(T, 7000), inb(T + 1, 7001)] })).toEqual([]);
    const late = proposeRules({
      outbound: [out(T, 6970)],
      inbound: [inb(T + 400_000, 7000), inb(T + 400_001, 7001)],
    });
    expect(late).toEqual([]);
  });

  it('proposes nothing for a single stray attempt, even from the contacted server', () => {
    expect(proposeRules({ outbound: [out(T, 6970)], inbound: [inb(T + 1000, 7000)] })).toEqual([]);
  });

  it('names the rules whose ports the proposal overlaps', () => {
    const rules = [
      {
        name: 'game',
        enabled: true,
        family: 'both' as const,
        trigger: [{ protocol: 'udp' as const, ports: '5000' }],
        open: [{ protocol: 'udp' as const, ports: '7002-7010' }],
        idleTimeout: 30,
        lanHosts: 'any' as const,
        remote: 'any' as const,
        onExpire: 'keep' as const,
      },
    ];
    const [p] = proposeRules({
      outbound: [out(T, 6970)],
      inbound: [inb(T + 1, 7000), inb(T + 2, 7003)],
      rules,
    });
    expect(p?.conflicts).toEqual(['its udp ports overlap the open ports of rule "game" (7002-7010)']);
  });

  it('never turns a scan of scattered ports from an uncontacted host into a proposal', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 0, max: 60_000 }),
        (slots, delay) => {
          // Ports at least 17 apart: no two form a cluster.
          const inbound = slots.map((s, i) => inb(T + delay + i * 10, s * 16 + 17 * (s % 2), OTHER, 'tcp'));
          const spread = new Set(inbound.map((a) => Math.floor(a.port / 17)));
          fc.pre(spread.size === inbound.length);
          const sorted = inbound.map((a) => a.port).sort((a, b) => a - b);
          fc.pre(sorted.every((p, i) => i === 0 || p - (sorted[i - 1] ?? 0) > 16));
          return proposeRules({ outbound: [out(T, 6970)], inbound }).length === 0;
        },
      ),
    );
  });

  it('keeps the application among noise: the proposal covers exactly the callback ports', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1024, max: 60_000 }),
        fc.integer({ min: 1, max: 12 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 65_535 }), { maxLength: 30 }),
        (base, count, noise) => {
          const app = Array.from({ length: count + 1 }, (_, i) => inb(T + 500 + i * 100, base + i));
          const scan = noise.map((port, i) => inb(T + 700 + i * 50, port, OTHER, 'tcp'));
          const proposals = proposeRules({ outbound: [out(T, 6970)], inbound: [...app, ...scan] });
          const contacted = proposals.filter((p) => p.rule.remote === 'contacted');
          return (
            contacted.length === 1 &&
            contacted[0]?.rule.open.length === 1 &&
            contacted[0]?.rule.open[0]?.protocol === 'udp' &&
            contacted[0]?.rule.open[0]?.ports === `${base}-${base + count}`
          );
        },
      ),
    );
  });

  it('bounds the idle timeout to the config limits and rounds it to half minutes', () => {
    expect(idleTimeoutFor([])).toBe(60);
    expect(idleTimeoutFor([40_000])).toBe(90);
    expect(idleTimeoutFor([1e12])).toBe(86_400);
  });
});
