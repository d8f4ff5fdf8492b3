import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configText, type Fixture, startFixture } from '../../test/service/fixture.js';
import { createLogger } from '../adapters/logger.js';
import { API_PREFIX, createApp } from './app.js';

const TOKEN = 'test-token-0123456789-0123456789-abcdef';
const AUTH = { Authorization: `Bearer ${TOKEN}` };

let fx: Fixture;
let app: Hono;
let logLines: string[];

beforeEach(async () => {
  logLines = [];
  const logger = createLogger({ format: 'json', sink: { write: (l: string) => logLines.push(l) } });
  fx = await startFixture({ logger });
  app = createApp({ service: fx.service, token: TOKEN });
});
afterEach(async () => {
  await fx.cleanup();
});

const BOMB = [
  'interfaces: { lan: [br-lan], wan: [wan0] }',
  'x1: &a [x, x, x, x, x, x, x, x, x, x]',
  'x2: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
  'x3: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
  'x4: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
].join('\n');

const HOSTILE_YAML = [
  [
    'an undefined alias',
    'interfaces: { lan: [br-lan], wan: [wan0] }\nrules: *nope\n',
    'yaml_undefined_alias',
  ],
  ['an alias bomb', BOMB, 'yaml_alias_limit'],
  [
    'a duplicate key',
    'interfaces: { lan: [br-lan], wan: [wan0] }\nmode: standalone\nmode: companion\n',
    'yaml_duplicate_key',
  ],
  ['a syntax error', 'interfaces: { lan: [br-lan\n', 'yaml_syntax'],
] as const;

describe('YAML problems through the API', () => {
  it.each(HOSTILE_YAML)(
    'validates %s as an invalid config with its code, not a 500',
    async (_w, text, code) => {
      const res = await app.request(`${API_PREFIX}/config/validate`, {
        method: 'POST',
        headers: { ...AUTH, 'Content-Type': 'application/yaml' },
        body: text,
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        ok: false,
        issues: expect.arrayContaining([expect.objectContaining({ code, path: expect.any(Array) })]),
      });
    },
  );

  it.each(HOSTILE_YAML)(
    'refuses to reload %s with 400, logs it, and keeps the running config and file',
    async (_w, text, code) => {
      writeFileSync(fx.configPath, text);
      const before = fx.service.config;
      const applies = fx.model.applied.length;
      const res = await app.request(`${API_PREFIX}/reload`, { method: 'POST', headers: AUTH });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        error: { code: 'INVALID_INPUT', issues: expect.arrayContaining([expect.objectContaining({ code })]) },
      });
      expect(fx.service.config).toBe(before);
      expect(fx.model.applied.length).toBe(applies);
      expect(readFileSync(fx.configPath, 'utf8')).toBe(text);
      expect(logLines.join('')).toContain(`"code":"${code}"`);
    },
  );
});

describe('a config file that cannot be read on reload', () => {
  it.each([
    ['is deleted', 'CONFIG_NOT_FOUND', (path: string) => rmSync(path)],
    [
      'is a directory',
      'CONFIG_READ_FAILED',
      (path: string) => {
        rmSync(path);
        mkdirSync(path);
      },
    ],
  ])(
    'answers 500 naming the file when it %s (%s), logs it, and keeps the running config',
    async (_what, code, breakIt) => {
      breakIt(fx.configPath);
      const before = fx.service.config;
      const res = await app.request(`${API_PREFIX}/reload`, { method: 'POST', headers: AUTH });
      expect(res.status).toBe(500);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe(code);
      expect(body.error.message).toContain(fx.configPath);
      expect(fx.service.config).toBe(before);
      const logged = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(logged).toContainEqual(
        expect.objectContaining({ level: 'error', error: expect.objectContaining({ code }) }),
      );
      rmSync(fx.configPath, { recursive: true, force: true });
      writeFileSync(fx.configPath, configText(fx.dir));
    },
  );
});
