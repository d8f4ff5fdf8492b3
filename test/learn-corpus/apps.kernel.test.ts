/**
 * Learn mode live with two real applications in the virtual network, among background traffic and a scan:
 * active FTP (lftp and vsftpd) and a BitTorrent swarm (transmission-cli and opentracker). The first proposal
 * is the right rule, nothing the scanner tried is trusted, and the FTP rule it proposes makes active FTP work.
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { analyseSession } from '../../src/domain/learn/proposals.js';
import { describeKernel } from '../harness/kernel-gate.js';
import { ftpClient, Processes } from './apps.js';
import { isRight, noiseIn } from './judge.js';
import { expectLearntAmongNoise } from './live-checks.js';
import { type CorpusLab, openCorpusLab, recordSession } from './session.js';

vi.setConfig({ testTimeout: 240_000, hookTimeout: 120_000 });

describeKernel('learn mode with real applications', () => {
  let lab: CorpusLab;

  beforeAll(async () => {
    lab = await openCorpusLab('ptk');
  });
  afterAll(async () => {
    await lab?.close();
  });

  // First: once the FTP proposal is applied, the server's data connections are forwarded, not attempts.
  it('counts an FTP control connection opened before the session, and asks for a restart to confirm', async () => {
    const session = await recordSession(lab, 'ftp-active', {
      background: false,
      scan: false,
      existing: true,
    });
    expect(session.outbound.filter((o) => o.existing && o.port === 21)).toHaveLength(1);
    const served = await lab.host.service.learn.proposals();
    expect(isRight(served.proposals[0], session), JSON.stringify(served.proposals)).toBe(true);
    expect(served.proposals[0]?.confidence).toBe('medium');
    expect(served.notes.join('\n')).toMatch(
      /proposal 1 rests on a connection that was open before learning started/,
    );
  });

  it('learns active FTP among DNS, web and a scan, and the rule it proposes lets the server connect back', async () => {
    await expectLearntAmongNoise(lab, 'ftp-active');

    // Applying the proposal makes the server's data connections reach the client.
    await lab.host.service.learn.apply(1);
    const run = new Processes(lab.net);
    try {
      const client = ftpClient(run, 1);
      const code = await new Promise<number | null>((resolve) => client.once('exit', resolve));
      expect(run.log.join('\n')).toContain('readme.txt');
      expect(code).toBe(0);
    } finally {
      await run.stopAll();
    }
  });

  it('learns a BitTorrent swarm among DNS and web traffic: the tracker is the trigger, not a peer or DNS', async () => {
    const session = await recordSession(lab, 'bittorrent', { background: true, scan: false });
    const { proposals } = analyseSession({ outbound: session.outbound, inbound: session.inbound });
    expect(isRight(proposals[0], session), JSON.stringify(proposals)).toBe(true);
    expect(proposals[0]?.rule.remote).toBe('any');
    for (const p of proposals.filter((x) => x.confidence !== 'low')) expect(noiseIn(p, session)).toEqual([]);
  });
});
