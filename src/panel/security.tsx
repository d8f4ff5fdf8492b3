/**
 * The panel's security, in front of every page: response headers (CSP and friends), the Host allowlist (DNS
 * rebinding), the body limit, the Origin check of state changes, sign-in through the shared token gate,
 * sessions and their CSRF token.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { secureHeaders } from 'hono/secure-headers';
import { clientOf, hostAllowed } from '../routes/host-check.js';
import type { Env, PanelApp, PanelContext, PanelDeps } from './context.js';
import { sameOrigin } from './origin.js';
import { SessionStore, sameSecret } from './sessions.js';
import { SignIn } from './views/overview.js';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'porttrigger_session';

const CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'"],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  baseUri: ["'none'"],
  frameAncestors: ["'none'"],
};

function isSecure(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:';
}

/** Headers, Host and Origin checks and the body limit: for every request, signed in or not. */
export function guardRequests(app: PanelApp, deps: PanelDeps, ctx: PanelContext): void {
  const { log, clock } = ctx;
  app.use('*', async (c, next) => {
    const started = clock();
    await next();
    log?.debug?.('panel request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: clock() - started,
    });
  });
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: CSP,
      // Not no-referrer: with it, browsers send `Origin: null` on form posts and the Origin check fails.
      referrerPolicy: 'same-origin',
      xFrameOptions: 'DENY',
      xContentTypeOptions: 'nosniff',
      crossOriginResourcePolicy: 'same-origin',
      crossOriginOpenerPolicy: 'same-origin',
      strictTransportSecurity: false,
    }),
  );
  // DNS rebinding: a foreign name that resolves to this machine gets nothing, not even the sign-in page.
  app.use('*', async (c, next) => {
    if (!hostAllowed(c.req.header('host'), deps.allowedHosts)) {
      log?.warn('panel request with a foreign Host refused', {
        host: c.req.header('host'),
        client: clientOf(c),
      });
      return c.text('This address is not one of this machine: refused (Host header).', 421);
    }
    return next();
  });
  app.use('*', bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.text('The request is too large.', 413) }));
  // Every state-changing request must come from our own pages.
  app.use('*', async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    if (!sameOrigin(c.req.url, c.req.header('host'), c.req.header('origin'), c.req.header('referer'))) {
      log?.warn('panel request from a foreign origin refused', {
        origin: c.req.header('origin'),
        client: clientOf(c),
      });
      return c.text('This request did not come from the panel: refused (Origin).', 403);
    }
    return next();
  });
}

/**
 * Sign-in and sign-out, then a session (and for a state change, its CSRF token) for everything registered
 * after this.
 */
export function requireSignIn(app: PanelApp, deps: PanelDeps, ctx: PanelContext): void {
  const { log, page } = ctx;
  const sessions = new SessionStore({ clock: ctx.clock, ...deps.sessions });
  const signIn = (c: Context, error?: string) =>
    page(c, { title: 'Sign in', children: error ? <SignIn error={error} /> : <SignIn /> });

  app.get('/sign-in', (c) => signIn(c));
  app.post('/sign-in', async (c) => {
    const client = clientOf(c);
    const form = await c.req.parseBody();
    const token = typeof form['token'] === 'string' ? form['token'].trim() : '';
    const verdict = deps.gate.check(token, client, 'panel sign-in');
    if (!verdict.ok && verdict.limited) {
      c.header('Retry-After', String(verdict.retryAfterSeconds));
      const error = `Too many failed attempts. Try again in ${verdict.retryAfterSeconds} s.`;
      return page(c, { title: 'Sign in', children: <SignIn error={error} /> }, 429);
    }
    if (!verdict.ok) {
      return page(c, { title: 'Sign in', children: <SignIn error="That is not the API token." /> }, 400);
    }
    const session = sessions.create();
    log?.info('panel sign-in', { client });
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: isSecure(c),
      path: '/',
    });
    return c.redirect('/', 303);
  });

  const requireSession: MiddlewareHandler<Env> = async (c, next) => {
    const session = sessions.use(getCookie(c, SESSION_COOKIE));
    if (!session) {
      if (c.req.method === 'GET' && !c.req.header('hx-request') && c.req.path !== '/events') {
        return c.redirect('/sign-in', 303);
      }
      return c.text('Sign in first.', 401);
    }
    c.set('session', session);
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const header = c.req.header('x-csrf-token');
      const form = header === undefined ? await c.req.parseBody() : {};
      const presented = header ?? (typeof form['_csrf'] === 'string' ? form['_csrf'] : '');
      if (!sameSecret(session.csrf, presented)) {
        log?.warn('panel request with a wrong CSRF token refused', { client: clientOf(c), path: c.req.path });
        return c.text('The form is out of date or did not come from the panel: refused (CSRF).', 403);
      }
    }
    return next();
  };
  app.use('*', requireSession);

  app.post('/sign-out', (c) => {
    sessions.end(c.get('session').id);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/sign-in', 303);
  });
}
