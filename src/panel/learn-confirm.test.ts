import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeRecorder } from '../../test/service/fake-recorder.js';
import { type Fixture, LAN1, startFixture } from '../../test/service/fixture.js';
import { silentLogger } from '../adapters/logger.js';
import { TokenGate } from '../routes/token-gate.js';
import { createPanel } from './app.js';

const TOKEN = 'panel-test-token-0123456789';
const HOST = '127.0.0.1:8080';
const ORIGIN = `http://${HOST}`;
const SERVER = '203.0.113.10';

describe('the panel: proposals of low confidence', () => {
  let fx: Fixture;
  let recorder: FakeRecorder;
  let panel: ReturnType<typeof createPanel>;

  beforeEach(async () => {
    recorder = new FakeRecorder();
    fx = await startFixture({ recorder });
    panel = createPanel({
      service: fx.service,
      gate: new TokenGate(TOKEN, {
        logger: silentLogger,
        perClient: 3,
        windowMs: 60_000,
        clock: () => Date.now(),
      }),
      allowedHosts: { addresses: ['127.0.0.1'], names: [] },
      logger: silentLogger,
      clock: () => Date.now(),
      sessions: { idleMs: 60_000 },
    });
  });
  afterEach(() => fx.cleanup());

  const request = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('host', HOST);
    return panel.request(`http://${HOST}${path}`, { ...init, headers });
  };

  async function signIn(): Promise<string> {
    const res = await request('/sign-in', {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN }),
      headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
    });
    return /porttrigger_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0] ?? '';
  }

  /** A session where only a name lookup came before two tries from hosts nobody contacted, then the game. */
  async function learnGuessAndGame(): Promise<void> {
    recorder.onStart = () => {
      const at = Date.now();
      recorder.seeGuess(at, LAN1, SERVER);
      recorder.seeApplication(at + 5000, LAN1, SERVER);
    };
    await fx.service.learn.start({ host: LAN1, durationS: 60 });
    await expect.poll(() => fx.service.learn.status().inbound).toBe(5);
    await fx.service.learn.stop();
  }

  it('shows why each proposal has its confidence, and asks a tick before a low one opens the rule form', async () => {
    await learnGuessAndGame();
    const cookie = await signIn();
    const page = await (await request('/learn', { headers: { cookie } })).text();
    expect(page).toContain('Confidence high: the remote the device reached on tcp 6970 called back 3 times');
    expect(page).toContain('Confidence low: only DNS traffic (udp 53)');
    expect(page).toContain('href="/rules/new?learned=1"');
    expect(page).not.toContain('href="/rules/new?learned=2"');
    expect(page).toMatch(/<input type="checkbox" name="lowConfidence" value="1" required=""\/?>/);

    const unconfirmed = await request('/rules/new?learned=2', { headers: { cookie } });
    expect(unconfirmed.status).toBe(302);
    expect(unconfirmed.headers.get('location')).toBe('/learn');
    const confirmed = await (
      await request('/rules/new?learned=2&lowConfidence=1', { headers: { cookie } })
    ).text();
    expect(confirmed).toContain('value="Learned udp 53 from any host"');
    const high = await (await request('/rules/new?learned=1', { headers: { cookie } })).text();
    expect(high).toContain('value="Learned tcp 6970"');
  });
});
