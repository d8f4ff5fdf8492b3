import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fixture, LAN1, startFixture } from '../../test/service/fixture.js';
import { findPreset } from '../domain/presets.js';
import { TokenGate } from '../routes/token-gate.js';
import { createPanel, SESSION_COOKIE } from './app.js';

const TOKEN = 'panel-test-token-0123456789';
const HOST = '127.0.0.1:8080';
const ORIGIN = `http://${HOST}`;

interface Logged {
  level: string;
  message: string;
  fields?: Readonly<Record<string, unknown>>;
}

describe('the panel in-process: sessions, CSRF, Host and Origin', () => {
  let fx: Fixture;
  let now: number;
  let logs: Logged[];
  let panel: ReturnType<typeof createPanel>;

  beforeEach(async () => {
    fx = await startFixture();
    now = 1_900_000_000_000;
    logs = [];
    const logger = {
      info: (message: string, fields?: Readonly<Record<string, unknown>>) =>
        logs.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
      warn: (message: string, fields?: Readonly<Record<string, unknown>>) =>
        logs.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
      error: (message: string, fields?: Readonly<Record<string, unknown>>) =>
        logs.push({ level: 'error', message, ...(fields ? { fields } : {}) }),
    };
    panel = createPanel({
      service: fx.service,
      gate: new TokenGate(TOKEN, { logger, perClient: 3, windowMs: 60_000, clock: () => now }),
      allowedHosts: { addresses: ['127.0.0.1', '::1'], names: ['localhost', 'router.lan'] },
      logger,
      clock: () => now,
      sessions: { idleMs: 60_000 },
    });
  });
  afterEach(() => fx.cleanup());

  function request(path: string, init: RequestInit & { host?: string; url?: string } = {}) {
    const headers = new Headers(init.headers);
    if (!headers.has('host')) headers.set('host', init.host ?? HOST);
    return panel.request(init.url ?? `http://${init.host ?? HOST}${path}`, { ...init, headers });
  }

  function post(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    return request(path, {
      method: 'POST',
      body: new URLSearchParams(form),
      headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });
  }

  async function signIn(): Promise<{ cookie: string; csrf: string }> {
    const res = await post('/sign-in', { token: TOKEN });
    expect(res.status).toBe(303);
    const cookie = /porttrigger_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0];
    const page = await (await request('/', { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    return { cookie, csrf };
  }

  it('sends a signed-out browser to the sign-in page and refuses fragments and streams', async () => {
    const res = await request('/');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/sign-in');
    expect((await request('/overview/live', { headers: { 'hx-request': 'true' } })).status).toBe(401);
    expect((await request('/events')).status).toBe(401);
    expect((await request('/sign-in')).status).toBe(200);
  });

  it('sets a strict HttpOnly session cookie, Secure under TLS, and logs the attempt without the token', async () => {
    const res = await post('/sign-in', { token: TOKEN });
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=`));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toMatch(/Secure/);
    const tls = await request('/sign-in', {
      url: `https://${HOST}/sign-in`,
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN }),
      headers: { origin: `https://${HOST}`, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(tls.headers.get('set-cookie')).toMatch(/Secure/);
    expect(logs.some((l) => l.message === 'panel sign-in')).toBe(true);
    expect(JSON.stringify(logs)).not.toContain(TOKEN);
  });

  it('rate-limits failed sign-ins per client and logs them without the token presented', async () => {
    for (let i = 0; i < 3; i++) expect((await post('/sign-in', { token: `wrong-${i}` })).status).toBe(400);
    const limited = await post('/sign-in', { token: 'wrong-3' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(logs.filter((l) => l.message === 'wrong API token refused')).toHaveLength(3);
    expect(logs.filter((l) => l.message === 'wrong API tokens rate-limited')).toHaveLength(1);
    expect(logs.every((l) => !l.message.includes('token') || l.fields?.['where'] === 'panel sign-in')).toBe(
      true,
    );
    expect(JSON.stringify(logs)).not.toMatch(/wrong-\d/);
    now += 61_000;
    expect((await post('/sign-in', { token: 'wrong-4' })).status).toBe(400);
  });

  it('never locks the right token out: it signs in while wrong tokens from the same address are limited', async () => {
    for (let i = 0; i < 5; i++) await post('/sign-in', { token: `wrong-${i}` });
    expect((await post('/sign-in', { token: 'wrong-again' })).status).toBe(429);
    expect((await post('/sign-in', { token: TOKEN })).status).toBe(303);
  });

  it('ends a session after the idle timeout and on sign-out', async () => {
    const a = await signIn();
    now += 30_000;
    expect((await request('/rules', { headers: { cookie: a.cookie } })).status).toBe(200);
    now += 61_000;
    expect((await request('/rules', { headers: { cookie: a.cookie } })).status).toBe(303);
    const b = await signIn();
    expect((await post('/sign-out', { _csrf: b.csrf }, { cookie: b.cookie })).status).toBe(303);
    expect((await request('/rules', { headers: { cookie: b.cookie } })).status).toBe(303);
  });

  it('refuses a state change without the session CSRF token, and accepts it with the token', async () => {
    const { cookie, csrf } = await signIn();
    expect((await post('/rules/game/disable', {}, { cookie })).status).toBe(403);
    expect((await post('/rules/game/disable', { _csrf: 'x'.repeat(csrf.length) }, { cookie })).status).toBe(
      403,
    );
    expect(fx.service.config.rules.find((r) => r.name === 'game')?.enabled).toBe(true);
    expect(logs.some((l) => l.message.includes('CSRF'))).toBe(true);
    const ok = await post('/rules/game/disable', {}, { cookie, 'x-csrf-token': csrf });
    expect(ok.status).toBe(303);
    expect(fx.service.config.rules.find((r) => r.name === 'game')?.enabled).toBe(false);
  });

  it('refuses a foreign Host (DNS rebinding) and a foreign Origin', async () => {
    const { cookie, csrf } = await signIn();
    expect((await request('/sign-in', { host: 'evil.example:8080' })).status).toBe(421);
    expect((await request('/', { host: '10.99.99.99:8080', headers: { cookie } })).status).toBe(421);
    expect((await request('/sign-in', { host: 'router.lan:8080' })).status).toBe(200);
    expect((await request('/sign-in', { host: '[::1]:8080' })).status).toBe(200);
    const foreign = await post(
      '/rules/game/disable',
      { _csrf: csrf },
      { cookie, origin: 'http://evil.example' },
    );
    expect(foreign.status).toBe(403);
    expect(fx.service.config.rules.find((r) => r.name === 'game')?.enabled).toBe(true);
  });

  it('sends a strict CSP, frame-ancestors none, nosniff and a referrer policy', async () => {
    const res = await request('/sign-in');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const js = await request('/assets/htmx.min.js');
    expect(js.headers.get('content-type')).toMatch(/javascript/);
  });

  it('shows the search text of the rules page back escaped, in the box and in the answer', async () => {
    const { cookie } = await signIn();
    const q = '"><script>alert(1)</script>';
    const res = await request(`/rules?q=${encodeURIComponent(q)}`, { headers: { cookie } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(html).toContain('No rule matches “&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;”.');
  });

  it('shows every problem of a rule next to its field and changes nothing', async () => {
    const { cookie, csrf } = await signIn();
    const before = readFileSync(fx.configPath, 'utf8');
    const applies = fx.model.applied.length;
    const res = await post(
      '/rules/new',
      {
        _csrf: csrf,
        name: 'broken',
        'trigger.0.protocol': 'tcp',
        'trigger.0.ports': '6000-5000',
        'open.0.protocol': 'udp',
        'open.0.ports': '70000',
        idleTimeout: '600',
        lanHosts: 'any',
        remote: 'any',
        onExpire: 'keep',
        family: 'both',
        enabled: 'on',
      },
      { cookie },
    );
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toMatch(/id="f-trigger-0-ports-problems"[^>]*><li>[^<]*6000-5000/);
    expect(html).toMatch(/id="f-open-0-ports-problems"[^>]*><li>[^<]*70000/);
    expect(readFileSync(fx.configPath, 'utf8')).toBe(before);
    expect(fx.model.applied.length).toBe(applies);
    expect(fx.service.config.rules.map((r) => r.name)).toEqual(['game', 'voice call']);
  });

  it('adds a rule from a preset and shows the live table with the holder', async () => {
    const { cookie, csrf } = await signIn();
    const preset = findPreset('irc-dcc')!;
    const form = await (await request('/rules/new?preset=irc-dcc', { headers: { cookie } })).text();
    expect(form).toContain('value="IRC DCC"');
    expect(form).toContain(`value="${preset.trigger[0]!.ports}"`);
    const res = await post(
      '/rules/new',
      {
        _csrf: csrf,
        name: 'IRC DCC',
        'trigger.0.protocol': 'tcp',
        'trigger.0.ports': preset.trigger[0]!.ports,
        'open.0.protocol': 'tcp',
        'open.0.ports': preset.open[0]!.ports,
        idleTimeout: '600',
        lanHosts: 'any',
        remote: 'any',
        onExpire: 'keep',
        family: 'both',
        enabled: 'on',
      },
      { cookie },
    );
    expect(res.status).toBe(303);
    expect(fx.service.config.rules.map((r) => r.name)).toContain('IRC DCC');
    expect(readFileSync(fx.configPath, 'utf8')).toContain('IRC DCC');
    fx.model.trigger(LAN1, 5000);
    await fx.service.readNow();
    const live = await (await request('/table', { headers: { cookie } })).text();
    expect(live).toContain(LAN1);
    expect(live).toContain('Release');
    expect(live).not.toContain('did not answer in time');
  });

  it('shows the last table with how old it is while the kernel does not answer', async () => {
    const { cookie } = await signIn();
    fx.model.trigger(LAN1, 5000);
    const read = await fx.service.readNow();
    fx.model.holdReads();
    now = read.at + 42_000;
    const live = await (await request('/table', { headers: { cookie } })).text();
    expect(live).toContain('The router did not answer in time: this is the data from 42 s ago.');
    expect(live).toContain(LAN1);
    const overview = await (await request('/overview/live', { headers: { cookie } })).text();
    expect(overview).toContain('this is the data from 42 s ago');
    fx.model.releaseReads();
  });

  /** The fields a browser submits for a form page: inputs with their values, selects with their selected option. */
  function formFields(html: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of html.matchAll(/<input\b[^>]*\bname="([^"]+)"[^>]*>/g)) {
      const tag = m[0];
      if (/type="(checkbox|radio)"/.test(tag) && !/\bchecked\b/.test(tag)) continue;
      out[m[1]!] = /\bvalue="([^"]*)"/.exec(tag)?.[1] ?? 'on';
    }
    for (const m of html.matchAll(/<select\b[^>]*\bname="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
      const selected =
        /<option value="([^"]*)" selected/.exec(m[2]!) ?? /<option value="([^"]*)"/.exec(m[2]!);
      if (selected) out[m[1]!] = selected[1]!;
    }
    return out;
  }

  it('keeps every port spec of a rule with 20 trigger and 20 open specs through an unchanged edit', async () => {
    const trigger = Array.from({ length: 20 }, (_, i) => ({ protocol: 'tcp', ports: String(41_000 + i) }));
    const open = Array.from({ length: 20 }, (_, i) => ({ protocol: 'udp', ports: String(42_000 + i) }));
    await fx.service.createRule({ name: 'many', trigger, open });
    const { cookie, csrf } = await signIn();
    const form = await (await request('/rules/many/edit', { headers: { cookie } })).text();
    const fields = formFields(form);
    expect(Object.keys(fields).filter((k) => /^open\.\d+\.ports$/.test(k))).toHaveLength(20);
    const res = await post('/rules/many/edit', { ...fields, _csrf: csrf, _confirm: 'yes' }, { cookie });
    expect(res.status).toBe(303);
    const rule = fx.service.config.rules.find((r) => r.name === 'many')!;
    expect(rule.trigger).toEqual(trigger);
    expect(rule.open).toEqual(open);
  });

  it('names the limit of port specs instead of dropping rows beyond it', async () => {
    const { cookie, csrf } = await signIn();
    const rows: Record<string, string> = {};
    for (let i = 0; i < 33; i++) {
      rows[`open.${i}.protocol`] = 'udp';
      rows[`open.${i}.ports`] = String(43_000 + i);
    }
    const res = await post(
      '/rules/new',
      { _csrf: csrf, name: 'too many', 'trigger.0.protocol': 'tcp', 'trigger.0.ports': '44000', ...rows },
      { cookie },
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/32/);
    expect(fx.service.config.rules.map((r) => r.name)).not.toContain('too many');
  });

  it.each([
    ['an unknown rule', { rule: 'nope' }, 404, 'no rule named &quot;nope&quot;'],
    [
      'a holder that is no address',
      { rule: 'game', holder: 'not-an-ip' },
      400,
      'holder: &quot;not-an-ip&quot; is not',
    ],
    ['no rule', { holder: LAN1 }, 400, 'rule: '],
  ])(
    'answers a release of %s with the status the API gives (%s → %i), not 502',
    async (_what, form, status, says) => {
      const { cookie, csrf } = await signIn();
      const res = await post('/table/release', { _csrf: csrf, ...form }, { cookie });
      expect(res.status).toBe(status);
      const html = await res.text();
      expect(html).toContain('Nothing changed');
      expect(html).toContain(says);
    },
  );

  it('answers a change refused because the config file changed on disk with 409, as the API does', async () => {
    const { cookie, csrf } = await signIn();
    writeFileSync(fx.configPath, `${readFileSync(fx.configPath, 'utf8')}\n# edited by hand\n`);
    for (const path of ['/rules/game/disable', '/rules/game/delete']) {
      const res = await post(path, { _csrf: csrf }, { cookie });
      expect(res.status, path).toBe(409);
    }
    expect(fx.service.config.rules.find((r) => r.name === 'game')?.enabled).toBe(true);
  });

  it('checks ports and filters the history with the API query schemas, naming what is wrong', async () => {
    const { cookie } = await signIn();
    const bad = await request('/check?port=70000&protocol=udp', { headers: { cookie } });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('port must be 1-65535');
    expect((await request('/check?port=7000&protocol=udp', { headers: { cookie } })).status).toBe(200);
    const since = await request('/history?since=yesterday', { headers: { cookie } });
    expect(since.status).toBe(400);
    expect(await since.text()).toContain('is not a time');
    const host = await request('/history?host=not-an-address', { headers: { cookie } });
    expect(host.status).toBe(400);
    expect(
      (await request('/history?since=2025-06-01T10:00&type=opened', { headers: { cookie } })).status,
    ).toBe(200);
  });
});
