/**
 * The panel in-process on a fixture's service, for the panel's unit tests and the form fuzzing: requests as a
 * browser on the panel's own address sends them, and a signed-in session.
 */
import { expect } from 'vitest';
import { createPanel, type PanelDeps } from '../../src/panel/app.js';
import { TokenGate } from '../../src/routes/token-gate.js';
import type { Service } from '../../src/service/service.js';

/** The Host header the panel answers in these tests. */
export const PANEL_HOST = '127.0.0.1:8080';
/** The origin its pages and forms come from. */
export const PANEL_ORIGIN = `http://${PANEL_HOST}`;

/** What signing in gives a browser: the session cookie (`name=value`) and the session's CSRF token. */
export interface PanelSession {
  readonly cookie: string;
  readonly csrf: string;
}

/** A panel to send requests to. */
export interface InProcessPanel {
  readonly app: ReturnType<typeof createPanel>;
  /** A request for `path` with the panel's Host header (set over any in `init`). */
  request(path: string, init?: RequestInit): Promise<Response>;
  /** A form posted to `path` from the panel's own origin, as a browser posts it; `headers` adds the cookie. */
  postForm(path: string, form: URLSearchParams, headers?: Record<string, string>): Promise<Response>;
  /** Signs in with the right token (a 303 with a session cookie), and reads the CSRF token from `page`. */
  signIn(page?: string): Promise<PanelSession>;
}

/**
 * The panel on `service` behind a gate of `token`, answering its loopback address; `deps` adds the rest.
 * @example const panel = openPanel(fx.service, TOKEN, { assets: new Map() }); const { cookie } = await panel.signIn();
 */
export function openPanel(service: Service, token: string, deps: Partial<PanelDeps> = {}): InProcessPanel {
  const app = createPanel({
    service,
    gate: new TokenGate(token),
    allowedHosts: { addresses: ['127.0.0.1'], names: [] },
    ...deps,
  });
  const request = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('host', PANEL_HOST);
    return app.request(`${PANEL_ORIGIN}${path}`, { ...init, headers });
  };
  const postForm = (path: string, form: URLSearchParams, headers: Record<string, string> = {}) =>
    request(path, {
      method: 'POST',
      body: form,
      headers: { origin: PANEL_ORIGIN, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });
  return {
    app,
    request,
    postForm,
    async signIn(page = '/') {
      const res = await postForm('/sign-in', new URLSearchParams({ token }));
      expect(res.status).toBe(303);
      const cookie = /porttrigger_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0];
      if (!cookie) throw new Error(`sign-in set no session cookie: ${res.headers.get('set-cookie')}`);
      const html = await (await request(page, { headers: { cookie } })).text();
      const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
      if (!csrf) throw new Error(`no CSRF token on ${page} after signing in`);
      return { cookie, csrf };
    },
  };
}
