import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from '../../test/service/fixture.js';
import type { NetworkLink } from '../domain/wan.js';
import { TokenGate } from '../routes/token-gate.js';
import { createPanel } from './app.js';

const TOKEN = 'panel-test-token-0123456789';
const HOST = '127.0.0.1:8080';

describe('the panel and a WAN that changes', () => {
  let fx: Fixture;
  let panel: ReturnType<typeof createPanel>;
  let report: (links: readonly NetworkLink[]) => void = () => undefined;
  let doctorRuns = 0;
  beforeEach(async () => {
    doctorRuns = 0;
    fx = await startFixture({
      wan: {
        async start(listener) {
          report = listener;
          listener([{ name: 'wan0', up: true, addresses: ['203.0.113.7'] }]);
        },
        async close() {},
      },
    });
    panel = createPanel({
      service: fx.service,
      gate: new TokenGate(TOKEN),
      allowedHosts: { addresses: ['127.0.0.1'], names: [] },
      doctor: async () => {
        doctorRuns++;
        return [];
      },
    });
  });
  afterEach(() => fx.cleanup());

  const get = async (path: string, cookie: string) =>
    (await panel.request(`http://${HOST}${path}`, { headers: { host: HOST, cookie } })).text();

  async function signIn(): Promise<string> {
    const res = await panel.request(`http://${HOST}/sign-in`, {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN }),
      headers: { host: HOST, origin: `http://${HOST}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    return /porttrigger_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0];
  }

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
