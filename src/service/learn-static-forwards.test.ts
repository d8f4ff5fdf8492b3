import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LearnProposal } from '../domain/learn/proposals.js';
import { checkStaticForwards, withStaticForwards } from './learn-static-forwards.js';

/** `ip nat` of another tool: udp 8001 and tcp 7000-7100 forwarded to LAN hosts; our own table beside it. */
const RULESET = {
  nftables: [
    { table: { family: 'ip', name: 'nat', handle: 1 } },
    {
      chain: { family: 'ip', table: 'nat', name: 'prerouting', handle: 1, type: 'nat', hook: 'prerouting' },
    },
    {
      rule: {
        family: 'ip',
        table: 'nat',
        chain: 'prerouting',
        handle: 4,
        expr: [
          { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: 8001 } },
          { dnat: { addr: '192.168.1.50', port: 8001 } },
        ],
      },
    },
    {
      rule: {
        family: 'ip',
        table: 'nat',
        chain: 'prerouting',
        handle: 5,
        expr: [
          {
            match: {
              op: '==',
              left: { payload: { protocol: 'tcp', field: 'dport' } },
              right: { range: [7000, 7100] },
            },
          },
          { dnat: { addr: '192.168.1.51' } },
        ],
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'porttrigger',
        chain: 'prerouting',
        handle: 9,
        expr: [
          { match: { op: '==', left: { payload: { protocol: 'udp', field: 'dport' } }, right: 9000 } },
          { dnat: { addr: '192.168.1.60' } },
        ],
      },
    },
  ],
};

function proposal(id: number, open: LearnProposal['rule']['open'], conflicts: string[] = []): LearnProposal {
  return {
    id,
    rule: {
      name: `Learned ${id}`,
      trigger: [{ protocol: 'tcp', ports: '6970' }],
      open,
      remote: 'contacted',
      idleTimeout: 60,
    },
    confidence: 'high',
    confidenceReason: 'high: test',
    evidence: 'seen',
    reasons: [],
    attempts: 3,
    sources: ['203.0.113.10'],
    conflicts,
  };
}

describe('learn proposals against static forwards', () => {
  it("flags a proposal whose open ports another table's nat DNATs, next to its rule conflicts", () => {
    const [game, web, quiet] = withStaticForwards(
      [
        proposal(1, [{ protocol: 'udp', ports: '8000-8002' }], ['rule "x" already triggers on tcp 6970']),
        proposal(2, [{ protocol: 'tcp', ports: '7050' }]),
        proposal(3, [{ protocol: 'udp', ports: '9000' }]),
      ],
      RULESET,
    );
    expect(game?.conflicts).toEqual([
      'rule "x" already triggers on tcp 6970',
      'its udp ports overlap a static forward of table ip nat (chain prerouting) to 192.168.1.50:8001 (udp 8001)',
    ]);
    expect(web?.conflicts).toEqual([
      'its tcp ports overlap a static forward of table ip nat (chain prerouting) to 192.168.1.51 (tcp 7050)',
    ]);
    // Our own table's forwards are not a clash with ourselves; udp 8001 is not tcp.
    expect(quiet?.conflicts).toEqual([]);
  });

  it("flags the fw4 port forward of the doctor's sample ruleset", () => {
    const ruleset: unknown = JSON.parse(
      readFileSync(new URL('../../test/cli/fixtures/nft-ruleset.json', import.meta.url), 'utf8'),
    );
    const [p] = withStaticForwards([proposal(1, [{ protocol: 'tcp', ports: '7000-7010' }])], ruleset);
    expect(p?.conflicts).toContain(
      'its tcp ports overlap a static forward of table inet fw4 (chain dstnat) to 192.168.1.50:7005 (tcp 7005)',
    );
  });

  it('reads the ruleset once and adds nothing when the reader is not wired', async () => {
    let reads = 0;
    const checked = await checkStaticForwards(
      [proposal(1, [{ protocol: 'udp', ports: '8001' }]), proposal(2, [{ protocol: 'udp', ports: '8001' }])],
      async () => {
        reads++;
        return RULESET;
      },
    );
    expect(reads).toBe(1);
    expect(checked.notes).toEqual([]);
    expect(checked.proposals.map((p) => p.conflicts.length)).toEqual([1, 1]);
    const unwired = await checkStaticForwards([proposal(1, [{ protocol: 'udp', ports: '8001' }])], undefined);
    expect(unwired).toEqual({ proposals: [proposal(1, [{ protocol: 'udp', ports: '8001' }])], notes: [] });
  });

  it('keeps the proposals intact with a note when the ruleset cannot be read or does not answer', async () => {
    const proposals = [proposal(1, [{ protocol: 'udp', ports: '8001' }])];
    const failed = await checkStaticForwards(proposals, () =>
      Promise.reject(new Error('nft: permission denied')),
    );
    expect(failed.proposals).toEqual(proposals);
    expect(failed.notes).toEqual([
      'static port forwards of other tools could not be checked: nft: permission denied',
    ]);
    const hung = await checkStaticForwards(proposals, () => new Promise(() => undefined), 20);
    expect(hung.proposals).toEqual(proposals);
    expect(hung.notes).toEqual([
      'static port forwards of other tools could not be checked: no answer within 20 ms',
    ]);
  });
});
