import { describe, expect, it } from 'vitest';
import { validateConfig } from './config.js';
import { parseListenAddress } from './listen.js';

const config = (listen: string) => ({
  interfaces: { lan: ['br-lan'], wan: ['eth0'] },
  api: { listen, tokenFile: '/var/lib/porttrigger/api-token' },
});

describe('api.listen', () => {
  it.each([':8080', '0.0.0.0:8080', '[::]:8080', '*:8080', '[0:0:0:0:0:0:0:0]:80'])(
    'warns that %s serves the API on every address, the WAN included',
    (listen) => {
      const r = validateConfig(config(listen));
      expect(r.ok).toBe(true);
      expect(r.warnings).toEqual([
        expect.objectContaining({
          path: ['api', 'listen'],
          code: 'api_listen_all',
          message: expect.stringContaining('WAN'),
        }),
      ]);
    },
  );

  it.each(['127.0.0.1:8080', '[::1]:8080', '192.168.1.1:8080', 'localhost:8080'])(
    'accepts %s quietly',
    (listen) => {
      expect(validateConfig(config(listen))).toMatchObject({ ok: true, warnings: [] });
    },
  );

  it.each(['8080', '127.0.0.1', '1.2.3.4:99999', '[::1:8080'])('refuses %s as bad_listen', (listen) => {
    const r = validateConfig(config(listen));
    expect(r.ok ? [] : r.issues).toEqual([
      expect.objectContaining({ path: ['api', 'listen'], code: 'bad_listen' }),
    ]);
  });

  it('parses the three forms', () => {
    expect(parseListenAddress(':80')).toEqual({ host: '', port: 80 });
    expect(parseListenAddress('[fe80::1]:80')).toEqual({ host: 'fe80::1', port: 80 });
    expect(parseListenAddress('10.0.0.1:0')).toEqual({ host: '10.0.0.1', port: 0 });
  });
});
