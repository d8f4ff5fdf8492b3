import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { runProgram } from '../src/adapters/exec.js';
import { KernelDatapath } from '../src/adapters/kernel-datapath.js';
import { createNftRunner } from '../src/adapters/nft.js';
import { LAB_ADDRESSES } from '../src/lab/virtual-network.js';
import { planConfig, sharedSetName } from '../src/nft/plan.js';
import { NO_TABLE, renderApplyScript } from '../src/nft/render.js';
import type { BenchContext } from './lib/context.js';
import { backlogDrops, cpuDelta, readCpu, USER_HZ } from './lib/cpu.js';
import {
  type BenchNetwork,
  buildPktgen,
  createBenchNetwork,
  type Flow,
  GENERATOR_CPU,
  PORTS,
  ROUTER_CPU,
  runPktgen,
} from './lib/lab.js';
import { type Miniupnpd, seedMappingRules, startMiniupnpd, upnpcAdd, upnpcAddMany } from './lib/miniupnpd.js';
import type { Hotspot } from './lib/profile.js';
import { newPart, type PartResult, type Row } from './lib/results.js';
import {
  baselineNatScript,
  benchConfig,
  hostMasqueradeScript,
  MEASURED_RULE,
  SEED_HOLDER,
  seedContactedScript,
  seedHolderScript,
  statefulFirewallScript,
} from './lib/rulesets.js';
import { ratioOf, type Summary, summarize, timeMs } from './lib/stats.js';

const A = LAB_ADDRESSES;
const GOAL_RATIO = 0.95;

type Direction = 'w2l' | 'l2w';
type Metric = 'udpW2L' | 'udpL2W' | 'tcpW2L' | 'tcpL2W';
const METRICS: readonly Metric[] = ['udpW2L', 'udpL2W', 'tcpW2L', 'tcpL2W'];

/** One configuration under test and its network. */
interface Subject {
  readonly id: string;
  readonly label: string;
  readonly kind: 'baseline' | 'porttrigger' | 'miniupnpd';
  /** The baseline this one is compared with (default: masquerade + static DNAT). */
  readonly baselineId?: string;
  readonly bn: BenchNetwork;
  readonly notes: string[];
  readonly setup: Record<string, number | string>;
}

/** The figures of one UDP run. */
interface UdpSample {
  readonly pps: number;
  readonly offeredPps: number;
  /** Forwarded packets per second of router-CPU softirq time: the router's capacity on one core. */
  readonly capacityPps: number;
  readonly routerBusy: number;
  readonly routerSoftirq: number;
  readonly backlogDrops: number;
  readonly forwarded: number;
}

type Samples = Record<Metric, number[]> & { udpCapW2L: number[]; udpCapL2W: number[] };

function emptySamples(): Samples {
  return { udpW2L: [], udpL2W: [], tcpW2L: [], tcpL2W: [], udpCapW2L: [], udpCapL2W: [] };
}

function flowOf(bn: BenchNetwork, dir: Direction): { flow: Flow; reply: Flow; sink: 'lan1' | 'wan1' } {
  const m = bn.macs;
  if (dir === 'w2l') {
    return {
      flow: {
        from: 'wan1',
        srcMac: m.wan1,
        dstMac: m.wan0,
        src: A.hosts.wan1.ipv4,
        dst: A.router.wan.ipv4,
        sport: PORTS.wanFlowSource,
        dport: PORTS.open,
      },
      reply: {
        from: 'lan1',
        srcMac: m.lan1,
        dstMac: m.brLan,
        src: A.hosts.lan1.ipv4,
        dst: A.hosts.wan1.ipv4,
        sport: PORTS.open,
        dport: PORTS.wanFlowSource,
      },
      sink: 'lan1',
    };
  }
  return {
    flow: {
      from: 'lan1',
      srcMac: m.lan1,
      dstMac: m.brLan,
      src: A.hosts.lan1.ipv4,
      dst: A.hosts.wan1.ipv4,
      sport: PORTS.lanFlowSource,
      dport: PORTS.trigger,
    },
    reply: {
      from: 'wan1',
      srcMac: m.wan1,
      dstMac: m.wan0,
      src: A.hosts.wan1.ipv4,
      dst: A.router.wan.ipv4,
      sport: PORTS.trigger,
      dport: PORTS.lanFlowSource,
    },
    sink: 'wan1',
  };
}

