import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeRecorder } from '../../test/service/fake-recorder.js';
import { type Fixture, LAN1, startFixture } from '../../test/service/fixture.js';
import { type InProcessPanel, openPanel } from '../../test/service/panel.js';
import { silentLogger } from '../adapters/logger.js';

const TOKEN = 'panel-test-token-0123456789';
const SERVER = '203.0.113.10';

describe('the panel: proposals of low confidence', () => {
  let fx: Fixture;
  let recorder: FakeRecorder;
  let panel: InProcessPanel;

  beforeEach(async () => {
    recorder = new FakeRecorder();
    fx = await startFixture({ recorder });
    panel = openPanel(fx.service, TOKEN, { logger: silentLogger, sessions: { idleMs: 60_000 } });
  });
  afterEach(() => fx.cleanup());

  const request = (path: string, init?: RequestInit) => panel.request(path, init);
  const signIn = async () => (await panel.signIn()).cookie;

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
