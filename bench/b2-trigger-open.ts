import type dgram from 'node:dgram';
import { setTimeout as delay } from 'node:timers/promises';
import { KernelDatapath } from '../src/adapters/kernel-datapath.js';
import { createNftRunner } from '../src/adapters/nft.js';
import type { Config } from '../src/domain/types.js';
import { LAB_ADDRESSES } from '../src/lab/virtual-network.js';
import type { BenchContext } from './lib/context.js';
import { goalOn } from './lib/goals.js';
import { NamespaceHelper } from './lib/helpers.js';
import { type BenchNetwork, createBenchNetwork, PORTS } from './lib/lab.js';
import { IGD_URL, type Miniupnpd, startMiniupnpd } from './lib/miniupnpd.js';
import { newPart, type PartResult } from './lib/results.js';
import { baselineNatScript, MEASURED_RULE } from './lib/rulesets.js';
import { ratioOf, summarize } from './lib/stats.js';

const A = LAB_ADDRESSES;
/** A delivered packet arrives within microseconds; this is how long "not delivered" is waited for. */
const DELIVERY_WAIT_MS = 50;
/** Source ports of the inbound packets: one fresh port (so a fresh connection) per packet. */
const FIRST_SOURCE_PORT = 20_000;
const LAST_SOURCE_PORT = 60_000;
/** Source ports of the triggers: one fresh port (so a fresh connection) per trial, below the inbound ones. */
const FIRST_TRIGGER_PORT = 10_000;
const LAST_TRIGGER_PORT = 19_999;
/** Probe interval of the time-to-open measurement and how long a trial may take. */
const PROBE_INTERVAL_MS = 1;
const PROBE_LIMIT_MS = 2000;

/** The B2 rule: trigger UDP 6000, open UDP 7000, for any remote. */
function b2Config(): Config {
  return {
    interfaces: { lan: ['br-lan'], wan: ['wan0'] },
    mode: 'standalone',
    enabled: true,
    ipv6: false,
    rules: [
      {
        name: MEASURED_RULE,
        enabled: true,
        family: 'ipv4',
        trigger: [{ protocol: 'udp', ports: String(PORTS.trigger) }],
        open: [{ protocol: 'udp', ports: String(PORTS.open) }],
        idleTimeout: 600,
        lanHosts: 'any',
        remote: 'any',
        onExpire: 'keep',
      },
    ],
  };
}

/** lan1 and wan1 sockets of one network, all held by this process. */
class Endpoints {
  readonly #arrivals = new Map<string, bigint>();
  readonly #waiters = new Map<string, (at: bigint) => void>();
  #nextPort = FIRST_SOURCE_PORT;
  #nextTriggerPort = FIRST_TRIGGER_PORT;

  private constructor(
    readonly lan: NamespaceHelper,
    readonly wan: NamespaceHelper,
    readonly receiver: dgram.Socket,
    public trigger: dgram.Socket,
  ) {
    receiver.on('message', (msg) => {
      const at = process.hrtime.bigint();
      const token = msg.toString();
      this.#arrivals.set(token, at);
      this.#waiters.get(token)?.(at);
    });
  }

  static async open(ctx: BenchContext, bn: BenchNetwork): Promise<Endpoints> {
    const lan = await NamespaceHelper.start(ctx, bn.net.namespaces.lan1);
    const wan = await NamespaceHelper.start(ctx, bn.net.namespaces.wan1);
    const receiver = await lan.udp(PORTS.open);
    const trigger = await lan.udp(0);
    // wan1 has no listener on the trigger port and answers port unreachable: expected, not an error.
    trigger.on('error', () => undefined);
    await connect(trigger, PORTS.trigger, A.hosts.wan1.ipv4);
    return new Endpoints(lan, wan, receiver, trigger);
  }

