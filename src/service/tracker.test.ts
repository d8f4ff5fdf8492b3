import { describe, expect, it } from 'vitest';
import { config as makeConfig, rule } from '../../test/factories.js';
import type { Config, TriggerEntry, TriggerTable } from '../domain/types.js';
import { TableTracker } from './tracker.js';

const game = rule({
  name: 'game',
  trigger: [{ protocol: 'udp', ports: '5000' }],
  open: [{ protocol: 'udp', ports: '7000' }],
  idleTimeout: 30,
});
const config: Config = makeConfig([game], { mode: 'standalone' });
const entry = (expiresAt: number, extra: Partial<TriggerEntry> = {}): TriggerEntry => ({
  rule: 'game',
  family: 'ipv4',
  holder: '192.168.1.10',
  expiresAt,
  ...extra,
});
const table = (
  at: number,
  entries: TriggerEntry[] = [],
  extra: Partial<TriggerTable> = {},
): TriggerTable => ({
  at,
  entries,
  conflicts: [],
  blocked: [],
  ...extra,
});

describe('TableTracker', () => {
  it('reports a new entry once, with openedAt estimated from its expiry and kept afterwards', () => {
    const t = new TableTracker();
    t.observe(table(1_000), { config });
    // Opened at 1 500 (expiry 31 500 - 30 s), read at 2 000.
    const first = t.observe(table(2_000, [entry(31_500)]), { config });
    expect(first.events).toEqual([
      { type: 'opened', at: 1_500, rule: 'game', family: 'ipv4', host: '192.168.1.10', expiresAt: 31_500 },
    ]);
    expect(first.table.entries[0]?.openedAt).toBe(1_500);
    const second = t.observe(table(3_000, [entry(32_900)]), { config });
    expect(second.events).toEqual([]);
    expect(second.table.entries[0]?.openedAt).toBe(1_500);
  });

  it('flags entries found at start as adopted, dated at first sight', () => {
    const t = new TableTracker();
    const { events } = t.observe(table(5_000, [entry(20_000)]), { config, adopted: true });
    expect(events).toMatchObject([{ type: 'opened', at: 5_000, adopted: true }]);
  });

  it('closes a vanished entry as expired, at its expiry when that lies between the reads', () => {
    const t = new TableTracker();
    t.observe(table(1_000, [entry(1_800)]), { config });
    const { events } = t.observe(table(2_000), { config });
    expect(events).toMatchObject([{ type: 'closed', reason: 'expired', at: 1_800, openedAt: 1_000 }]);
  });

  it.each([
    ['rule-removed', { ...config, rules: [] }, undefined],
    ['rule-disabled', { ...config, rules: [{ ...game, enabled: false }] }, undefined],
    ['rule-disabled', { ...config, enabled: false }, undefined],
    ['rule-changed', config, { kind: 'applied' as const }],
    ['released', config, { kind: 'released' as const, selector: { rule: 'game' } }],
  ])('closes with reason %s when the change says so', (reason, after, cause) => {
    const t = new TableTracker();
    t.observe(table(1_000, [entry(60_000)]), { config });
    const { events } = t.observe(table(2_000), { config: after, ...(cause ? { cause } : {}) });
    expect(events).toMatchObject([{ type: 'closed', reason, at: 2_000 }]);
  });

  it('reports a record once although its time read back moves by a second', () => {
    const t = new TableTracker();
    const conflict = {
      rule: 'game',
      family: 'ipv4' as const,
      contender: '192.168.1.20',
      holder: '192.168.1.10',
    };
    const a = t.observe(table(1_000, [], { conflicts: [{ ...conflict, at: 900 }] }), { config });
    const b = t.observe(table(2_000, [], { conflicts: [{ ...conflict, at: 1_700 }] }), { config });
    expect(a.events).toEqual([{ type: 'conflict', at: 900, ...conflict }]);
    expect(b.events).toEqual([]);
    // A new attempt after the record window is a new record.
    const c = t.observe(table(70_000, [], { conflicts: [{ ...conflict, at: 69_000 }] }), { config });
    expect(c.events).toHaveLength(1);
  });

  it('does not report a record that the history already holds', () => {
    const t = new TableTracker();
    t.rememberRecord({ type: 'blocked', rule: 'game', family: 'ipv4', who: '192.168.1.99', at: 500 });
    const blocked = [{ rule: 'game', family: 'ipv4' as const, host: '192.168.1.99', at: 1_000 }];
    expect(t.observe(table(2_000, [], { blocked }), { config }).events).toEqual([]);
  });

  it('remembers known entries merged with a later partial read, latest expiry winning', () => {
    const t = new TableTracker();
    t.observe(table(1_000, [entry(10_000), entry(10_000, { holder: '192.168.1.20', rule: 'other' })]), {
      config,
    });
    const merged = t.remembered(2_000, table(2_000, [entry(12_000)]));
    expect(merged.at).toBe(2_000);
    expect(merged.entries.map((e) => [e.holder, e.expiresAt])).toEqual([
      ['192.168.1.10', 12_000],
      ['192.168.1.20', 10_000],
    ]);
  });

  it('closes everything on stop', () => {
    const t = new TableTracker();
    t.observe(table(1_000, [entry(10_000)]), { config });
    expect(t.closeAll('stopped', 3_000)).toMatchObject([{ type: 'closed', reason: 'stopped', at: 3_000 }]);
    expect(t.size).toBe(0);
  });
});
