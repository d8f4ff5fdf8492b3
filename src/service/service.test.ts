import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { kernelAvailable } from '../../test/harness/kernel-gate.js';
import { configText, type Fixture, LAN1, LAN2, startFixture } from '../../test/service/fixture.js';
import { createConfigFileStore } from '../adapters/config-file.js';
import type { Datapath } from '../domain/datapath.js';
import type {
  DatapathSignal,
  DatapathSignals,
  DatapathSignalsStatus,
  SignalStreamState,
} from '../domain/datapath-signals.js';
import type { LogFields, Logger } from '../domain/logger.js';
import type { PublishedEvent } from './events.js';
import type { EventHistory } from './service.js';

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.cleanup();
  fx = undefined;
});

function collect(f: Fixture): PublishedEvent[] {
  const events: PublishedEvent[] = [];
  f.service.subscribe((e) => events.push(e));
  return events;
}

describe('service', () => {
  it('refuses to start on an invalid config with every issue, applying nothing', async () => {
    await expect(
      startFixture({
        text: (dir) =>
          configText(dir).replace('"5000"', '"70000"').replace('idleTimeout: 30', 'idleTimeout: 0'),
      }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT', issues: [expect.anything(), expect.anything()] });
  });

  it('emits opened, then closed as expired, with openedAt in the table and the history', async () => {
    fx = await startFixture();
    const events = collect(fx);
    fx.model.trigger(LAN1, 5000);
    const table = await fx.service.table();
    expect(table.entries).toMatchObject([{ rule: 'game', holder: LAN1, openedAt: fx.model.now() }]);
    fx.model.advance(31_000);
    await fx.service.readNow();
    expect(events.map((e) => [e.type, e.type === 'closed' ? e.reason : ''])).toEqual([
      ['opened', ''],
      ['closed', 'expired'],
    ]);
    expect(events.every((e) => typeof e.id === 'number')).toBe(true);
    expect(fx.service.queryEvents({}).events.map((e) => e.type)).toEqual(['closed', 'opened']);
  });

  it('adopts entries the datapath already holds at start, once, flagged adopted', async () => {
    fx = await startFixture();
    fx.model.trigger(LAN1, 5000);
    await fx.service.readNow();
    // A second service on the same model and files: like a restart after kill -9.
    const { startService } = await import('./service.js');
    const { silentLogger } = await import('../adapters/logger.js');
    const { createConfigFileStore } = await import('../adapters/config-file.js');
    const { openSqliteHistory } = await import('../main/start-service.js');
    const again = await startService({
      configStore: createConfigFileStore(fx.configPath),
      openHistory: openSqliteHistory,
      logger: silentLogger,
      datapath: fx.model,
      clock: () => fx!.model.now(),
      reconcileIntervalMs: 3_600_000,
      keepTableOnStop: true,
    });
    const opened = again.queryEvents({ type: 'opened' }).events;
    expect(opened.map((e) => e.type === 'opened' && e.adopted)).toEqual([true, undefined]);
    await again.stop();
  });

  it('re-applies with the remembered entries when the table is lost, and counts it', async () => {
    fx = await startFixture();
    fx.model.trigger(LAN1, 5000);
    await fx.service.readNow();
    fx.model.intact = false;
    await fx.service.readNow();
    expect(fx.model.remembered).toHaveLength(1);
    expect(fx.model.remembered[0]?.entries).toMatchObject([{ rule: 'game', holder: LAN1 }]);
    expect(fx.service.metricsText()).toContain('porttrigger_restores_total 1');
  });

  it('closes entries with the reason of the change that closed them', async () => {
    fx = await startFixture();
    const events = collect(fx);
    fx.model.trigger(LAN1, 5000);
    fx.model.trigger(LAN1, 5060, 'tcp');
    await fx.service.readNow();
    await fx.service.setRuleEnabled('game', false);
    await fx.service.deleteRule('voice call');
    expect(
      events.filter((e) => e.type === 'closed').map((e) => e.type === 'closed' && [e.rule, e.reason]),
    ).toEqual([
      ['game', 'rule-disabled'],
      ['voice call', 'rule-removed'],
    ]);
  });

  it('puts the previous config back when writing the file fails after the apply', async () => {
    fx = await startFixture();
    const before = readFileSync(fx.configPath, 'utf8');
    mkdirSync(`${fx.configPath}.bak`);
    await expect(fx.service.setRuleEnabled('game', false)).rejects.toMatchObject({
      code: 'CONFIG_WRITE_FAILED',
    });
    expect(readFileSync(fx.configPath, 'utf8')).toBe(before);
    expect(fx.model.applied.at(-1)?.rules.find((r) => r.name === 'game')?.enabled).toBe(true);
    expect(fx.service.config.rules.find((r) => r.name === 'game')?.enabled).toBe(true);
  });

  it('leaves the file, its backup and no temp file behind when the datapath refuses a change', async () => {
    fx = await startFixture();
    const before = readFileSync(fx.configPath, 'utf8');
    writeFileSync(`${fx.configPath}.bak`, 'the backup before\n');
    fx.model.failNextApply = true;
    await expect(fx.service.setRuleEnabled('game', false)).rejects.toMatchObject({ code: 'NFT_REJECTED' });
    expect(readFileSync(fx.configPath, 'utf8')).toBe(before);
    expect(readFileSync(`${fx.configPath}.bak`, 'utf8')).toBe('the backup before\n');
    expect(readdirSync(fx.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(fx.service.config.rules.find((r) => r.name === 'game')?.enabled).toBe(true);
    // The next change writes as usual, and the previous text becomes the backup.
    await fx.service.setRuleEnabled('game', false);
    expect(readFileSync(fx.configPath, 'utf8')).toContain('enabled: false');
    expect(readFileSync(`${fx.configPath}.bak`, 'utf8')).toBe(before);
    expect(readdirSync(fx.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  // A full disk needs a small file system of its own: mounting one needs root, as the kernel suites do.
  it.skipIf(!kernelAvailable)(
    'puts the previous config back and leaves the file as it was when the disk is full',
    async () => {
      const disk = mkdtempSync(join(tmpdir(), 'pt-full-disk-'));
      const home = mkdtempSync(join(tmpdir(), 'pt-full-disk-home-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk]);
      try {
        const path = join(disk, 'config.yaml');
        // The event history lives elsewhere: only the config's file system is full.
        const text = configText(home);
        writeFileSync(path, text);
        fx = await startFixture({ configStore: createConfigFileStore(path) });
        // Fill what is left, so that no new text fits.
        try {
          writeFileSync(join(disk, 'filler'), Buffer.alloc(128 * 1024));
        } catch {
          // ENOSPC: the disk is full now.
        }
        const applies = fx.model.applied.length;
        await expect(fx.service.setRuleEnabled('game', false)).rejects.toMatchObject({
          code: 'CONFIG_WRITE_FAILED',
        });
        expect(readFileSync(path, 'utf8')).toBe(text);
        expect(readdirSync(disk).sort()).toEqual(['config.yaml', 'filler']);
        // Applied, then put back: the kernel holds the previous config again.
        expect(fx.model.applied.length).toBe(applies + 2);
        expect(fx.model.applied.at(-1)?.rules.find((r) => r.name === 'game')?.enabled).toBe(true);
        expect(fx.service.config.rules.find((r) => r.name === 'game')?.enabled).toBe(true);
      } finally {
        await fx?.cleanup();
        fx = undefined;
        execFileSync('umount', [disk]);
        rmSync(disk, { recursive: true, force: true });
        rmSync(home, { recursive: true, force: true });
      }
    },
  );

  it('refuses a change when the file changed on disk since it was loaded', async () => {
    fx = await startFixture();
    writeFileSync(fx.configPath, `${readFileSync(fx.configPath, 'utf8')}# edited\n`);
    await expect(fx.service.setRuleEnabled('game', false)).rejects.toMatchObject({
      code: 'CONFIG_FILE_CHANGED',
    });
    expect((await fx.service.reload()).ok).toBe(true);
    await fx.service.setRuleEnabled('game', false);
    expect(readFileSync(fx.configPath, 'utf8')).toContain('# edited');
  });

  it('keeps triggering and reports degraded when the event history cannot be written', async () => {
    const failing: EventHistory = {
      insert: () => {
        throw new Error('disk I/O error');
      },
      query: () => ({ events: [] }),
      close: () => undefined,
    };
    fx = await startFixture({ openHistory: () => failing });
    const events = collect(fx);
    fx.model.trigger(LAN1, 5000);
    await expect(fx.service.readNow()).resolves.toMatchObject({ entries: [{ holder: LAN1 }] });
    expect(events).toMatchObject([{ type: 'opened', host: LAN1 }]);
    expect(events[0]?.id).toBeUndefined();
    expect(fx.service.health()).toMatchObject({
      status: 'degraded',
      eventStore: { status: 'failing', error: 'disk I/O error' },
    });
    expect(fx.service.metricsText()).toContain('porttrigger_event_store_errors_total 1');
  });

  it('starts without a history it cannot open and says so', async () => {
    fx = await startFixture({
      openHistory: () => {
        throw new Error('unable to open database file');
      },
    });
    expect(fx.service.health().status).toBe('degraded');
    expect(() => fx!.service.queryEvents({})).toThrow(
      expect.objectContaining({ code: 'EVENT_STORE_FAILED' }),
    );
  });

  it('on stop removes the table and closes entries as stopped, or keeps them when asked', async () => {
    fx = await startFixture();
    const events = collect(fx);
    fx.model.trigger(LAN2, 5000);
    await fx.service.readNow();
    await fx.service.stop();
    expect(events.at(-1)).toMatchObject({ type: 'closed', reason: 'stopped', host: LAN2 });
    expect((await fx.model.read()).table.entries).toEqual([]);
    await expect(fx.service.table()).rejects.toMatchObject({ code: 'SERVICE_STOPPED' });

    const kept = await startFixture({ keepTableOnStop: true });
    kept.model.trigger(LAN2, 5000);
    await kept.service.readNow();
    await kept.service.stop();
    expect((await kept.model.read()).table.entries).toHaveLength(1);
    await kept.cleanup();
  });

  it('answers reads from the last table, marked stale, while a read hangs, and fresh again after', async () => {
    fx = await startFixture({ freshReadWaitMs: 50 });
    fx.model.trigger(LAN1, 5000);
    const fresh = await fx.service.readNow();
    fx.model.holdReads();
    fx.model.advance(2_000);
    const stale = await fx.service.table();
    expect(stale).toMatchObject({ stale: true, at: fresh.at, entries: [{ rule: 'game', holder: LAN1 }] });
    // A second caller joins the hanging read instead of queueing another one, and gets the same answer.
    expect(await fx.service.checkPort(7000, 'udp')).toMatchObject({ open: true, stale: true, at: fresh.at });
    fx.model.releaseReads();
    await fx.service.readNow();
    const again = await fx.service.table();
    expect(again.stale).toBeUndefined();
    expect(again.at).toBe(fresh.at + 2_000);
  });

  it('is degraded, naming why, once the last successful read is older than the bound', async () => {
    fx = await startFixture({ freshReadWaitMs: 50, staleReadAfterMs: 5_000 });
    expect(fx.service.health()).toMatchObject({ status: 'ok', reasons: [] });
    fx.model.holdReads();
    void fx.service.readNow();
    fx.model.advance(4_000);
    expect(fx.service.health().status).toBe('ok');
    fx.model.advance(2_000);
    const health = fx.service.health();
    expect(health).toMatchObject({ status: 'degraded', datapath: { status: 'failing' } });
    expect(health.reasons).toEqual(['datapath: the trigger table was last read 6 s ago (more than 5 s)']);
    fx.model.releaseReads();
    await fx.service.readNow();
    expect(fx.service.health()).toMatchObject({ status: 'ok', reasons: [], datapath: { status: 'ok' } });
  });

  it('defaults the bound on the age of the last read to three reconciliation intervals, at least 10 s', async () => {
    fx = await startFixture({ freshReadWaitMs: 50, reconcileIntervalMs: 5_000 });
    // The timer must not read in between: reads hang, the clock is the model's.
    fx.model.holdReads();
    fx.model.advance(15_000);
    expect(fx.service.health().status).toBe('ok');
    fx.model.advance(1_000);
    expect(fx.service.health().status).toBe('degraded');
  });

  it('notices a deleted event database, opens a new one, logs it once and shows it in /health', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      error: () => undefined,
      warn: (message: string, _fields?: LogFields) => warnings.push(message),
      child: () => logger,
    };
    fx = await startFixture({ logger });
    const database = `${fx.dir}/events.db`;
    fx.model.trigger(LAN1, 5000);
    await fx.service.readNow();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${database}${suffix}`, { force: true });
    expect(fx.service.health().eventStore).toMatchObject({ status: 'ok', reopenedAt: fx.model.now() });
    fx.model.trigger(LAN2, 5060, 'tcp');
    await fx.service.readNow();
    fx.model.trigger(LAN2, 5000);
    await fx.service.readNow();
    expect(existsSync(database)).toBe(true);
    const db = new Database(database, { readonly: true });
    const rules = db.prepare('SELECT rule, type FROM events ORDER BY id').all();
    db.close();
    expect(rules).toEqual([
      { rule: 'voice call', type: 'opened' },
      { rule: 'game', type: 'conflict' },
    ]);
    expect(fx.service.queryEvents({}).events.map((e) => e.type)).toEqual(['conflict', 'opened']);
    expect(warnings.filter((w) => /event database was deleted or replaced/.test(w))).toHaveLength(1);
  });
});

/** Signals the test sends by hand, as the kernel adapter would. */
class FakeSignals implements DatapathSignals {
  listener: ((s: DatapathSignal) => void) | undefined;
  closed = false;
  constructor(readonly state: DatapathSignalsStatus = { connections: 'running', ruleset: 'running' }) {}
  async start(listener: (s: DatapathSignal) => void): Promise<void> {
    this.listener = listener;
  }
  status(): DatapathSignalsStatus {
    return this.state;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  send(kind: DatapathSignal['kind']): void {
    this.listener?.({ kind, at: Date.now() });
  }
}

describe('service woken by signals', () => {
  it('a connection signal alone (no read asked for, no reconciliation) brings the opened event', async () => {
    const signals = new FakeSignals();
    fx = await startFixture({ signals });
    const events = collect(fx);
    fx.model.trigger(LAN1, 5000);
    expect(events).toEqual([]);
    signals.send('connection');
    await vi.waitFor(() => expect(events.map((e) => e.type)).toEqual(['opened']), { timeout: 2_000 });
    expect(fx.service.metricsText()).toMatch(/^porttrigger_signals_total 1$/m);
  });

  it('a ruleset signal makes a full read that restores a lost table with the remembered entries', async () => {
    const signals = new FakeSignals();
    fx = await startFixture({ signals });
    fx.model.trigger(LAN1, 5000);
    signals.send('connection');
    await vi.waitFor(() => expect(fx!.model.remembered).toHaveLength(0));
    await vi.waitFor(() => expect(fx!.service.health().datapath.entries).toBe(1));
    fx.model.intact = false;
    signals.send('ruleset');
    await vi.waitFor(() => expect(fx!.model.remembered).toHaveLength(1), { timeout: 2_000 });
    expect(fx.model.remembered[0]?.entries).toMatchObject([{ rule: 'game', holder: LAN1 }]);
  });

  it('tells a change when the last signal arrived while both streams run, and nothing while one does not', async () => {
    const status: { connections: SignalStreamState; ruleset: SignalStreamState } = {
      connections: 'running',
      ruleset: 'running',
    };
    const signals = new FakeSignals(status);
    fx = await startFixture({ signals });
    const datapath: Datapath = fx.model;
    const applies = vi.spyOn(datapath, 'apply');
    const reads = vi.spyOn(datapath, 'read');
    // Before any signal (the streams' catch-up brings one) the service cannot vouch for a listing.
    await fx.service.setRuleEnabled('game', false);
    expect(applies.mock.calls.at(-1)?.[2]).toEqual({ change: true });
    fx.model.advance(1_000);
    signals.send('connection');
    const arrived = fx.model.now();
    fx.model.advance(5_000);
    reads.mockClear();
    await fx.service.setRuleEnabled('game', true);
    expect(applies.mock.calls.at(-1)?.[2]).toEqual({ change: true, quietSince: arrived });
    expect(reads.mock.calls.map(([scope, options]) => [scope, options])).toEqual([
      ['entries', { quietSince: arrived }],
      ['change', { quietSince: arrived }],
    ]);
    status.connections = 'restarting';
    await fx.service.setRuleEnabled('game', false);
    expect(applies.mock.calls.at(-1)?.[2]).toEqual({ change: true });
  });

  it('says in /health which signal streams do not run, and closes the signals on stop', async () => {
    const detail = 'conntrack is not installed';
    const signals = new FakeSignals({ connections: 'unavailable', ruleset: 'running', detail });
    fx = await startFixture({ signals });
    expect(fx.service.health().datapath.signals).toEqual({
      connections: 'unavailable',
      ruleset: 'running',
      detail,
    });
    await fx.service.stop();
    expect(signals.closed).toBe(true);
  });
});