  /** A fresh wan1 socket from a port not used before in this run, connected to the router's open port. */
  async inboundSocket(): Promise<dgram.Socket> {
    if (this.#nextPort > LAST_SOURCE_PORT) throw new Error('no unused source ports left');
    const socket = await this.wan.udp(this.#nextPort++);
    // Undelivered packets end at the router, which answers port unreachable: expected, not an error.
    socket.on('error', () => undefined);
    await connect(socket, PORTS.open, A.router.wan.ipv4);
    return socket;
  }

  /**
   * A new trigger socket (a new source port): only the first packet of a connection triggers, so after a
   * release the next trial must start a new connection, as an application does.
   */
  async renewTrigger(): Promise<void> {
    // A port not used before in the run: an ephemeral port could be one whose connection is still tracked.
    if (this.#nextTriggerPort > LAST_TRIGGER_PORT) throw new Error('no unused trigger source ports left');
    const socket = await this.lan.udp(this.#nextTriggerPort++);
    socket.on('error', () => undefined);
    await connect(socket, PORTS.trigger, A.hosts.wan1.ipv4);
    this.trigger.close();
    this.trigger = socket;
  }

  /** When `token` arrived at lan1, if it did. */
  arrivedAt(token: string): bigint | undefined {
    return this.#arrivals.get(token);
  }

  /** Resolves with the arrival time of `token` at lan1, or undefined after `ms`. */
  arrival(token: string, ms: number): Promise<bigint | undefined> {
    const seen = this.#arrivals.get(token);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(token);
        resolve(undefined);
      }, ms);
      this.#waiters.set(token, (at) => {
        clearTimeout(timer);
        this.#waiters.delete(token);
        resolve(at);
      });
    });
  }

  async close(): Promise<void> {
    this.receiver.close();
    this.trigger.close();
    await this.lan.stop();
    await this.wan.stop();
  }
}

