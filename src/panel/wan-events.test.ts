import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeWan } from '../../test/service/fake-wan.js';
import { type Fixture, startFixture } from '../../test/service/fixture.js';
import { type InProcessPanel, openPanel } from '../../test/service/panel.js';
import type { NetworkLink } from '../domain/wan.js';

const TOKEN = 'panel-test-token-0123456789';

describe('the panel and a WAN that changes', () => {
  let fx: Fixture;
  let wan: FakeWan;
  let panel: InProcessPanel;
  let doctorRuns = 0;
  beforeEach(async () => {
    doctorRuns = 0;
    wan = new FakeWan();
    fx = await startFixture({ wan });
    panel = openPanel(fx.service, TOKEN, {
      doctor: async () => {
        doctorRuns++;
        return [];
      },
    });
  });
  afterEach(() => fx.cleanup());

  const report = (links: readonly NetworkLink[]) => wan.report(links);
  const get = async (path: string, cookie: string) =>
    (await panel.request(path, { headers: { cookie } })).text();
  const signIn = async () => (await panel.signIn()).cookie;

  it('shows the WAN address the gateway has now, and checks the system again when it changed', async () => {
    const cookie = await signIn();
    expect(await get('/', cookie)).toMatch(
      /<dt>WAN address<\/dt><dd class="wan-now">wan0: 203\.0\.113\.7<\/dd>/,
    );
    await get('/overview/doctor', cookie);
    await get('/overview/doctor', cookie);
    expect(doctorRuns).toBe(1);

    report([{ name: 'wan0', up: true, addresses: ['203.0.113.9'] }]);
    expect(await get('/overview/live', cookie)).toContain('wan0: 203.0.113.9');
    await get('/overview/doctor', cookie);
    expect(doctorRuns).toBe(2);

    report([]);
    expect(await get('/overview/live', cookie)).toContain('no WAN interface seen');
    report([{ name: 'wan0', up: false, addresses: ['203.0.113.9'] }]);
    expect(await get('/overview/live', cookie)).toContain('wan0: down');
  });

  it('lists what happened to the WAN in the history, with its type and no rule', async () => {
    const cookie = await signIn();
    fx.model.trigger('192.168.1.10', 5000);
    await fx.service.readNow();
    report([{ name: 'wan0', up: true, addresses: ['203.0.113.9'] }]);
    report([]);

    const all = await get('/history', cookie);
    expect(all).toContain('<span class="pill wan-changed">wan-changed</span>');
    expect(all).toContain('WAN wan0 is now 203.0.113.9 (was 203.0.113.7)');
    expect(all).toContain('<span class="pill wan-down">wan-down</span>');
    expect(all).toContain('WAN wan0 went down (it had 203.0.113.9)');
    expect(all).toContain('game opened to 192.168.1.10');
    expect(all).toMatch(/<option value="wan-up">wan-up<\/option>/);

    const onlyWan = await get('/history/list?type=wan-changed', cookie);
    expect(onlyWan).toContain('WAN wan0 is now 203.0.113.9');
    expect(onlyWan).not.toContain('went down');
    expect(onlyWan).not.toContain('game opened');
    const onlyRule = await get('/history/list?rule=game', cookie);
    expect(onlyRule).toContain('game opened');
    expect(onlyRule).not.toContain('WAN wan0');
  });
});
