import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureApiToken, MIN_TOKEN_BYTES } from './token.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pt-token-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('API token', () => {
  it('creates a 32-byte base64url token with mode 0600 in a 0700 directory, announced once', async () => {
    const path = join(dir, 'sub', 'api-token');
    const told: string[] = [];
    const first = await ensureApiToken(path, { announce: (m) => told.push(m) });
    expect(first.created).toBe(true);
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'sub')).mode & 0o777).toBe(0o700);
    expect(told).toHaveLength(1);
    expect(told[0]).toContain(path);
    expect(told[0]).not.toContain(first.token);
    const second = await ensureApiToken(path, { announce: (m) => told.push(m) });
    expect(second).toEqual({ token: first.token, created: false });
    expect(told).toHaveLength(1);
    expect(readFileSync(path, 'utf8').trim()).toBe(first.token);
  });

  it('tightens the mode of an existing token file', async () => {
    const path = join(dir, 'api-token');
    const secret = 'a-long-enough-secret-0123456789abcdef';
    writeFileSync(path, `${secret}\n`, { mode: 0o644 });
    expect((await ensureApiToken(path)).token).toBe(secret);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it.each([
    ['one character', 'x'],
    ['31 bytes', 'a'.repeat(31)],
    ['15 two-byte characters (30 bytes)', 'é'.repeat(15)],
  ])(
    'refuses a token file of %s with TOKEN_TOO_SHORT naming the file and the minimum',
    async (_what, short) => {
      const path = join(dir, 'api-token');
      writeFileSync(path, `${short}\n`, { mode: 0o600 });
      const refused = ensureApiToken(path);
      await expect(refused).rejects.toMatchObject({ code: 'TOKEN_TOO_SHORT' });
      await expect(refused).rejects.toThrow(new RegExp(`${path}.*at least ${MIN_TOKEN_BYTES}`));
      expect(readFileSync(path, 'utf8')).toBe(`${short}\n`);
    },
  );

  it('accepts a token of exactly 32 bytes', async () => {
    const path = join(dir, 'api-token');
    writeFileSync(path, 'b'.repeat(32), { mode: 0o600 });
    expect((await ensureApiToken(path)).token).toBe('b'.repeat(32));
  });
});
