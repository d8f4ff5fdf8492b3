/** What the live suites check of an application learnt in the virtual network, where it is the same for each. */
import { expect } from 'vitest';
import { analyseSession } from '../../src/domain/learn/proposals.js';
import type { AppName } from './apps.js';
import { isRight, noiseIn } from './judge.js';
import { type CorpusLab, recordSession } from './session.js';

/**
 * Records `app` among DNS, web and a scan, and checks what learn makes of it: the right rule first with high
 * confidence, the scanner set aside, no noise in a proposal above low confidence, and the service proposing the
 * same rule as the pure analysis (so that applying proposal 1 applies it).
 */
export async function expectLearntAmongNoise(lab: CorpusLab, app: AppName): Promise<void> {
  const session = await recordSession(lab, app, { background: true, scan: true });
  const { proposals, scanners } = analyseSession({ outbound: session.outbound, inbound: session.inbound });
  expect(isRight(proposals[0], session), JSON.stringify(proposals)).toBe(true);
  expect(proposals[0]?.confidence).toBe('high');
  expect(scanners.map((s) => s.source)).toEqual(session.noise.sources);
  for (const p of proposals.filter((x) => x.confidence !== 'low')) expect(noiseIn(p, session)).toEqual([]);
  const served = await lab.host.service.learn.proposals();
  expect(served.proposals[0]?.rule).toEqual(proposals[0]?.rule);
}
