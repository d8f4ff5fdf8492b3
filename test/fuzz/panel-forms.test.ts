/**
 * Generated form posts against the panel's state-changing routes, in-process on the reference model, signed in
 * with a real session: hostile field values (names with controls and invisible characters, markup, huge and
 * malformed ports and durations, addresses that no LAN device has), missing and wrong CSRF tokens, unknown
 * fields. Nothing may crash (no 5xx), and a post that is not accepted (anything but the 303 of a saved change)
 * must leave the config file and the running config exactly as they were.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPanel } from '../../src/panel/app.js';
import { TokenGate } from '../../src/routes/token-gate.js';
import { FakeRecorder } from '../service/fake-recorder.js';
import { type Fixture, startFixture } from '../service/fixture.js';

const TIME_LIMIT_MS = 5_000;
const TOKEN = 'panel-fuzz-token-0123456789abcdef';
const HOST = '127.0.0.1:8080';
const ORIGIN = `http://${HOST}`;

const hostile = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(
    '',
    ' ',
    'game',
    'voice call',
    '<script>alert(1)</script>',
    '"><img src=x onerror=alert(1)>',
    'e\u0301te',
    '\u00e9te',
    'game\u200b',
    'invoice\u202egpj.exe',
    'a\u0000b',
    '..',
    '%2e%2e',
    'x'.repeat(5_000),
    '8.8.8.8',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.1',
    '192.168.1.10',
    'fd00::1',
    '10m',
    '1d',
    '2d',
    '-1',
    '1e9',
    '70000',
    '1-65535',
    '0-0',
    'tcp',
    'udp',
    'both',
    'on',
    'yes',
    'other',
  ),
);
const fieldNames = fc.constantFrom(
  'name',
  'description',
  'enabled',
  'family',
  'idleTimeout',
  'lanHosts',
  'remote',
  'onExpire',
  'trigger.0.protocol',
  'trigger.0.ports',
  'trigger.1.ports',
  'trigger.99999.ports',
  'open.0.protocol',
  'open.0.ports',
  'open.-1.ports',
  '_add',
  '_confirm',
  'rule',
  'holder',
  'remote',
  'device',
  'address',
  'minutes',
  '__proto__',
  'constructor',
);
const ruleNames = fc.oneof(
  fc.constantFrom('game', 'voice%20call', 'nope', '%2e%2e', '%E2%80%8B', '%ZZ', 'e%CC%81te'),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);
const posts = fc.record({
  path: fc.oneof(
    fc.constantFrom('/rules/new', '/switch', '/table/release', '/learn/start', '/learn/stop'),
    ruleNames.map((n) => `/rules/${n}/edit`),
    ruleNames.map((n) => `/rules/${n}/delete`),
    ruleNames.map((n) => `/rules/${n}/enable`),
    ruleNames.map((n) => `/rules/${n}/disable`),
  ),
  fields: fc.array(fc.tuple(fieldNames, hostile), { maxLength: 12 }),
  csrf: fc.constantFrom('valid', 'valid', 'valid', 'valid', 'missing', 'wrong'),
  confirm: fc.boolean(),
});

describe('the panel form routes under generated posts', () => {
  let fx: Fixture;
  let panel: ReturnType<typeof createPanel>;
  let cookie: string;
  let csrf: string;

  beforeAll(async () => {
    fx = await startFixture({ recorder: new FakeRecorder() });
    panel = createPanel({
      service: fx.service,
      gate: new TokenGate(TOKEN),
      allowedHosts: { addresses: ['127.0.0.1'], names: [] },
      assets: new Map(),
    });
    const signIn = await panel.request(`${ORIGIN}/sign-in`, {
      method: 'POST',
      body: new URLSearchParams({ token: TOKEN }),
      headers: { host: HOST, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(signIn.status).toBe(303);
    cookie = /porttrigger_session=[^;]+/.exec(signIn.headers.get('set-cookie') ?? '')![0];
    const page = await (await panel.request(`${ORIGIN}/`, { headers: { host: HOST, cookie } })).text();
    csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
  });
  afterAll(async () => {
    await fx?.service.learn.stop().catch(() => undefined);
    await fx?.cleanup();
  });

  it('never crash, and change nothing unless they are accepted', async () => {
    const deadline = Date.now() + TIME_LIMIT_MS;
    let runs = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(posts, async (p) => {
        // A deadline, not fast-check's interruption: an interrupted request would go on beside the next one.
        if (Date.now() > deadline) return;
        runs++;
        const fileBefore = readFileSync(fx.configPath);
        const configBefore = fx.service.config;
        const body = new URLSearchParams(p.fields);
        if (p.csrf === 'valid') body.set('_csrf', csrf);
        if (p.csrf === 'wrong') body.set('_csrf', 'x'.repeat(csrf.length));
        if (p.confirm) body.set('_confirm', 'yes');
        const res = await panel.request(`${ORIGIN}${p.path}`, {
          method: 'POST',
          body,
          headers: {
            host: HOST,
            origin: ORIGIN,
            cookie,
            'content-type': 'application/x-www-form-urlencoded',
          },
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const text = await res.text();
        expect(res.status, `${p.path} ${body}`).toBeLessThan(500);
        expect(text).not.toMatch(/at .*\.(ts|js|tsx):\d+:\d+/);
        if (p.csrf !== 'valid') expect(res.status).toBe(403);
        if (res.status !== 303) {
          expect(readFileSync(fx.configPath).equals(fileBefore), `${p.path} ${body}`).toBe(true);
          expect(fx.service.config, `${p.path} ${body}`).toBe(configBefore);
        }
      }),
      { numRuns: 3_000 },
    );
    console.info(`panel form fuzz: ${runs} posts, statuses ${JSON.stringify([...statuses].sort())}`);
    expect(runs).toBeGreaterThan(100);
    expect(statuses.get(303) ?? 0).toBeGreaterThan(3);
    expect(statuses.get(403) ?? 0).toBeGreaterThan(3);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(3);
  });
});
