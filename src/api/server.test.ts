import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from '../../test/service/fixture.js';
import { createLogger } from '../adapters/logger.js';
import { ensureApiToken } from '../adapters/token.js';
import { ApiClient } from '../cli/api-client.js';
import { serveApi } from './server.js';

let fx: Fixture;
beforeEach(async () => {
  fx = await startFixture();
});
afterEach(async () => {
  await fx.cleanup();
});

describe('serveApi on first start', () => {
  it('creates the token and says where it is, never what it is, in the log and on stderr', async () => {
    const out: string[] = [];
    const logger = createLogger({
      level: 'debug',
      format: 'json',
      sink: { write: (l: string) => out.push(l) },
    });
    const tokenFile = join(fx.dir, 'secret', 'api-token');
    // What the service host does on first start: create the token, then serve.
    const { token: created } = await ensureApiToken(tokenFile, { announce: (m) => out.push(m) });
    const api = await serveApi(fx.service, { listen: '127.0.0.1:0', tokenFile }, { token: created, logger });
    try {
      const token = readFileSync(tokenFile, 'utf8').trim();
      expect(token.length).toBeGreaterThanOrEqual(32);
      const all = out.join('\n');
      expect(all).toContain(tokenFile);
      expect(all).not.toContain(token);
      const res = await fetch(`${api.url}/api/v1/rules`, { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
    } finally {
      await api.close();
    }
  });
});

describe('serveApi over a socket', () => {
  it('answers the CLI by IP and refuses a foreign Host with 421, the same names the panel answers', async () => {
    const tokenFile = join(fx.dir, 'api-token');
    const { token } = await ensureApiToken(tokenFile);
    const api = await serveApi(fx.service, { listen: '127.0.0.1:0', tokenFile }, { token });
    try {
      const client = new ApiClient({ baseUrl: api.url, token, fetch });
      expect((await client.listRules()).map((r) => r.name)).toContain('game');
      const port = new URL(api.url).port;
      const foreign = await rawGet(port, '/api/v1/health', `evil.example:${port}`);
      expect(foreign.status).toBe(421);
      expect((await rawGet(port, '/api/v1/health', `localhost:${port}`)).status).toBe(200);
    } finally {
      await api.close();
    }
  });
});

/** A GET with a Host header of our choosing (fetch sets its own). */
function rawGet(port: string, path: string, host: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: Number(port), path, headers: { host } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end();
  });
}