/**
 * One UDP measurement: one packet each way first (the flow is then an established connection, as a game's
 * would be), then the generator at full speed on the generator CPU; the sink on the far host counts what the
 * router forwarded, /proc/stat what it cost the router CPU.
 */
async function measureUdp(
  bin: string,
  bn: BenchNetwork,
  dir: Direction,
  seconds: number,
): Promise<UdpSample> {
  const { flow, reply, sink } = flowOf(bn, dir);
  await runPktgen(bin, bn.net, flow, 1, 1);
  await runPktgen(bin, bn.net, reply, 1, 1);
  await delay(20);
  const before = await bn.sinkPackets(sink, 'flow');
  const cpuA = readCpu(ROUTER_CPU);
  const dropsA = backlogDrops();
  const run = await runPktgen(bin, bn.net, flow, seconds * 20e6, seconds);
  const cpuB = readCpu(ROUTER_CPU);
  const dropsB = backlogDrops();
  await delay(20);
  const forwarded = (await bn.sinkPackets(sink, 'flow')) - before;
  const cpu = cpuDelta(cpuA, cpuB);
  const softirqS = cpu.softirq / USER_HZ;
  return {
    pps: forwarded / run.seconds,
    offeredPps: run.sent / run.seconds,
    capacityPps: softirqS > 0 ? forwarded / softirqS : Number.NaN,
    routerBusy: cpu.total > 0 ? (cpu.total - cpu.idle) / cpu.total : Number.NaN,
    routerSoftirq: cpu.total > 0 ? cpu.softirq / cpu.total : Number.NaN,
    backlogDrops: (dropsB[ROUTER_CPU] ?? 0) - (dropsA[ROUTER_CPU] ?? 0),
    forwarded,
  };
}

interface IperfJson {
  readonly end?: { readonly sum_received?: { readonly bits_per_second?: number } };
  readonly error?: string;
}

/** One TCP measurement: iperf3 through the router, client and server pinned to the generator CPU. */
async function measureTcp(
  ctx: BenchContext,
  bn: BenchNetwork,
  dir: Direction,
  seconds: number,
): Promise<number> {
  const [serverHost, clientHost, dest, port] =
    dir === 'w2l'
      ? (['lan1', 'wan1', A.router.wan.ipv4, PORTS.open] as const)
      : (['wan1', 'lan1', A.hosts.wan1.ipv4, PORTS.trigger] as const);
  const server = spawn(
    'ip',
    [
      'netns',
      'exec',
      bn.net.namespaces[serverHost],
      'taskset',
      '-c',
      String(GENERATOR_CPU),
      'iperf3',
      '-s',
      '-1',
      '-p',
      String(port),
    ],
    { stdio: 'ignore' },
  );
  const stopServer = ctx.track(server, `iperf3 server in ${bn.name}`);
  try {
    const deadline = Date.now() + 5000;
    for (;;) {
      const { stdout } = await bn.net.exec(serverHost, 'ss', ['-Hltn', `sport = :${port}`]);
      if (stdout.trim()) break;
      if (Date.now() > deadline) throw new Error('iperf3 server did not start');
      await delay(20);
    }
    const { stdout } = await bn.net.exec(
      clientHost,
      'taskset',
      ['-c', String(GENERATOR_CPU), 'iperf3', '-c', dest, '-p', String(port), '-t', String(seconds), '-J'],
      { timeoutMs: (seconds + 15) * 1000 },
    );
    const result = JSON.parse(stdout) as IperfJson;
    const bps = result.end?.sum_received?.bits_per_second;
    if (bps === undefined) throw new Error(`iperf3: ${result.error ?? 'no result'}`);
    return bps / 1e6;
  } finally {
    await stopServer();
  }
}

async function loadScript(bn: BenchNetwork, script: string): Promise<number> {
  const { ms } = await timeMs(() =>
    bn.net.exec('router', 'nft', ['-f', '-'], { input: script, timeoutMs: 900_000 }),
  );
  return ms;
}

