import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from '../../test/service/fixture.js';
import { createLogger } from '../adapters/logger.js';
import { ensureApiToken } from '../adapters/token.js';
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
