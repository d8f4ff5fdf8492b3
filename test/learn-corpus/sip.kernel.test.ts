/**
 * Learn mode live with a SIP softphone in the virtual network, among background traffic and a udp scan:
 * baresip on PC 1 calls a baresip provider, whose audio knocks on the phone's RTP ports. The first proposal is
 * udp 5060 → the sip-voice preset's RTP range, nothing the scanner tried is trusted, and once applied the
 * provider's audio reaches the phone, which it did not before.
 */
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { describeKernel } from '../harness/kernel-gate.js';
import { Processes, SERVER } from './apps.js';
import { expectLearntAmongNoise } from './live-checks.js';
import { type CorpusLab, openCorpusLab } from './session.js';
import { sipCall, startSipProvider } from './sip.js';

vi.setConfig({ testTimeout: 240_000, hookTimeout: 120_000 });

describeKernel('learn mode with a SIP softphone', () => {
  let lab: CorpusLab;

  beforeAll(async () => {
    lab = await openCorpusLab('pts');
  });
  afterAll(async () => {
    await lab?.close();
  });

  /** One call from a fresh connection tracker; what the phone printed. */
  async function callLog(name: string): Promise<string> {
    const dir = join(lab.dir, name);
    mkdirSync(dir, { recursive: true });
    await lab.net.exec('router', 'conntrack', ['-F']).catch(() => undefined);
    const run = new Processes(lab.net);
    try {
      await startSipProvider(run, lab.net, dir);
      // The phone echoes what it hears: it never speaks first, so its own audio cannot open the way back.
      const call = sipCall(run, dir, 4, 'echo');
      let printed = '';
      const keep = (d: Buffer) => {
        printed += d.toString();
      };
      call.stdout?.on('data', keep);
      call.stderr?.on('data', keep);
      // 'close': the process ended and its output is read to the end.
      await once(call, 'close');
      return printed;
    } finally {
      await run.stopAll();
    }
  }
  // The phone's media module reports the first RTP packet it receives, with its sender.
  const phoneHeardProvider = new RegExp(`receiving from ${SERVER.replaceAll('.', '\\.')}:`);

  it('learns udp 5060 → the RTP range among DNS, web and a udp scan, and the rule brings the call audio in', async () => {
    await expectLearntAmongNoise(lab, 'sip');

    // Without the rule the provider's audio dies at the gateway; with it, the phone hears the provider.
    const before = await callLog('before');
    expect(before).toMatch(/Call established/);
    expect(before).not.toMatch(phoneHeardProvider);
    await lab.host.service.learn.apply(1);
    const after = await callLog('after');
    expect(after).toMatch(phoneHeardProvider);
  });
});
