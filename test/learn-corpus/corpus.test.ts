/**
 * The pure proposal functions on the recorded corpus (sessions/*.json, from record.ts): the right rule is the
 * first proposal in at least 90 % of the sessions, and no noise (a scanner's ports, a DNS or web trigger) is
 * ever in a proposal of medium or high confidence.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyseSession } from '../../src/domain/learn/proposals.js';
import { EXPECTED } from './apps.js';
import { isRight, noiseIn } from './judge.js';
import { readSession } from './session.js';

const DIR = join(new URL('.', import.meta.url).pathname, 'sessions');
const sessions = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => readSession(join(DIR, f)));

describe('the learn-mode corpus of real applications', () => {
  it('has sessions of every application, quiet and with background traffic and scans', () => {
    expect(new Set(sessions.map((s) => s.app))).toEqual(new Set(Object.keys(EXPECTED)));
    expect(sessions.some((s) => s.variant.background && s.variant.scan)).toBe(true);
    expect(sessions.some((s) => s.variant.existing)).toBe(true);
  });

  it.each(sessions.map((s) => [s.name, s] as const))(
    '%s: the right rule comes first, and no noise is trusted',
    (_, s) => {
      const { proposals } = analyseSession({ outbound: s.outbound, inbound: s.inbound });
      expect(isRight(proposals[0], s), JSON.stringify(proposals[0]?.rule)).toBe(true);
      for (const p of proposals.filter((x) => x.confidence !== 'low')) expect(noiseIn(p, s)).toEqual([]);
    },
  );

  it('gets the right rule first in at least 90 % of the sessions', () => {
    const right = sessions.filter((s) =>
      isRight(analyseSession({ outbound: s.outbound, inbound: s.inbound }).proposals[0], s),
    ).length;
    expect(right / sessions.length).toBeGreaterThanOrEqual(0.9);
  });

  it('sets the scanner aside in every session with a scan, and says so', () => {
    for (const s of sessions.filter((x) => x.variant.scan)) {
      const { scanners, notes } = analyseSession({ outbound: s.outbound, inbound: s.inbound });
      expect(scanners.map((x) => x.source)).toEqual(s.noise.sources);
      expect(notes.join('\n')).toContain(`${s.noise.sources[0]} scanned the gateway`);
    }
  });
});
