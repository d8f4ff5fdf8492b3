/**
 * Generated form posts against the panel's state-changing routes, in-process on the reference model, signed in
 * with a real session: hostile field values (names with controls and invisible characters, markup, huge and
 * malformed ports and durations, addresses that no LAN device has), missing and wrong CSRF tokens, unknown
 * fields. Nothing may crash (no 5xx), and a post that is not accepted (anything but the 303 of a saved change)
 * must leave the config file and the running config exactly as they were.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeRecorder } from '../service/fake-recorder.js';
import { type Fixture, startFixture } from '../service/fixture.js';
import { type InProcessPanel, openPanel } from '../service/panel.js';
import { fuzzRequests } from './requests.js';

const TIME_LIMIT_MS = 5_000;
const TOKEN = 'panel-fuzz-token-0123456789abcdef';

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
/** One generated post. */
type Post = typeof posts extends fc.Arbitrary<infer T> ? T : never;

describe('the panel form routes under generated posts', () => {
  let fx: Fixture;
  let panel: InProcessPanel;
  let cookie: string;
  let csrf: string;

  beforeAll(async () => {
    fx = await startFixture({ recorder: new FakeRecorder() });
    panel = openPanel(fx.service, TOKEN, { assets: new Map() });
    ({ cookie, csrf } = await panel.signIn());
  });
  afterAll(async () => {
    await fx?.service.learn.stop().catch(() => undefined);
    await fx?.cleanup();
  });

  it('never crash, and change nothing unless they are accepted', async () => {
    const bodyOf = (p: Post) => {
      const body = new URLSearchParams(p.fields);
      if (p.csrf === 'valid') body.set('_csrf', csrf);
      if (p.csrf === 'wrong') body.set('_csrf', 'x'.repeat(csrf.length));
      if (p.confirm) body.set('_confirm', 'yes');
      return body;
    };
    const { runs, statuses } = await fuzzRequests(
      fx,
      posts,
      { numRuns: 3_000, timeLimitMs: TIME_LIMIT_MS },
      {
        send: (p) => panel.postForm(p.path, bodyOf(p), { cookie }),
        label: (p) => `${p.path} ${bodyOf(p)}`,
        check: async (p, res, expectUnchanged) => {
          const text = await res.text();
          expect(text).not.toMatch(/at .*\.(ts|js|tsx):\d+:\d+/);
          if (p.csrf !== 'valid') expect(res.status).toBe(403);
          if (res.status !== 303) expectUnchanged();
        },
      },
    );
    console.info(`panel form fuzz: ${runs} posts, statuses ${JSON.stringify([...statuses].sort())}`);
    expect(runs).toBeGreaterThan(100);
    expect(statuses.get(303) ?? 0).toBeGreaterThan(3);
    expect(statuses.get(403) ?? 0).toBeGreaterThan(3);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(3);
  });
});