function connect(socket: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(port, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

function spinUntil(targetNs: bigint): bigint {
  let now = process.hrtime.bigint();
  while (now < targetNs) now = process.hrtime.bigint();
  return now;
}

interface GapTrial {
  readonly delivered: boolean;
  /** From the trigger's send() returning to the inbound's send() starting, in microseconds. */
  readonly gapUs: number;
  /** How long the trigger's send() took (the packet crosses the router inside it), in microseconds. */
  readonly triggerUs: number;
}

/** Delivered fractions of consecutive blocks of trials, one per repetition. */
function blockFractions(trials: readonly GapTrial[], blocks: number): number[] {
  const size = Math.ceil(trials.length / blocks);
  const out: number[] = [];
  for (let i = 0; size > 0 && i < trials.length; i += size) {
    const block = trials.slice(i, i + size);
    out.push(block.filter((x) => x.delivered).length / block.length);
  }
  return out;
}

/**
 * One trial: the trigger from lan1, then after `gapMs` (spinning, no timer) the inbound packet from wan1 on a
 * fresh connection; delivered when lan1 receives it. Both sends come from this one process.
 */
async function gapTrial(ep: Endpoints, gapMs: number, token: string): Promise<GapTrial> {
  const inbound = await ep.inboundSocket();
  try {
    const beforeTrigger = process.hrtime.bigint();
    ep.trigger.send(`trigger ${token}`);
    const afterTrigger = process.hrtime.bigint();
    const sendAt =
      gapMs > 0 ? spinUntil(afterTrigger + BigInt(Math.round(gapMs * 1e6))) : process.hrtime.bigint();
    inbound.send(token);
    const delivered = (await ep.arrival(token, DELIVERY_WAIT_MS)) !== undefined;
    return {
      delivered,
      gapUs: Number(sendAt - afterTrigger) / 1000,
      triggerUs: Number(afterTrigger - beforeTrigger) / 1000,
    };
  } finally {
    inbound.close();
  }
}

interface OpenTrial {
  /** From the request (trigger sent / upnpc started) to the send of the first delivered probe, in ms. */
  readonly openMs?: number;
  /** upnpc only: how long the whole client run took, in ms. */
  readonly requestMs?: number;
  /** upnpc only: an inbound packet sent as soon as upnpc returned was delivered. */
  readonly afterReturnDelivered?: boolean;
}

/**
 * Probes every {@link PROBE_INTERVAL_MS} from wan1 (each probe a fresh connection, from a pool of `pool` sockets
 * made beforehand) while `request` runs; resolves with the send time of the first probe that reached lan1.
 */
async function probeUntilOpen(
  ep: Endpoints,
  tag: string,
  pool: number,
  request: () => Promise<void>,
): Promise<{ firstNs?: bigint; requestNs: bigint; requestDone: Promise<void> }> {
  const sockets: dgram.Socket[] = [];
  for (let i = 0; i < pool; i++) sockets.push(await ep.inboundSocket());
  const sent: { token: string; at: bigint }[] = [];
  let opened: bigint | undefined;
  const requestNs = process.hrtime.bigint();
  const requestDone = request();
  const start = Date.now();
  for (let i = 0; opened === undefined && Date.now() - start < PROBE_LIMIT_MS; i++) {
    const socket = sockets.shift() ?? (await ep.inboundSocket());
    const token = `${tag}-probe-${i}`;
    sent.push({ token, at: process.hrtime.bigint() });
    socket.send(token);
    setTimeout(() => socket.close(), 200);
    await delay(PROBE_INTERVAL_MS);
    opened = sent.find((p) => ep.arrivedAt(p.token) !== undefined)?.at;
  }
  for (const s of sockets) s.close();
  return { ...(opened !== undefined ? { firstNs: opened } : {}), requestNs, requestDone };
}

/** B2: how soon the open ports work after the trigger, against static DNAT; and miniupnpd's time to open. */
export async function runB2(ctx: BenchContext, missing: ReadonlyMap<string, string>): Promise<PartResult> {
  const part = newPart('b2', 'B2 trigger-to-open');
  const { b2 } = ctx.plan;
  part.method.push(
    'Two fresh virtual networks without RPS (packets cross the router inside the sending syscall): porttrigger (standalone, applied with KernelDatapath.apply; rule trigger UDP 6000 → open UDP 7000) and the baseline (masquerade + static DNAT of UDP 7000 to lan1).',
    'One process holds all the sockets: a helper forked into lan1 and one into wan1 (ip netns exec) create UDP sockets and pass them over the IPC channel, so the trigger (lan1 → wan1:6000) and the inbound packet (wan1 → 203.0.113.1:7000) are sent back to back from one event loop, with connected sockets (no address lookup between them).',
    `Gap: measured on the monotonic clock from the trigger's send() returning to the inbound's send() call; 0 ms means immediately, other gaps are spun, not slept. Each inbound packet uses a source port not used before in the run (a fresh connection, so conntrack state of earlier trials cannot help). Delivered = lan1's socket got it within ${DELIVERY_WAIT_MS} ms. Before each porttrigger trial the entry is released (KernelDatapath.release) and lan1 opens a new trigger socket (only the first packet of a connection triggers), so every trial opens the entry anew with a new connection.`,
    `Trials: ${b2.trialsPerGap} per gap for each of porttrigger and baseline, gaps interleaved, bounded by a ${b2.budgetS} s budget. Ratio = porttrigger's delivered fraction ÷ the baseline's.`,
    `Time to open: while the request runs, wan1 sends a probe every ~${PROBE_INTERVAL_MS} ms (each from a fresh port) and the first probe that reaches lan1 marks the open; the figure is that probe's send time minus the request's start, so its resolution is the probe interval. porttrigger's request is the trigger packet; miniupnpd's is \`upnpc -u ${IGD_URL} -a 192.168.1.10 7000 7000 UDP\` started in lan1 (description fetch + SOAP AddPortMapping; SSDP discovery skipped), then the mapping is deleted with upnpc -d. ${b2.openTrials} trials each. Ratio = miniupnpd median ÷ porttrigger median.`,
  );
  const started = Date.now();
  const deadline = started + b2.budgetS * 1000;
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const ptNet = await createBenchNetwork(ctx, 'b2-porttrigger', { rps: false, sinks: false });
    cleanups.push(ptNet.destroy);
    const datapath = new KernelDatapath({ nft: createNftRunner({ netns: ptNet.net.namespaces.router }) });
    await datapath.apply(b2Config());
    const baseNet = await createBenchNetwork(ctx, 'b2-baseline', { rps: false, sinks: false });
    cleanups.push(baseNet.destroy);
    await baseNet.net.exec('router', 'nft', ['-f', '-'], { input: baselineNatScript() });
    const pt = await Endpoints.open(ctx, ptNet);
    const base = await Endpoints.open(ctx, baseNet);
    cleanups.push(
      () => pt.close(),
      () => base.close(),
    );

    const results = new Map<number, { pt: GapTrial[]; base: GapTrial[] }>(
      b2.gapsMs.map((g) => [g, { pt: [], base: [] }]),
    );
    let trial = 0;
    outer: for (let i = 0; i < b2.trialsPerGap; i++) {
      for (const gap of b2.gapsMs) {
        if (Date.now() > deadline) break outer;
        await datapath.release({ rule: MEASURED_RULE });
        await pt.renewTrigger();
        trial++;
        results.get(gap)!.pt.push(await gapTrial(pt, gap, `pt-${trial}`));
        results.get(gap)!.base.push(await gapTrial(base, gap, `base-${trial}`));
      }
      if ((i + 1) % 100 === 0) ctx.log(`  B2: ${i + 1} trials per gap`);
    }
    for (const gap of b2.gapsMs) {
      const r = results.get(gap)!;
      const ptFraction = summarize(blockFractions(r.pt, ctx.plan.reps));
      const baseFraction = summarize(blockFractions(r.base, ctx.plan.reps));
      const all = (xs: GapTrial[]) => `${xs.filter((x) => x.delivered).length}/${xs.length}`;
      const gaps = summarize(r.pt.map((x) => x.gapUs));
      const triggerUs = summarize(r.pt.map((x) => x.triggerUs));
      const us = (s: typeof gaps, pick: 'median' | 'max') => (s ? s[pick].toFixed(1) : '?');
      part.rows.push({
        id: `gap-${gap}`,
        group: `B2 delivered fraction of the first inbound packet after the trigger (${ctx.plan.reps} blocks of trials)`,
        label: `gap ${gap} ms`,
        unit: 'fraction',
        better: 'higher',
        baselineLabel: 'static DNAT, same trials',
        baseline: baseFraction,
        value: ptFraction,
        ratio: ratioOf(ptFraction, baseFraction),
        ...(gap === 0 ? { goal: goalOn('100 % delivered at 0 ms', ptFraction, 'min', { atLeast: 1 }) } : {}),
        note:
          `porttrigger delivered ${all(r.pt)}, baseline ${all(r.base)}; measured gap median ${us(gaps, 'median')} µs, ` +
          `max ${us(gaps, 'max')} µs; the trigger's send() took median ${us(triggerUs, 'median')} µs`,
        extra: {
          gapUs: gaps,
          triggerSendUs: triggerUs,
          baselineGapUs: summarize(r.base.map((x) => x.gapUs)),
        },
      });
    }
    part.raw['gapTrials'] = Object.fromEntries(
      [...results].map(([g, r]) => [
        g,
        {
          porttrigger: { trials: r.pt.length, delivered: r.pt.filter((x) => x.delivered).length },
          baseline: { trials: r.base.length, delivered: r.base.filter((x) => x.delivered).length },
          gapUs: summarize(r.pt.map((x) => x.gapUs)),
        },
      ]),
    );
    if (trial < b2.trialsPerGap * b2.gapsMs.length) {
      part.status = 'partial';
      part.reason = `${trial} of ${b2.trialsPerGap * b2.gapsMs.length} trials within the ${b2.budgetS} s budget`;
    }

    // Time to open, measured the same way for porttrigger and miniupnpd.
    const ptOpen: OpenTrial[] = [];
    for (let i = 0; i < b2.openTrials; i++) {
      await datapath.release({ rule: MEASURED_RULE });
      await pt.renewTrigger();
      const { firstNs, requestNs } = await probeUntilOpen(pt, `pto-${i}`, 8, async () => {
        pt.trigger.send(`trigger pto-${i}`);
      });
      ptOpen.push(firstNs !== undefined ? { openMs: Number(firstNs - requestNs) / 1e6 } : {});
    }
    let muOpen: OpenTrial[] = [];
    let muReason: string | undefined;
    if (missing.has('miniupnpd') || missing.has('upnpc')) {
      muReason = missing.get('miniupnpd') ?? missing.get('upnpc');
    } else {
      const muNet = await createBenchNetwork(ctx, 'b2-miniupnpd', { rps: false, sinks: false });
      cleanups.push(muNet.destroy);
      const daemon: Miniupnpd = await startMiniupnpd(ctx, muNet);
      cleanups.push(() => daemon.stop());
      const mu = await Endpoints.open(ctx, muNet);
      cleanups.push(() => mu.close());
      muOpen = await miniupnpdTrials(mu, b2.openTrials);
    }
    const ptOpenMs = summarize(ptOpen.flatMap((t) => (t.openMs === undefined ? [] : [t.openMs])));
    const muOpenMs = summarize(muOpen.flatMap((t) => (t.openMs === undefined ? [] : [t.openMs])));
    part.rows.push({
      id: 'time-to-open',
      group: 'B2 time from request to the first delivered inbound packet (probe every ~1 ms)',
      label: muReason
        ? `miniupnpd: not measured (${muReason})`
        : 'miniupnpd (upnpc -a) vs porttrigger (trigger packet)',
      unit: 'ms',
      better: 'lower',
      baselineLabel: 'porttrigger, same method',
      baseline: ptOpenMs,
      value: muOpenMs,
      ratio: ratioOf(muOpenMs, ptOpenMs),
      note: muNote(ptOpen, muOpen),
      extra: {
        upnpcRunMs: summarize(muOpen.flatMap((t) => (t.requestMs === undefined ? [] : [t.requestMs]))),
        afterReturnDelivered: `${muOpen.filter((t) => t.afterReturnDelivered).length}/${muOpen.length}`,
      },
    });
    part.raw['open'] = { porttrigger: ptOpen, miniupnpd: muOpen };
  } finally {
    for (const undo of cleanups.reverse()) await undo().catch(() => undefined);
  }
  part.durationS = Math.round((Date.now() - started) / 1000);
  return part;
}

function muNote(pt: readonly OpenTrial[], mu: readonly OpenTrial[]): string {
  const opened = (xs: readonly OpenTrial[]) =>
    `${xs.filter((t) => t.openMs !== undefined).length}/${xs.length}`;
  const upnpc = summarize(mu.flatMap((t) => (t.requestMs === undefined ? [] : [t.requestMs])));
  const after = mu.filter((t) => t.afterReturnDelivered).length;
  return (
    `opened in ${opened(pt)} porttrigger and ${opened(mu)} miniupnpd trials; porttrigger's figure is the send time of its first probe (the entry was open before it)` +
    (upnpc
      ? `; upnpc ran ${upnpc.median.toFixed(1)} ms (median) and a packet sent as soon as it returned was delivered in ${after}/${mu.length} trials`
      : '')
  );
}

async function miniupnpdTrials(ep: Endpoints, trials: number): Promise<OpenTrial[]> {
  const out: OpenTrial[] = [];
  const lan1 = A.hosts.lan1.ipv4;
  const port = String(PORTS.open);
  for (let i = 0; i < trials; i++) {
    let run: { startNs: bigint; endNs: bigint; code: number | null } | undefined;
    const { firstNs, requestDone } = await probeUntilOpen(ep, `mu-${i}`, 150, async () => {
      run = await ep.lan.run('upnpc', ['-u', IGD_URL, '-e', 'bench', '-a', lan1, port, port, 'UDP']);
    });
    await requestDone;
    // As soon as upnpc has returned: would the peer's packet get through?
    const after = await ep.inboundSocket();
    after.send(`mu-after-${i}`);
    const afterReturnDelivered = (await ep.arrival(`mu-after-${i}`, DELIVERY_WAIT_MS)) !== undefined;
    after.close();
    const r = run as { startNs: bigint; endNs: bigint; code: number | null } | undefined;
    out.push({
      ...(firstNs !== undefined && r ? { openMs: Number(firstNs - r.startNs) / 1e6 } : {}),
      ...(r ? { requestMs: Number(r.endNs - r.startNs) / 1e6 } : {}),
      afterReturnDelivered,
    });
    await ep.lan.run('upnpc', ['-u', IGD_URL, '-d', port, 'UDP']);
  }
  return out;
}
