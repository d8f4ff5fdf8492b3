/**
 * Generated input against the places hostile input arrives: the config validator, the API routes and the
 * panel's form routes (in-process, on the reference model) and the config-file writer. Every refusal must have the documented
 * shape, never a 5xx, and leave the config file and the running config exactly as they were.
 * Each property runs thousands of inputs within a few seconds (fast-check stops at its time limit).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderConfigText, stableJson } from '../../src/adapters/config-file.js';
import { API_PREFIX, createApp } from '../../src/api/app.js';
import { parseConfigText, validateConfig } from '../../src/domain/config.js';
import type { Issue } from '../../src/domain/errors.js';
import { configText, type Fixture, startFixture } from '../service/fixture.js';
import { type InProcessPanel, openPanel } from '../service/panel.js';
import { fuzzRequests } from './requests.js';

const TIME_LIMIT_MS = 4_000;
const DOCS = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
const TOKEN = 'fuzz-token-0123456789abcdef0123456789abcdef';

function expectIssue(issue: Issue): void {
  expect(Array.isArray(issue.path)).toBe(true);
  for (const part of issue.path) expect(['string', 'number']).toContain(typeof part);
  expect(issue.code).toMatch(/^[a-z][a-z0-9_]*$/);
  expect(typeof issue.message).toBe('string');
  expect(issue.message.length).toBeGreaterThan(0);
}

// Small arbitrary values: deep ones cost time and find nothing that shallow ones miss.
const small = fc.anything({ maxDepth: 2, maxKeys: 4 });
const portText = fc.oneof(
  fc.integer({ min: -5, max: 70_000 }).map(String),
  fc
    .tuple(fc.integer({ min: 0, max: 66_000 }), fc.integer({ min: 0, max: 66_000 }))
    .map(([a, b]) => `${a}-${b}`),
  fc.string({ maxLength: 12 }),
);
const spec = fc.record(
  {
    protocol: fc.oneof(fc.constantFrom('tcp', 'udp', 'both'), fc.string({ maxLength: 5 })),
    ports: fc.oneof(portText, fc.integer()),
    extra: small,
  },
  { requiredKeys: ['protocol', 'ports'] },
);
const ruleInput = fc.record(
  {
    name: fc.oneof(fc.string({ maxLength: 70 }), fc.string({ unit: 'binary', maxLength: 70 }), small),
    description: fc.string({ maxLength: 300 }),
    enabled: fc.oneof(fc.boolean(), small),
    family: fc.constantFrom('ipv4', 'ipv6', 'both', 'ipx'),
    trigger: fc.array(spec, { maxLength: 3 }),
    open: fc.array(spec, { maxLength: 3 }),
    idleTimeout: fc.oneof(fc.integer({ min: -10, max: 100_000 }), fc.double(), fc.string({ maxLength: 4 })),
    lanHosts: fc.oneof(
      fc.constant('any'),
      fc.array(fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 })), { maxLength: 3 }),
    ),
    remote: fc.constantFrom('any', 'contacted', 'all'),
    onExpire: fc.constantFrom('keep', 'close', 'never'),
  },
  { requiredKeys: [] },
);
const configInput = fc.oneof(
  small,
  fc.record(
    {
      interfaces: fc.oneof(
        fc.record({
          lan: fc.array(fc.string({ maxLength: 18 }), { maxLength: 3 }),
          wan: fc.array(fc.string({ maxLength: 18 }), { maxLength: 3 }),
        }),
        small,
      ),
      mode: fc.constantFrom('companion', 'standalone', 'router'),
      enabled: small,
      ipv6: fc.boolean(),
      rules: fc.oneof(fc.array(ruleInput, { maxLength: 5 }), small),
      api: fc.record(
        {
          listen: fc.oneof(fc.string({ maxLength: 25 }), fc.constantFrom(':8080', '0.0.0.0:1', '[::1]:9')),
          tokenFile: fc.string(),
        },
        { requiredKeys: [] },
      ),
      events: small,
    },
    { requiredKeys: [] },
  ),
);
const yamlText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc
    .array(
      fc.constantFrom(
        'a: ',
        '*x',
        '&x ',
        '[',
        ']',
        '{',
        '}',
        '- ',
        '\n',
        '  ',
        'rules:',
        'interfaces:',
        '!!str ',
        '? ',
        ': ',
        '"',
        "'",
        '#',
        '---\n',
        '<<: ',
      ),
      { maxLength: 40 },
    )
    .map((parts) => parts.join('')),
);

describe('validateConfig and parseConfigText', () => {
  it('return every issue in the documented shape and never throw, for any value or text', () => {
    let runs = 0;
    fc.assert(
      fc.property(configInput, yamlText, (value, text) => {
        runs++;
        for (const r of [validateConfig(value), parseConfigText(text)]) {
          if (!r.ok) {
            expect(r.issues.length).toBeGreaterThan(0);
            r.issues.forEach(expectIssue);
          }
          r.warnings.forEach(expectIssue);
        }
      }),
      { numRuns: 20_000, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
    console.info(`validator fuzz: ${runs} values and texts`);
    expect(runs).toBeGreaterThan(100);
  });
});

describe('the API routes in-process', () => {
  let fx: Fixture;
  let app: Hono;
  beforeAll(async () => {
    fx = await startFixture();
    app = createApp({ service: fx.service, token: TOKEN });
  });
  afterAll(async () => {
    await fx.cleanup();
  });

  const names = fc.oneof(
    fc.constantFrom('game', 'voice%20call', 'nope', '.', '..', '%2e', '%ZZ', '%00', '%E2%80%AE', ''),
    fc.string({ maxLength: 12 }).map(encodeURIComponent),
  );
  const requests = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
    path: fc.oneof(
      fc.constantFrom(
        '/rules',
        '/table',
        '/release',
        '/check',
        '/events',
        '/config/validate',
        '/reload',
        '/metrics',
        '/health',
        '/openapi.json',
        '/nope',
      ),
      names.map((n) => `/rules/${n}`),
      names.map((n) => `/rules/${n}/enable`),
      names.map((n) => `/rules/${n}/disable`),
      fc.string({ maxLength: 20 }).map((s) => `/${encodeURIComponent(s)}`),
    ),
    query: fc.oneof(
      fc.constant(''),
      fc
        .dictionary(
          fc.constantFrom(
            'port',
            'protocol',
            'rule',
            'host',
            'type',
            'since',
            'until',
            'limit',
            'cursor',
            'order',
            'x',
          ),
          fc.string({ maxLength: 10 }),
          { maxKeys: 3 },
        )
        .map((q) => `?${new URLSearchParams(q)}`),
    ),
    contentType: fc.constantFrom(
      'application/json',
      'text/yaml',
      'text/plain',
      '',
      'application/json; charset=utf-8',
    ),
    body: fc.oneof(
      fc.constant(undefined),
      ruleInput.map((r) => JSON.stringify(r)),
      configInput.map((c) => JSON.stringify(c) ?? 'null'),
      yamlText,
      fc.string({ maxLength: 50 }),
    ),
    auth: fc.oneof(
      fc.constant(`Bearer ${TOKEN}`),
      fc.constant(`Bearer ${TOKEN}`),
      fc.constant(`Bearer ${TOKEN}`),
      fc.constantFrom('', 'Bearer x', `Basic ${TOKEN}`),
    ),
  });

  it('answer generated requests without a 5xx; every refusal is documented and changes nothing', async () => {
    const { runs, statuses } = await fuzzRequests(
      fx,
      requests,
      { numRuns: 5_000, timeLimitMs: TIME_LIMIT_MS },
      {
        send: async (r) => {
          const headers: Record<string, string> = {};
          if (r.auth) headers['Authorization'] = r.auth;
          if (r.contentType) headers['Content-Type'] = r.contentType;
          const body = r.method === 'GET' ? undefined : r.body;
          return app.request(`${API_PREFIX}${r.path}${r.query}`, {
            method: r.method,
            headers,
            ...(body !== undefined ? { body } : {}),
          });
        },
        label: (r) => `${r.method} ${r.path}`,
        check: async (r, res, expectUnchanged) => {
          if (r.path.startsWith('/events/stream')) return;
          if (res.status >= 400) {
            const answer = (await res.json()) as {
              error: { code: string; message: string; issues?: Issue[] };
            };
            expect(Object.keys(answer)).toEqual(['error']);
            expect(DOCS).toContain(`\`${answer.error.code}\``);
            expect(answer.error.message.length).toBeGreaterThan(0);
            answer.error.issues?.forEach(expectIssue);
            expectUnchanged();
          } else {
            await res.arrayBuffer();
          }
        },
      },
    );
    console.info(`API fuzz: ${runs} requests, statuses ${JSON.stringify([...statuses].sort())}`);
    expect(runs).toBeGreaterThan(100);
    // Generated requests mostly fail auth or validation; some must get through for the property to mean much.
    expect([...statuses].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0)).toBeGreaterThan(3);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(3);
  });
});

describe('the panel form routes in-process', () => {
  let fx: Fixture;
  let panel: InProcessPanel;
  beforeAll(async () => {
    fx = await startFixture();
    panel = openPanel(fx.service, TOKEN, { assets: new Map() });
  });
  afterAll(async () => {
    await fx.cleanup();
  });

  const text = fc.oneof(
    fc.constantFrom(
      '',
      'tcp',
      'udp',
      'both',
      'any',
      '7000',
      '70000',
      '6000-5000',
      '1-65535',
      'on',
      'yes',
      '\u0000',
    ),
    fc.string({ maxLength: 12 }),
  );
  const fieldName = fc.oneof(
    fc.constantFrom(
      'name',
      'description',
      'enabled',
      'family',
      'idleTimeout',
      'lanHosts',
      'remote',
      'onExpire',
    ),
    fc.constantFrom('rule', 'holder', 'family', '_add', '_confirm'),
    fc
      .tuple(fc.constantFrom('trigger', 'open'), fc.nat(40), fc.constantFrom('ports', 'protocol'))
      .map(([side, i, key]) => `${side}.${i}.${key}`),
  );
  const posts = fc.record({
    path: fc.constantFrom(
      '/rules/new',
      '/rules/game/edit',
      '/rules/voice%20call/edit',
      '/rules/nope/edit',
      '/rules/game/enable',
      '/rules/nope/delete',
      '/table/release',
      '/switch',
    ),
    form: fc.dictionary(fieldName, text, { maxKeys: 12 }),
  });

  it('answer generated forms without a 5xx; every refused form changes nothing', async () => {
    const { cookie, csrf } = await panel.signIn();
    const { runs, statuses } = await fuzzRequests(
      fx,
      posts,
      { numRuns: 2_000, timeLimitMs: TIME_LIMIT_MS },
      {
        send: (p) => panel.postForm(p.path, new URLSearchParams({ ...p.form, _csrf: csrf }), { cookie }),
        label: (p) => `${p.path} ${JSON.stringify(p.form)}`,
        check: async (_, res, expectUnchanged) => {
          await res.arrayBuffer();
          if (res.status >= 400) expectUnchanged();
        },
      },
    );
    console.info(`panel fuzz: ${runs} forms, statuses ${JSON.stringify([...statuses].sort())}`);
    expect(runs).toBeGreaterThan(50);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(3);
  });
});

describe('the config-file writer', () => {
  const dir = '/tmp';
  const band = (i: number, offset: number) => 10_000 + i * 10_000 + offset;
  const validConfig = fc
    .array(
      fc.record({
        name: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
        from: fc.integer({ min: 0, max: 9_000 }),
        width: fc.integer({ min: 0, max: 20 }),
        protocol: fc.constantFrom('tcp', 'udp', 'both'),
        enabled: fc.boolean(),
        description: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        lanHosts: fc.option(fc.array(fc.ipV4(), { minLength: 1, maxLength: 2 }), { nil: undefined }),
      }),
      { maxLength: 4 },
    )
    .map((rules) =>
      validateConfig({
        interfaces: { lan: ['br-lan'], wan: ['wan0'] },
        rules: rules.map((r, i) => ({
          name: r.name,
          enabled: r.enabled,
          trigger: [{ protocol: 'tcp', ports: String(61_000 + i) }],
          // Each rule gets its own band, so that generated rules never overlap.
          open: [
            {
              protocol: r.protocol,
              ports: `${band(i, r.from)}-${band(i, r.from) + r.width}`,
            },
          ],
          ...(r.description !== undefined ? { description: r.description } : {}),
          ...(r.lanHosts ? { lanHosts: r.lanHosts } : {}),
        })),
      }),
    );
  const previous = fc.oneof(
    fc.constant(configText(dir)),
    yamlText,
    fc.constant('interfaces: { lan: [a], wan: [b] }\nrules: []\n'),
  );

  it('writes text that reads back as exactly the config, whatever text was there before', () => {
    let runs = 0;
    let checked = 0;
    fc.assert(
      fc.property(previous, validConfig, (before, result) => {
        runs++;
        if (!result.ok) return;
        checked++;
        const text = renderConfigText(before, result.value);
        const back = parseConfigText(text);
        expect(back.ok).toBe(true);
        if (back.ok) expect(stableJson(back.value)).toBe(stableJson(result.value));
      }),
      { numRuns: 5_000, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
    console.info(`writer fuzz: ${runs} configs, ${checked} valid ones written`);
    expect(runs).toBeGreaterThan(20);
    expect(checked).toBeGreaterThan(10);
  });
});