async function setupBaseline(ctx: BenchContext): Promise<Subject> {
  const bn = await createBenchNetwork(ctx, 'baseline', { rps: true, sinks: true });
  await loadScript(bn, baselineNatScript());
  return {
    id: 'baseline',
    label: 'baseline: masquerade + 1 static DNAT',
    kind: 'baseline',
    bn,
    notes: [],
    setup: {},
  };
}

async function setupFirewallBaseline(ctx: BenchContext): Promise<Subject> {
  const bn = await createBenchNetwork(ctx, 'firewall', { rps: true, sinks: true });
  await loadScript(bn, statefulFirewallScript());
  return {
    id: 'firewall',
    label: 'baseline + a standard stateful forward policy',
    kind: 'baseline',
    bn,
    notes: [],
    setup: {},
  };
}

/** Checks that the measured rule (number `id`) has an entry held by `holder` in a shared set. */
async function measuredEntryExists(
  bn: BenchNetwork,
  setName: string,
  id: number,
  holder: string,
): Promise<boolean> {
  const { stdout } = await bn.net.exec('router', 'nft', [
    '-j',
    'list',
    'set',
    'inet',
    'porttrigger',
    setName,
  ]);
  const doc = JSON.parse(stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
  const elements = doc.nftables.find((o) => o.set)?.set?.elem ?? [];
  return elements.some((e) => {
    const val = (e as { elem?: { val?: { concat?: unknown[] } } }).elem?.val?.concat;
    return Array.isArray(val) && Number(val[0]) === id && val[val.length - 1] === holder;
  });
}

async function setupPorttrigger(
  ctx: BenchContext,
  bin: string,
  rules: number,
  contactedEntries: number,
  mode: 'companion' | 'standalone' = 'companion',
): Promise<Subject & { plan: ReturnType<typeof planConfig> }> {
  const contacted = contactedEntries > 0;
  const standalone = mode === 'standalone';
  const id = `${contacted ? `pt-contacted-${contactedEntries}` : `pt-${rules}`}${standalone ? '-sa' : ''}`;
  const bn = await createBenchNetwork(ctx, id, { rps: true, sinks: true });
  const config = benchConfig(rules, {
    family: 'both',
    mode,
    ...(contacted ? { remote: 'contacted' as const } : {}),
  });
  // Companion mode: the host's own table masquerades, as fw4 or firewalld would.
  if (!standalone) await loadScript(bn, hostMasqueradeScript());
  const plan = planConfig(config);
  ctx.log(`  B1: applying porttrigger with ${rules} rule(s) to ${bn.name}`);
  // As the service installs it: KernelDatapath.apply (B3 measures how long that takes).
  const datapath = new KernelDatapath({ nft: createNftRunner({ netns: bn.net.namespaces.router }) });
  const loadMs = (await timeMs(() => datapath.apply(config))).ms;
  let seedMs = 0;
  if (contacted && contactedEntries > 1) {
    seedMs = (
      await timeMs(() => loadScript(bn, seedContactedScript(plan, 0, contactedEntries - 1, SEED_HOLDER)))
    ).ms;
  }
  // The real trigger: one packet of the LAN→WAN flow (lan1 to wan1, port 6000) opens the measured entry.
  await runPktgen(bin, bn.net, flowOf(bn, 'l2w').flow, 1, 1);
  const measured = plan.rules.find((r) => r.rule.name === MEASURED_RULE && r.family === 'ipv4')!;
  const gate = sharedSetName(contacted ? 'pair' : 'hold', 'ipv4')!;
  if (!(await measuredEntryExists(bn, gate, measured.id, A.hosts.lan1.ipv4))) {
    throw new Error(`the trigger from lan1 did not open an entry in ${gate}`);
  }
  return {
    id,
    label: `${
      contacted
        ? `porttrigger: 1 rule (remote: contacted), ${contactedEntries.toLocaleString('en')} entries`
        : `porttrigger: ${rules.toLocaleString('en')} rule${rules > 1 ? 's' : ''}, 1 entry`
    }${standalone ? ', standalone' : ''}`,
    kind: 'porttrigger',
    ...(standalone ? { baselineId: 'firewall' } : {}),
    bn,
    plan,
    notes: [],
    setup: { loadMs: Math.round(loadMs), seedMs: Math.round(seedMs) },
  };
}

async function setupMiniupnpd(
  ctx: BenchContext,
  mappings: number,
  upnpcBudgetS: number,
): Promise<Subject & { daemon: Miniupnpd }> {
  const id = `mu-${mappings}`;
  const bn = await createBenchNetwork(ctx, id, { rps: true, sinks: true });
  const daemon = await startMiniupnpd(ctx, bn);
  await upnpcAdd(bn, PORTS.open, 'UDP');
  await upnpcAdd(bn, PORTS.open, 'TCP');
  const rest = Math.max(0, mappings - 2);
  const ports = Array.from({ length: rest }, (_, i) => 20_000 + i);
  let viaUpnpc = 2;
  let seeded = 0;
  const notes: string[] = [];
  if (rest > 0) {
    const { ms, value: added } = await timeMs(() => upnpcAddMany(bn, daemon, ports, upnpcBudgetS));
    viaUpnpc += added;
    const mapped = await daemon.mappedPorts();
    const remaining = ports.filter((p) => !mapped.has(p));
    if (remaining.length > 0) {
      await seedMappingRules(bn, remaining);
      seeded = remaining.length;
      notes.push(
        `${viaUpnpc.toLocaleString('en')} mappings added through upnpc in ${(ms / 1000).toFixed(1)} s (the time budget); ` +
          `the other ${seeded.toLocaleString('en')} installed with nft in miniupnpd's own rule form`,
      );
    }
  }
  const total = await daemon.mappings();
  return {
    id,
    label: `miniupnpd: ${total.toLocaleString('en')} mapping${total > 1 ? 's' : ''}`,
    kind: 'miniupnpd',
    bn,
    daemon,
    notes,
    setup: { mappings: total, viaUpnpc, seeded },
  };
}

interface PhaseResult {
  readonly samples: Map<string, Samples>;
  readonly udpDetail: Map<string, UdpSample[]>;
  readonly rounds: number;
  readonly errors: string[];
}

/** Measures every subject once per round, rounds interleaved, so that drift hits all of them alike. */
async function runRounds(
  ctx: BenchContext,
  bin: string,
  subjects: readonly Subject[],
  deadline: number,
): Promise<PhaseResult> {
  const { reps, b1 } = ctx.plan;
  const samples = new Map(subjects.map((s) => [s.id, emptySamples()]));
  const udpDetail = new Map(subjects.map((s) => [s.id, [] as UdpSample[]]));
  const errors: string[] = [];
  let rounds = 0;
  for (let round = 0; round < reps; round++) {
    if (round > 0 && Date.now() > deadline) break;
    rounds++;
    for (let k = 0; k < subjects.length; k++) {
      const s = subjects[(k + round) % subjects.length]!;
      const into = samples.get(s.id)!;
      for (const metric of METRICS) {
        try {
          if (metric === 'udpW2L' || metric === 'udpL2W') {
            const dir: Direction = metric === 'udpW2L' ? 'w2l' : 'l2w';
            const u = await measureUdp(bin, s.bn, dir, b1.udpSeconds);
            into[metric].push(u.pps);
            (dir === 'w2l' ? into.udpCapW2L : into.udpCapL2W).push(u.capacityPps);
            udpDetail.get(s.id)!.push(u);
          } else {
            into[metric].push(
              await measureTcp(ctx, s.bn, metric === 'tcpW2L' ? 'w2l' : 'l2w', b1.tcpSeconds),
            );
          }
        } catch (error) {
          errors.push(`${s.id} ${metric} round ${round + 1}: ${(error as Error).message.split('\n')[0]}`);
          // A gap keeps the rounds aligned for the per-round ratios; summaries skip it.
          into[metric].push(Number.NaN);
          if (metric === 'udpW2L') into.udpCapW2L.push(Number.NaN);
          if (metric === 'udpL2W') into.udpCapL2W.push(Number.NaN);
        }
      }
    }
    ctx.log(`  B1: round ${round + 1}/${reps} done`);
  }
  return { samples, udpDetail, rounds, errors };
}

const METRIC_INFO: Record<keyof Samples, { group: string; unit: string }> = {
  udpCapW2L: {
    group: 'B1 WAN→LAN, 64-byte UDP: router capacity (packets per router-CPU-second)',
    unit: 'pkt/s',
  },
  udpW2L: { group: 'B1 WAN→LAN, 64-byte UDP: forwarded packets per second', unit: 'pkt/s' },
  udpCapL2W: { group: 'B1 LAN→WAN (to the trigger port), 64-byte UDP: router capacity', unit: 'pkt/s' },
  udpL2W: {
    group: 'B1 LAN→WAN (to the trigger port), 64-byte UDP: forwarded packets per second',
    unit: 'pkt/s',
  },
  tcpW2L: { group: 'B1 WAN→LAN, TCP throughput (iperf3, 1 stream)', unit: 'Mbit/s' },
  tcpL2W: { group: 'B1 LAN→WAN (to the trigger port), TCP throughput (iperf3, 1 stream)', unit: 'Mbit/s' },
};

function pairedRange(values: readonly number[], baseline: readonly number[]): [number, number] | undefined {
  const r = values.map((v, i) => v / (baseline[i] ?? Number.NaN)).filter((x) => Number.isFinite(x) && x > 0);
  return r.length > 0 ? [Math.min(...r), Math.max(...r)] : undefined;
}

function rowsOf(subjects: readonly Subject[], phase: PhaseResult, baselineId: string): Row[] {
  const rows: Row[] = [];
  for (const key of Object.keys(METRIC_INFO) as (keyof Samples)[]) {
    for (const s of subjects) {
      if (s.kind === 'baseline') continue;
      const base = phase.samples.get(s.baselineId ?? baselineId);
      if (!base) continue;
      const values = phase.samples.get(s.id)![key];
      const value = summarize(values);
      const baseline = summarize(base[key]);
      const ratio = ratioOf(value, baseline);
      const range = pairedRange(values, base[key]);
      const note = s.notes.join('; ');
      // The forwarded rate also depends on the generator; the goal is judged on capacity and TCP.
      const judged = key !== 'udpW2L' && key !== 'udpL2W';
      const goal =
        s.kind === 'porttrigger' && judged
          ? { text: `≥ ${GOAL_RATIO} × baseline`, met: ratio === undefined ? undefined : ratio >= GOAL_RATIO }
          : undefined;
      rows.push({
        id: `${s.id}:${key}`,
        group: METRIC_INFO[key].group,
        label: s.label,
        unit: METRIC_INFO[key].unit,
        better: 'higher',
        baselineLabel: s.baselineId
          ? 'masquerade + 1 static DNAT + a standard stateful forward policy, same run'
          : 'masquerade + 1 static DNAT, same run',
        baseline,
        value,
        ratio,
        ...(range ? { ratioRange: range } : {}),
        ...(goal ? { goal } : {}),
        ...(note ? { note } : {}),
      });
    }
  }
  return rows;
}

function udpSummary(detail: readonly UdpSample[]): Record<string, Summary | undefined> {
  return {
    offeredPps: summarize(detail.map((d) => d.offeredPps)),
    routerBusy: summarize(detail.map((d) => d.routerBusy)),
    routerSoftirqShare: summarize(detail.map((d) => d.routerSoftirq)),
    backlogDrops: summarize(detail.map((d) => d.backlogDrops)),
  };
}

/** B1: forwarding cost through porttrigger and miniupnpd against a minimal NAT ruleset, same run. */
export async function runB1(ctx: BenchContext, missing: ReadonlyMap<string, string>): Promise<PartResult> {
  const part = newPart('b1', 'B1 forwarding cost');
  const { b1 } = ctx.plan;
  part.method.push(
    "Topology: the project's virtual network (src/lab/virtual-network.ts): router namespace between lan1/lan2 and wan1/wan2 over veth and bridges; one network per configuration, all built before the first round.",
    `UDP: a small C generator (bench/gen/pktgen.c: AF_PACKET, sendmmsg, qdisc bypass) sends 64-byte frames (60 + FCS, 18-byte UDP payload) of ONE flow for ${b1.udpSeconds} s, pinned to CPU ${GENERATOR_CPU}. RPS on the router's veth ports moves all router packet work (bridge, conntrack, nftables, NAT) to CPU ${ROUTER_CPU}. A netdev-ingress counter on the far host counts what the router forwarded (and drops it there, so no socket limits the count).`,
    "Before each UDP run one packet goes each way, so the flow is an established connection (as a game's would be). WAN→LAN goes to 203.0.113.1:7000 (the opened port / static DNAT); LAN→WAN goes from lan1 to wan1 port 6000, the measured rule's trigger port: its first packet was the trigger, the later ones are traffic of the entry that the connection tracker carries (they refresh it through the control plane, never through a chain of ours).",
    '"Forwarded packets per second" is the far-end count ÷ generator time: it is the router\'s capacity only while the generator offers more than the router forwards (backlog drops > 0, JSON: backlogDrops). "Router capacity" is forwarded packets ÷ softirq seconds on the router CPU (/proc/stat): the per-packet cost of the router, independent of the generator and of other processes on the machine.',
    `TCP: iperf3 3.x, one stream for ${b1.tcpSeconds} s, client and server pinned to CPU ${GENERATOR_CPU}, receiver throughput.`,
    'porttrigger: companion mode next to a host table that masquerades (as fw4 or firewalld would), dual-stack rules, installed with KernelDatapath.apply as the service does; compared with masquerade + static DNAT. One configuration in standalone mode (porttrigger masquerades and drops unadmitted WAN→LAN itself) is compared with the same baseline plus a standard stateful forward policy (established,related first), which any standalone firewall costs. The measured rule (trigger 6000, open 7000, both protocols) is rule 0; fillers trigger on 10000+i and open 30000+i.',
    'Entries: the measured entry is opened by a real trigger packet from lan1. "10,000 entries" = every filler rule holds an IPv4 entry of lan2, seeded with `nft add element` into the shared sets (held4, hold4 and the target4_* part of each rule) exactly as a trigger would leave them; the contacted variant seeds 9,999 (remote, holder) entries of the measured `remote: contacted` rule (taken4, pair4, its rtarget4_* part; remotes from 198.18.0.0/15, no traffic to them).',
    "miniupnpd: Debian miniupnpd-nftables in the router namespace with the ruleset of its nft_init.sh (+ masquerade); mappings of lan1 port 7000 UDP and TCP added by `upnpc -a` run in lan1. For the large size, upnpc adds mappings (`upnpc -r`, 10 per call) until a time budget, because each mapping costs miniupnpd more the more it holds; the rest are installed with nft in miniupnpd's rule form (one DNAT rule + one accept rule per mapping, as miniupnpd lists them; the DNAT rule has one more `meta l4proto udp` that nft's parser requires). The measured flow is established, so it never walks these rules: only the first packet of a connection does.",
    `Rounds: each round measures every configuration once (order rotated per round); ${ctx.plan.reps} rounds; medians with min and max; ratio = configuration median ÷ baseline median from the same phase; the range after the ratio is the smallest and largest per-round ratio.`,
  );
  if (missing.has('cc')) {
    part.status = 'skipped';
    part.reason = `no C compiler for the traffic generator: ${missing.get('cc')}`;
    return part;
  }
  const bin = await buildPktgen();
  const subjects: Subject[] = [];
  try {
    await measureAll(ctx, part, bin, subjects, missing);
  } finally {
    for (const s of subjects) if ('daemon' in s) await (s as Subject & { daemon: Miniupnpd }).daemon.stop();
    for (const s of subjects) await s.bn.destroy();
  }
  return part;
}

async function measureAll(
  ctx: BenchContext,
  part: PartResult,
  bin: string,
  subjects: Subject[],
  missing: ReadonlyMap<string, string>,
): Promise<void> {
  const { b1 } = ctx.plan;
  const started = Date.now();
  const deadline = started + b1.budgetS * 1000;
  const setupErrors: string[] = [];
  const attempt = async <T extends Subject>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      const s = await fn();
      subjects.push(s);
      return s;
    } catch (error) {
      setupErrors.push(`${what}: ${(error as Error).message.split('\n')[0]}`);
      ctx.log(`  B1: ${what} failed: ${(error as Error).message.split('\n')[0]}`);
      return undefined;
    }
  };
  const baseline = await setupBaseline(ctx);
  subjects.push(baseline);
  await attempt('firewall baseline', () => setupFirewallBaseline(ctx));
  let largest: (Subject & { plan: ReturnType<typeof planConfig> }) | undefined;
  for (const n of b1.ruleSizes) {
    const s = await attempt(`porttrigger ${n} rules`, () => setupPorttrigger(ctx, bin, n, 0));
    if (s && n === Math.max(...b1.ruleSizes)) largest = s;
  }
  await attempt('porttrigger standalone', () => setupPorttrigger(ctx, bin, 1, 0, 'standalone'));
  await attempt('porttrigger contacted', () => setupPorttrigger(ctx, bin, 1, b1.manyEntries));
  if (missing.has('miniupnpd') || missing.has('upnpc')) {
    const why = missing.get('miniupnpd') ?? missing.get('upnpc');
    part.findings.push(`miniupnpd rows skipped: ${why}.`);
  } else {
    await attempt('miniupnpd 2 mappings', () => setupMiniupnpd(ctx, 2, b1.upnpcBudgetS));
    await attempt(`miniupnpd ${b1.manyEntries} mappings`, () =>
      setupMiniupnpd(ctx, b1.manyEntries, b1.upnpcBudgetS),
    );
  }
  part.raw['setup'] = Object.fromEntries(subjects.map((s) => [s.id, s.setup]));
  const phase1 = await runRounds(ctx, bin, subjects, deadline);
  part.rows.push(...rowsOf(subjects, phase1, baseline.id));

  // Phase 2: the largest rule set again, now with an entry in every rule.
  let phase2: PhaseResult | undefined;
  if (largest) {
    try {
      const seeded = await timeMs(() => loadScript(largest.bn, seedHolderScript(largest.plan)));
      const n = largest.plan.config.rules.length;
      const manyEntries: Subject = {
        ...largest,
        id: `${largest.id}-entries`,
        label: `porttrigger: ${n.toLocaleString('en')} rules, ${n.toLocaleString('en')} entries`,
        setup: { seedMs: Math.round(seeded.ms) },
      };
      phase2 = await runRounds(ctx, bin, [baseline, manyEntries], Math.max(deadline, Date.now() + 1));
      part.rows.push(...rowsOf([baseline, manyEntries], phase2, baseline.id));
      (part.raw['setup'] as Record<string, unknown>)[manyEntries.id] = manyEntries.setup;
    } catch (error) {
      setupErrors.push(
        `seeding ${largest.plan.rules.length} entries: ${(error as Error).message.split('\n')[0]}`,
      );
    }
  }
  part.rows.sort(
    (a, b) =>
      Object.keys(METRIC_INFO).indexOf(a.id.split(':')[1]!) -
      Object.keys(METRIC_INFO).indexOf(b.id.split(':')[1]!),
  );
  part.raw['phase1'] = {
    rounds: phase1.rounds,
    samples: Object.fromEntries(phase1.samples),
    udp: Object.fromEntries([...phase1.udpDetail].map(([k, v]) => [k, udpSummary(v)])),
  };
  if (phase2) {
    part.raw['phase2'] = {
      rounds: phase2.rounds,
      samples: Object.fromEntries(phase2.samples),
      udp: Object.fromEntries([...phase2.udpDetail].map(([k, v]) => [k, udpSummary(v)])),
    };
  }
  const errors = [...setupErrors, ...phase1.errors, ...(phase2?.errors ?? [])];
  part.raw['errors'] = errors;
  const rounds = Math.min(phase1.rounds, phase2?.rounds ?? phase1.rounds);
  if (errors.length > 0 || rounds < ctx.plan.reps) {
    part.status = 'partial';
    part.reason = [
      rounds < ctx.plan.reps ? `${rounds} of ${ctx.plan.reps} rounds within the time budget` : '',
      errors.length > 0 ? `${errors.length} error(s), first: ${errors[0]}` : '',
    ]
      .filter(Boolean)
      .join('; ');
  }
  const allDetail = [...phase1.udpDetail.values(), ...(phase2 ? [...phase2.udpDetail.values()] : [])].flat();
  const saturated = allDetail.filter((d) => d.backlogDrops > 0).length;
  part.findings.push(
    `Router CPU saturation: ${saturated} of ${allDetail.length} UDP runs had backlog drops on CPU ${ROUTER_CPU}, i.e. the generator offered more than the router forwarded` +
      (saturated < allDetail.length
        ? '; in the other runs the forwarded rate is bounded by the generator and only the capacity figure compares routers.'
        : '.'),
  );
  for (const s of subjects) for (const n of s.notes) part.findings.push(`${s.label}: ${n}.`);
  const missed = part.rows.some((r) => r.goal?.met === false);
  if (missed) await investigate(ctx, part, bin, subjects, largest, missing);
  part.durationS = Math.round((Date.now() - started) / 1000);
}

