import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessFetch, runCliCaptured } from '../../test/cli/run-cli.js';
import { type Fixture, startFixture } from '../../test/service/fixture.js';
import { validateRule } from '../domain/config.js';
import { API_PREFIX, createApp } from './app.js';

const TOKEN = 'round-trip-token-0123456789abcdef0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const BASE = 'http://127.0.0.1:1';
const TIME_LIMIT_MS = 8_000;

let fx: Fixture;
let app: Hono;
let tokenFile: string;
let accepted = 0;
let refused = 0;

beforeAll(async () => {
  fx = await startFixture();
  app = createApp({ service: fx.service, token: TOKEN });
  tokenFile = join(fx.dir, 'token');
  writeFileSync(tokenFile, `${TOKEN}\n`);
});
afterAll(async () => {
  await fx.cleanup();
});

/** Characters that break names in URLs, terminals and parsers, mixed into ordinary text. */
const TRICKY = [
  '.',
  '..',
  '/',
  '\\',
  '%',
  '%2e',
  '%2F',
  '?',
  '#',
  '&',
  '+',
  ' ',
  '\t',
  '\n',
  '\u0000',
  '\u0007',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u009b',
  '\u00a0',
  '\u200b',
  '\u200d',
  '\u200e',
  '\u202e',
  '\u2066',
  '\u2028',
  '\ufeff',
  '\ud800',
  '\udfff',
  '\u{1F600}',
  '-',
  '--',
  ':',
  ';',
  '"',
  "'",
  '`',
  '$(',
  '{',
  '}',
  '[',
  ']',
  'é',
  'ß',
  '名',
];
const NAMES = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 70 }),
  fc.string({ unit: 'binary', maxLength: 70 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  fc
    .array(fc.oneof(fc.constantFrom(...TRICKY), fc.string({ unit: 'grapheme-ascii', maxLength: 4 })), {
      maxLength: 12,
    })
    .map((parts) => parts.join('')),
);

function body(name: string) {
  return {
    name,
    trigger: [{ protocol: 'tcp', ports: '4000' }],
    open: [{ protocol: 'tcp', ports: '40000' }],
    idleTimeout: 60,
  };
}

/** Removes what a failed run may have left, so that one failure does not make the next inputs fail. */
async function removeGenerated(): Promise<void> {
  for (const rule of fx.service.config.rules) {
    if (!taken(rule.name)) await fx.service.deleteRule(rule.name).catch(() => undefined);
  }
}

const taken = (name: string) => ['game', 'voice call'].includes(name.trim().toLowerCase());

function cli(argv: string[]) {
  // The CLI's requests go to the app in-process: the same URLs and bodies as over the network.
  return runCliCaptured(['--api', BASE, '--token-file', tokenFile, ...argv], {
    cwd: fx.dir,
    fetch: inProcessFetch(app),
  });
}

describe('every accepted rule name round-trips', () => {
  it('through the API with a percent-encoded path, or is refused with 400 and nothing changes', async () => {
    const deadline = Date.now() + TIME_LIMIT_MS;
    await fc.assert(
      fc
        .asyncProperty(NAMES, async (raw) => {
          // A deadline, not fast-check's interruption: an interrupted run would go on beside the next one.
          if (Date.now() > deadline) return;
          fc.pre(!taken(raw));
          const checked = validateRule(body(raw));
          const before = fx.service.config;
          const created = await app.request(`${API_PREFIX}/rules`, {
            method: 'POST',
            headers: { ...AUTH, 'Content-Type': 'application/json' },
            body: JSON.stringify(body(raw)),
          });
          if (!checked.ok) {
            refused++;
            expect(created.status).toBe(400);
            expect(fx.service.config).toBe(before);
            return;
          }
          accepted++;
          expect(created.status).toBe(201);
          const name = checked.value.name;
          const path = `${API_PREFIX}/rules/${encodeURIComponent(name)}`;
          const got = await app.request(path, { headers: AUTH });
          expect(got.status).toBe(200);
          expect(((await got.json()) as { rule: { name: string } }).rule.name).toBe(name);
          expect((await app.request(`${path}/disable`, { method: 'POST', headers: AUTH })).status).toBe(200);
          expect((await app.request(path, { method: 'DELETE', headers: AUTH })).status).toBe(200);
          expect(fx.service.config.rules.map((r) => r.name)).not.toContain(name);
        })
        .afterEach(removeGenerated),
      { numRuns: 300 },
    );
    // Generated names are mostly refused; enough of them must pass for the round trip to mean something.
    expect(accepted).toBeGreaterThan(10);
    expect(refused).toBeGreaterThan(3);
  });

  it('through the CLI: add, list, disable, enable and remove by the same name', async () => {
    const deadline = Date.now() + TIME_LIMIT_MS;
    await fc.assert(
      fc
        .asyncProperty(NAMES, async (raw) => {
          // A deadline, not fast-check's interruption: an interrupted run would go on beside the next one.
          if (Date.now() > deadline) return;
          fc.pre(!taken(raw));
          const checked = validateRule(body(raw));
          const add = await cli([
            'rules',
            'add',
            `--name=${raw}`,
            '--trigger',
            'tcp:4000',
            '--open',
            'tcp:40000',
            '--json',
          ]);
          if (!checked.ok) {
            expect(add.code).toBe(3);
            return;
          }
          expect(add.code).toBe(0);
          const name = checked.value.name;
          const list = await cli(['rules', 'list', '--json']);
          expect((JSON.parse(list.out) as { name: string }[]).map((r) => r.name)).toContain(name);
          expect((await cli(['rules', 'disable', '--', name])).code).toBe(0);
          expect(fx.service.config.rules.find((r) => r.name === name)?.enabled).toBe(false);
          expect((await cli(['rules', 'enable', '--', name])).code).toBe(0);
          expect((await cli(['rules', 'remove', '--', name])).code).toBe(0);
          expect(fx.service.config.rules.map((r) => r.name)).not.toContain(name);
        })
        .afterEach(removeGenerated),
      { numRuns: 150 },
    );
  });
});
