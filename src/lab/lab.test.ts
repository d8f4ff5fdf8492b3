import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runProgram } from '../adapters/exec.js';
import { parseConfigText } from '../domain/config.js';
import { findFreePort, LAB_PRESETS, labConfigText, missingLabPrerequisites } from './lab.js';

describe('labConfigText', () => {
  it('is a valid standalone config for the virtual router with the lab presets and a short timeout', () => {
    const text = labConfigText({
      idleTimeout: 5,
      listen: '127.0.0.1:8080',
      tokenFile: '/tmp/x/api-token',
      database: '/tmp/x/events.db',
    });
    const result = parseConfigText(text);
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const config = result.value;
    expect(config.mode).toBe('standalone');
    expect(config.interfaces).toEqual({ lan: ['br-lan'], wan: ['wan0'] });
    expect(config.rules.map((r) => r.name)).toEqual(['IRC DCC', 'AIM Talk', 'SIP voice']);
    expect(config.rules.every((r) => r.idleTimeout === 5)).toBe(true);
    expect(config.api).toEqual({ listen: '127.0.0.1:8080', tokenFile: '/tmp/x/api-token' });
    expect(config.events?.database).toBe('/tmp/x/events.db');
    expect(result.warnings).toEqual([]);
    expect(LAB_PRESETS).toHaveLength(3);
  });
});

describe('findFreePort', () => {
  it('takes the preferred port when it is free and another one when it is busy', async () => {
    const free = await findFreePort(0);
    expect(free).toBeGreaterThan(0);
    expect(await findFreePort(free)).toBe(free);
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen({ port: free, host: '127.0.0.1' }, resolve));
    try {
      const other = await findFreePort(free);
      expect(other).not.toBe(free);
      expect(other).toBeGreaterThan(0);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });
});

describe('missingLabPrerequisites', () => {
  it('names root first when the caller is not root', async () => {
    const missing = await missingLabPrerequisites(runProgram, false);
    expect(missing[0]).toMatch(/^root privileges/);
  });
});
