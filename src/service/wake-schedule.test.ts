import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReadScope } from '../domain/datapath.js';
import { WAKE_DEFAULTS, type WakeRead, WakeSchedule, type WakeScheduleOptions } from './wake-schedule.js';

const RECONCILE_MS = 60_000;

/** A schedule on fake timers whose reads take `readMs` and are recorded with their start time and scope. */
function harness(
  readMs = 5,
  nextDueAt?: () => number | undefined,
  stretch?: Pick<WakeScheduleOptions, 'canStretch' | 'maxReconcileIntervalMs'>,
) {
  const reads: { at: number; scope: ReadScope }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let fail = false;
  const schedule = new WakeSchedule({
    clock: () => Date.now(),
    reconcileIntervalMs: RECONCILE_MS,
    ...stretch,
    timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as never) },
    read: async (scope): Promise<WakeRead> => {
      reads.push({ at: Date.now(), scope });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, readMs));
      inFlight--;
      if (fail) throw new Error('read failed');
      const due = nextDueAt?.();
      return due === undefined ? {} : { nextDueAt: due };
    },
  });
  return {
    schedule,
    reads,
    maxInFlight: () => maxInFlight,
    failing: (on: boolean) => {
      fail = on;
    },
  };
}

describe('WakeSchedule', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads once shortly after a signal, and not at all while nothing happens', async () => {
    const h = harness();
    h.schedule.start();
    await vi.advanceTimersByTimeAsync(RECONCILE_MS / 2);
    expect(h.reads).toEqual([]);
    h.schedule.wake('entries');
    await vi.advanceTimersByTimeAsync(WAKE_DEFAULTS.debounceMs + 10);
    expect(h.reads).toHaveLength(1);
    expect(h.reads[0]!.scope).toBe('entries');
    await h.schedule.stop();
  });

  it('coalesces a flood of signals: one read at a time, at least the gap apart, a bounded number of reads', async () => {
    const h = harness(20);
    h.schedule.start();
    const start = Date.now();
    // 10,000 signals over one second: one every 0.1 ms.
    for (let i = 0; i < 10_000; i++) {
      h.schedule.wake('entries');
      if (i % 10 === 9) await vi.advanceTimersByTimeAsync(1);
    }
    await vi.advanceTimersByTimeAsync(500);
    expect(h.maxInFlight()).toBe(1);
    const during = h.reads.filter((r) => r.at < start + 1_000);
    // A read takes 20 ms, then at least the gap: no more than 1000 / (20 + gap) + 1 reads in the second.
    expect(during.length).toBeLessThanOrEqual(Math.ceil(1_000 / (20 + WAKE_DEFAULTS.minGapMs)) + 1);
    expect(during.length).toBeGreaterThan(3);
    for (let i = 1; i < h.reads.length; i++) {
      expect(h.reads[i]!.at - h.reads[i - 1]!.at).toBeGreaterThanOrEqual(20 + WAKE_DEFAULTS.minGapMs);
    }
    // After the flood ends, the last signals still get their read: nothing is left pending.
    const last = h.reads.at(-1)!.at;
    expect(last).toBeGreaterThanOrEqual(start + 1_000 - 20 - WAKE_DEFAULTS.minGapMs);
    await h.schedule.stop();
  });

  it('a full signal during an entries read gets a full read after it', async () => {
    const h = harness(30);
    h.schedule.start();
    h.schedule.wake('entries');
    await vi.advanceTimersByTimeAsync(WAKE_DEFAULTS.debounceMs + 1);
    expect(h.reads.map((r) => r.scope)).toEqual(['entries']);
    h.schedule.wake('full');
    h.schedule.wake('entries');
    await vi.advanceTimersByTimeAsync(200);
    expect(h.reads.map((r) => r.scope)).toEqual(['entries', 'full']);
    await h.schedule.stop();
  });

  it('reads when the earliest expiry is due, then again after the next one', async () => {
    let due: number | undefined = Date.now() + 5_000;
    const h = harness(5, () => due);
    h.schedule.start({ nextDueAt: due });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.reads).toEqual([]);
    due = Date.now() + 3_000 + WAKE_DEFAULTS.expiryMarginMs;
    await vi.advanceTimersByTimeAsync(WAKE_DEFAULTS.expiryMarginMs + 10);
    expect(h.reads).toHaveLength(1);
    due = undefined;
    await vi.advanceTimersByTimeAsync(3_000 + WAKE_DEFAULTS.expiryMarginMs + 10);
    expect(h.reads).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(RECONCILE_MS / 2);
    expect(h.reads).toHaveLength(2);
    await h.schedule.stop();
  });

  it('runs the full reconciliation every interval as a safety net', async () => {
    const h = harness();
    h.schedule.start();
    await vi.advanceTimersByTimeAsync(RECONCILE_MS * 3 + 100);
    expect(h.reads.map((r) => r.scope)).toEqual(['full', 'full', 'full']);
    expect(h.schedule.counts.reconcile).toBe(3);
    await h.schedule.stop();
  });

  it('spaces the safety net by the cost of a full read while the signals run, within its bounds', async () => {
    // A cheap read while the signals run: the signalled floor, not the 60 s of a schedule without signals.
    const cheap = harness(5, undefined, { canStretch: () => true });
    cheap.schedule.start();
    await vi.advanceTimersByTimeAsync(RECONCILE_MS + 100);
    expect(cheap.schedule.reconcileIntervalMs).toBe(WAKE_DEFAULTS.signalledReconcileIntervalMs);
    await cheap.schedule.stop();

    // A full read of 300 ms at a budget of 0.1 % of a core: the next one 300 s later, not 60 s.
    const h = harness(300, undefined, { canStretch: () => true });
    h.schedule.start();
    await vi.advanceTimersByTimeAsync(RECONCILE_MS + 400);
    expect(h.reads).toHaveLength(1);
    expect(h.schedule.lastFullReadMs).toBe(300);
    expect(h.schedule.reconcileIntervalMs).toBe(300 / WAKE_DEFAULTS.reconcileBudget);
    await vi.advanceTimersByTimeAsync(300_000 - 1_000);
    expect(h.reads).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(h.reads).toHaveLength(2);
    // The read's own 300 ms, then the interval (the timers add a millisecond or so).
    expect(h.reads[1]!.at - h.reads[0]!.at - 300 - 300_000).toBeGreaterThanOrEqual(0);
    expect(h.reads[1]!.at - h.reads[0]!.at - 300 - 300_000).toBeLessThan(10);
    await h.schedule.stop();

    const capped = harness(300, undefined, { canStretch: () => true, maxReconcileIntervalMs: 100_000 });
    capped.schedule.start();
    await vi.advanceTimersByTimeAsync(RECONCILE_MS + 400);
    expect(capped.schedule.reconcileIntervalMs).toBe(100_000);
    await capped.schedule.stop();
  });

  it('keeps the safety net at its interval while a signal stream is down: it is the only observer then', async () => {
    let streamsRun = false;
    const h = harness(300, undefined, { canStretch: () => streamsRun });
    h.schedule.start();
    await vi.advanceTimersByTimeAsync(2 * (RECONCILE_MS + 300) + 100);
    expect(h.reads).toHaveLength(2);
    expect(h.schedule.reconcileIntervalMs).toBe(RECONCILE_MS);
    streamsRun = true;
    await vi.advanceTimersByTimeAsync(RECONCILE_MS + 300);
    expect(h.reads).toHaveLength(3);
    expect(h.schedule.reconcileIntervalMs).toBe(300_000);
    await h.schedule.stop();
  });

  it('retries a failed read after a pause, not in a loop', async () => {
    const h = harness();
    h.schedule.start();
    h.failing(true);
    h.schedule.wake('entries');
    await vi.advanceTimersByTimeAsync(5_000);
    // One read, then one retry a second: about five, not thousands.
    expect(h.reads.length).toBeGreaterThanOrEqual(4);
    expect(h.reads.length).toBeLessThanOrEqual(6);
    expect(h.reads.slice(1).every((r) => r.scope === 'full')).toBe(true);
    h.failing(false);
    await vi.advanceTimersByTimeAsync(5_000);
    const settled = h.reads.length;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(h.reads.length).toBe(settled);
    await h.schedule.stop();
  });

  it("retries after a caller's read failed, even with the safety net stretched to minutes", async () => {
    const h = harness(5, undefined, { canStretch: () => true });
    h.schedule.start();
    h.schedule.wake('full');
    await vi.advanceTimersByTimeAsync(100);
    expect(h.schedule.reconcileIntervalMs).toBe(300_000);
    const before = h.reads.length;
    h.schedule.failed();
    await vi.advanceTimersByTimeAsync(WAKE_DEFAULTS.retryMs - 10);
    expect(h.reads).toHaveLength(before);
    await vi.advanceTimersByTimeAsync(20);
    expect(h.reads.slice(before)).toEqual([{ at: expect.any(Number), scope: 'full' }]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.reads).toHaveLength(before + 1);
    await h.schedule.stop();
  });

  it('stops: no read after stop, whatever was pending', async () => {
    const h = harness();
    h.schedule.start({ nextDueAt: Date.now() + 100 });
    h.schedule.wake('full');
    await h.schedule.stop();
    await vi.advanceTimersByTimeAsync(RECONCILE_MS * 2);
    expect(h.reads).toEqual([]);
  });
});
