import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from '../../test/service/fixture.js';
import { panelFor } from './panel-wiring.js';

const TOKEN = 'panel-wiring-test-token-0123456789';
const ORIGIN = 'http://127.0.0.1:8080';

describe('the panel as the service host wires it (loaded on its first request)', () => {
  let fx: Fixture;
  beforeEach(async () => {
    fx = await startFixture();
  });
  afterEach(() => fx.cleanup());

  function request(site: ReturnType<typeof panelFor>['site'], path: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers);
    headers.set('host', '127.0.0.1:8080');
    return site.fetch(new Request(`${ORIGIN}${path}`, { ...init, headers }));
  }

  it('answers its first request, and keeps one panel: a session made by one request holds for the next', async () => {
    const { site } = panelFor(fx.service, TOKEN);
    const signedOut = await request(site, '/');
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get('location')).toBe('/sign-in');
    const signedIn = await request(site, '/sign-in', {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN }),
      headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(signedIn.status).toBe(303);
    const cookie = /porttrigger_session=[^;]+/.exec(signedIn.headers.get('set-cookie') ?? '')?.[0];
    expect(cookie).toBeDefined();
    const overview = await request(site, '/', { headers: { cookie: cookie! } });
    expect(overview.status).toBe(200);
    expect(await overview.text()).toContain('_csrf');
  });

  it('serves requests that arrive together, before the panel has loaded, from the same panel', async () => {
    const { site } = panelFor(fx.service, TOKEN);
    const replies = await Promise.all([request(site, '/sign-in'), request(site, '/assets/htmx.min.js')]);
    expect(replies.map((r) => r.status)).toEqual([200, 200]);
  });
});