/** Where the router CPU goes while forwarding: perf on the router CPU during a WAN→LAN UDP run. */
async function profileForwarding(ctx: BenchContext, bin: string, bn: BenchNetwork): Promise<Hotspot[]> {
  const { flow, reply } = flowOf(bn, 'w2l');
  await runPktgen(bin, bn.net, flow, 1, 1);
  await runPktgen(bin, bn.net, reply, 1, 1);
  const generator = runPktgen(bin, bn.net, flow, 40e6, 4);
  await delay(500);
  const data = join(ctx.scratch, `perf-${bn.name}.data`);
  await runProgram('perf', ['record', '-q', '-C', String(ROUTER_CPU), '-o', data, '--', 'sleep', '2'], {
    timeoutMs: 60_000,
  });
  await generator;
  const { stdout } = await runProgram(
    'perf',
    ['report', '-q', '-i', data, '--stdio', '--no-children', '--sort', 'sym'],
    { timeoutMs: 60_000 },
  );
  return stdout
    .split('\n')
    .map((l) => /^\s*([\d.]+)%\s+\[[.k]\]\s+(.+?)\s*$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .slice(0, 8)
    .map((m) => ({ where: m[2]!, share: Number(m[1]) / 100 }));
}

/** Evidence for a missed goal: the shape of the dispatch maps and perf profiles of the router CPU. */
async function investigate(
  ctx: BenchContext,
  part: PartResult,
  bin: string,
  subjects: readonly Subject[],
  largest: (Subject & { plan: ReturnType<typeof planConfig> }) | undefined,
  missing: ReadonlyMap<string, string>,
): Promise<void> {
  if (largest) {
    const script = renderApplyScript(largest.plan, NO_TABLE);
    const maps = [
      ...script.matchAll(/\tmap (\w+) \{\n\t\ttype ([^\n]+)\n\t\telements = \{\n([\s\S]*?)\n\t\t\}/g),
    ].map((m) => `${m[1]} (${m[2]!.trim()} ${(m[3]!.match(/ : /g) ?? []).length} elements)`);
    const interval = maps.some((m) => m.includes('flags interval'));
    part.findings.push(
      `Ruleset shape at ${largest.plan.config.rules.length.toLocaleString('en')} dual-stack rules: the dispatch verdict maps (one per protocol, keyed by \`th dport\`) are looked up in NAT chains only, i.e. for the first packet of a connection; established packets pass no chain of porttrigger (companion mode) or only the standard stateful forward policy (standalone): ${maps.join(', ')}.` +
        (interval
          ? ' The kernel stores interval concatenations in its pipapo set type, whose lookup walks bitmaps as long as the number of elements.'
          : ' Without `flags interval` these are hash lookups, whose cost does not grow with the number of elements.'),
    );
  }
  if (missing.has('perf')) {
    part.findings.push(`No perf profile of forwarding: ${missing.get('perf')}.`);
    return;
  }
  const fmt = (h: readonly Hotspot[]) =>
    h.map((x) => `${(x.share * 100).toFixed(1)} % ${x.where}`).join('; ');
  const pick = [
    subjects.find((s) => s.kind === 'baseline'),
    subjects.find((s) => s.id === 'pt-1'),
    largest,
  ].filter((s): s is Subject => s !== undefined);
  for (const s of pick) {
    try {
      const hot = await profileForwarding(ctx, bin, s.bn);
      part.findings.push(`perf on the router CPU, WAN→LAN 64-byte UDP, ${s.label}: ${fmt(hot)}.`);
      part.raw[`profile:${s.id}`] = hot;
    } catch (error) {
      part.findings.push(`perf profile of ${s.label} failed: ${(error as Error).message.split('\n')[0]}.`);
    }
  }
}
