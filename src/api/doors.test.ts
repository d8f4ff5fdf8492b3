/** The doors of the API: the Host allowlist, the token gate, strict UTF-8 bodies. */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from '../../test/service/fixture.js';
import type { LogFields, Logger } from '../domain/logger.js';
import { API_PREFIX, createApp } from './app.js';

const TOKEN = 'test-token-0123456789';

let fx: Fixture;
let lines: { level: string; message: string; fields?: LogFields }[];
let app: ReturnType<typeof createApp>;

beforeEach(async () => {
  fx = await startFixture();
  lines = [];
  const log =
    (level: string) =>
    (message: string, fields?: LogFields): void => {
      lines.push({ level, message, ...(fields ? { fields } : {}) });
    };
  const logger: Logger = {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: () => logger,
  };
  app = createApp({
    service: fx.service,
    token: TOKEN,
    logger,
    allowedHosts: { addresses: ['127.0.0.1', '::1', '192.168.1.1'], names: ['localhost', 'router.lan'] },
  });
});
afterEach(() => fx.cleanup());

function get(path: string, headers: Record<string, string>) {
  return app.request(`http://127.0.0.1:8080${API_PREFIX}${path}`, { headers });
}

describe('the Host allowlist of the API (DNS rebinding)', () => {
  it.each(['evil.example', 'evil.example:8080', '10.99.99.99:8080', '[2001:db8::1]:8080'])(
    'refuses Host %s with 421 FOREIGN_HOST on /health too, and says nothing about the service',
    async (host) => {
      const res = await get('/health', { host });
      expect(res.status).toBe(421);
      const body = await res.text();
      expect(JSON.parse(body)).toMatchObject({ error: { code: 'FOREIGN_HOST' } });
      expect(body).not.toContain(fx.dir);
      expect(lines.some((l) => l.message === 'API request with a foreign Host refused')).toBe(true);
    },
  );

  it.each(['127.0.0.1:8080', '[::1]:8080', '192.168.1.1', 'localhost:8080', 'router.lan.'])(
    'answers Host %s, an address or name of this machine',
    async (host) => {
      expect((await get('/health', { host })).status).toBe(200);
      expect((await get('/rules', { host, authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    },
  );
});

describe('bearer tokens', () => {
  it('limits and logs wrong tokens without the token, and never locks the right one out', async () => {
    const host = '127.0.0.1:8080';
    for (let i = 0; i < 5; i++) {
      const res = await get('/rules', { host, authorization: `Bearer guess-${i}` });
      expect(res.status).toBe(401);
    }
    const limited = await get('/rules', { host, authorization: 'Bearer guess-5' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ error: { code: 'TOO_MANY_ATTEMPTS' } });
    expect((await get('/rules', { host, authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    const refused = lines.filter((l) => l.message === 'wrong API token refused');
    expect(refused).toHaveLength(5);
    expect(refused[0]?.fields).toMatchObject({ where: 'api' });
    expect(lines.filter((l) => l.message === 'wrong API tokens rate-limited')).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toMatch(/guess-/);
  });
});

describe('request bodies', () => {
  it.each([
    ['a lone continuation byte', [0x80]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['a truncated sequence', [0xe2, 0x82]],
    ['a byte that is never UTF-8', [0xff]],
  ])('refuses JSON with %s with 400 naming UTF-8, and stores nothing', async (_what, bytes) => {
    const before = readFileSync(fx.configPath, 'utf8');
    const head = new TextEncoder().encode('{"name":"caf');
    const tail = new TextEncoder().encode(
      '","trigger":[{"protocol":"tcp","ports":"21"}],"open":[{"protocol":"tcp","ports":"2000"}]}',
    );
    const body = new Uint8Array([...head, ...bytes, ...tail]);
    const res = await app.request(`http://127.0.0.1:8080${API_PREFIX}/rules`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: {
        code: 'INVALID_INPUT',
        message: 'the body is not valid UTF-8',
        issues: [{ code: 'invalid_utf8' }],
      },
    });
    expect(readFileSync(fx.configPath, 'utf8')).toBe(before);
    expect(fx.service.config.rules.map((r) => r.name)).not.toContain('caf\ufffd');
  });

  it('takes valid UTF-8 in names as it is', async () => {
    const res = await app.request(`http://127.0.0.1:8080${API_PREFIX}/rules`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'café',
        trigger: [{ protocol: 'tcp', ports: '21' }],
        open: [{ protocol: 'tcp', ports: '2000' }],
      }),
    });
    expect(res.status).toBe(201);
    expect(fx.service.config.rules.map((r) => r.name)).toContain('café');
  });
});
