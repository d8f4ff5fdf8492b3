import { describe, expect, it } from 'vitest';
import { clientKey, TokenGate } from './token-gate.js';

const TOKEN = 'the-right-token-0123456789abcdef';

function gate(options: ConstructorParameters<typeof TokenGate>[1] = {}) {
  const lines: { message: string; fields?: Readonly<Record<string, unknown>> }[] = [];
  let now = 1_900_000_000_000;
  const g = new TokenGate(TOKEN, {
    clock: () => now,
    logger: { warn: (message, fields) => lines.push({ message, ...(fields ? { fields } : {}) }) },
    ...options,
  });
  return { g, lines, advance: (ms: number) => (now += ms) };
}

describe('the token gate', () => {
  it('lets the right token through whatever wrong tokens came before from the same address', () => {
    const { g } = gate();
    for (let i = 0; i < 50; i++) g.check(`guess-${i}`, '192.168.1.10', 'api');
    expect(g.check(TOKEN, '192.168.1.10', 'api')).toEqual({ ok: true });
  });

  it('limits the sixth wrong token of an address, says when to retry, and logs once without the token', () => {
    const { g, lines, advance } = gate();
    for (let i = 0; i < 5; i++)
      expect(g.check(`guess-${i}`, '192.168.1.10', 'api')).toEqual({ ok: false, limited: false });
    const sixth = g.check('guess-5', '192.168.1.10', 'api');
    expect(sixth).toMatchObject({ ok: false, limited: true });
    expect(sixth.ok === false && sixth.limited && sixth.retryAfterSeconds).toBe(300);
    g.check('guess-6', '192.168.1.10', 'api');
    expect(lines.filter((l) => l.message === 'wrong API token refused')).toHaveLength(5);
    expect(lines.filter((l) => l.message === 'wrong API tokens rate-limited')).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toMatch(/guess-/);
    expect(g.check('guess-7', '192.168.1.11', 'api')).toEqual({ ok: false, limited: false });
    advance(5 * 60_000);
    expect(g.check('guess-8', '192.168.1.10', 'api')).toEqual({ ok: false, limited: false });
  });

  it('counts the addresses of one IPv6 /64 as one client', () => {
    const { g } = gate();
    for (let i = 1; i <= 5; i++) g.check('guess', `2001:db8:1:2::${i.toString(16)}`, 'api');
    expect(g.check('guess', '2001:db8:1:2:ffff:ffff:ffff:ffff', 'api')).toMatchObject({ limited: true });
    expect(g.check('guess', '2001:db8:1:3::1', 'api')).toEqual({ ok: false, limited: false });
  });

  it('is not wiped by rotating addresses: a limited client stays limited, and all of them count overall', () => {
    const { g } = gate({ maxClients: 8, overall: 20 });
    for (let i = 0; i < 6; i++) g.check('guess', '192.168.1.10', 'api');
    // Fewer new clients than the table holds: nothing is forgotten (a clear-all would forget everyone).
    for (let i = 0; i < 6; i++) g.check('guess', `10.0.0.${i}`, 'api');
    expect(g.check('guess', '192.168.1.10', 'api')).toMatchObject({ limited: true });
    // Many more: the oldest are forgotten one by one, but the overall limit now refuses every wrong token.
    for (let i = 0; i < 100; i++) g.check('guess', `10.1.${i >> 8}.${i & 255}`, 'api');
    expect(g.check('guess', '192.168.1.10', 'api')).toMatchObject({ limited: true });
    expect(g.check('guess', '172.16.0.1', 'api')).toMatchObject({ limited: true });
    expect(g.check(TOKEN, '172.16.0.1', 'api')).toEqual({ ok: true });
  });

  it.each([
    ['192.168.1.10', '192.168.1.10'],
    ['::ffff:192.168.1.10', '192.168.1.10'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['fe80::1', 'fe80:0:0:0::/64'],
    ['unknown', 'unknown'],
  ])('counts %s under %s', (client, key) => {
    expect(clientKey(client)).toBe(key);
  });
});
