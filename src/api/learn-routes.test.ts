import { afterEach, describe, expect, it } from 'vitest';
import { FakeRecorder } from '../../test/service/fake-recorder.js';
import { type Fixture, LAN1, startFixture } from '../../test/service/fixture.js';
import { learnProposalsReply, learnStatusReply, ruleChangeReply } from '../routes/schemas.js';
import { API_PREFIX, createApp } from './app.js';

const TOKEN = 'learn-api-token';
const SERVER = '203.0.113.10';

describe('the learn routes', () => {
  let fx: Fixture | undefined;
  afterEach(async () => {
    await fx?.cleanup();
    fx = undefined;
  });

  async function call(method: string, path: string, body?: string, type = 'application/json') {
    const app = createApp({ service: fx!.service, token: TOKEN });
    const res = await app.request(`${API_PREFIX}${path}`, {
      method,
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': type },
      ...(body !== undefined ? { body } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('starts, reports, proposes, applies and stops, with replies that match their schemas', async () => {
    const recorder = new FakeRecorder();
    fx = await startFixture({ recorder });
    expect((await call('GET', '/learn')).body).toEqual({
      state: 'idle',
      outbound: 0,
      inbound: 0,
      dropped: 0,
      recent: [],
      outsideLan: 0,
      outsideLanSources: [],
    });
    const started = await call('POST', '/learn/start', JSON.stringify({ host: LAN1, durationS: 60 }));
    expect(started.status).toBe(201);
    expect(learnStatusReply.parse(started.body)).toMatchObject({ state: 'running', host: LAN1 });
    expect((await call('POST', '/learn/start', '')).body).toMatchObject({ error: { code: 'LEARN_ACTIVE' } });
    expect((await call('POST', '/learn/start', '')).status).toBe(409);

    recorder.seeApplication(Date.now(), LAN1, SERVER);
    const after = await call('GET', '/learn?after=2');
    expect(learnStatusReply.parse(after.body).recent.map((c) => c.seq)).toEqual([3, 4]);
    const proposals = learnProposalsReply.parse((await call('GET', '/learn/proposals')).body).proposals;
    expect(proposals).toHaveLength(1);
    const applied = await call('POST', '/learn/proposals/1/apply');
    expect(applied.status).toBe(201);
    expect(ruleChangeReply.parse(applied.body).rule?.name).toBe('Learned tcp 6970');
    expect((await call('POST', '/learn/proposals/2/apply')).status).toBe(404);
    expect((await call('POST', '/learn/proposals/0/apply')).status).toBe(400);

    const stopped = await call('POST', '/learn/stop');
    expect(learnStatusReply.parse(stopped.body)).toMatchObject({ state: 'finished', endReason: 'stopped' });
    expect(recorder.running).toBe(0);
  });

  it('answers bad input with every issue, and 503 where nothing can record', async () => {
    fx = await startFixture();
    expect((await call('GET', '/learn/proposals')).status).toBe(404);
    const unavailable = await call('POST', '/learn/start', '{}');
    expect(unavailable).toMatchObject({ status: 503, body: { error: { code: 'LEARN_UNAVAILABLE' } } });
    const bad = await call('POST', '/learn/start', JSON.stringify({ durationS: 0, extra: 1 }));
    expect(bad.status).toBe(400);
    expect((bad.body['error'] as { issues: unknown[] }).issues).toHaveLength(2);
    expect((await call('POST', '/learn/start', 'host=x', 'application/x-www-form-urlencoded')).status).toBe(
      415,
    );
    expect((await call('GET', '/learn?after=-1')).status).toBe(400);
  });
});
