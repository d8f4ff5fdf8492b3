import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { runProgram } from '../src/adapters/exec.js';
import { SERVICE_NODE_OPTIONS } from '../src/main/node-options.js';
import { planConfig } from '../src/nft/plan.js';
import type { BenchContext } from './lib/context.js';
import { USER_HZ } from './lib/cpu.js';
import { goalOn } from './lib/goals.js';
import { freshNamespace } from './lib/namespaces.js';
import type { GoalCheck, PartResult } from './lib/results.js';
import { benchConfig, rawConfig, SEED_HOLDER, seedContactedScript } from './lib/rulesets.js';
import { SERVICE_MAIN, startBenchService, treeTicks } from './lib/service.js';
import { ratioOf, type Summary, summarize, timeMs } from './lib/stats.js';

const WINDOWS = 5;
// "At rest" begins once start-up is over, and start-up leaves garbage for V8's memory reducer to compact: about
// 40 MB of heap at 1,000 rules, and a quarter of a second of CPU to collect it (three full collections). The
// reducer waits until the allocation rate looks low. Without the service's V8 options (src/main/node-options.ts)
// that never happened at rest, and only its watchdog ran it, 100 s after the last full collection; with them it
// ran 14 s after start-up ended in a run beside the bench (--trace-gc at 1,000 rules: 129 MB down to 80 MB), but
// in a bench run at load average 15 it came 65-70 s after the table was in place, inside a window settled 40 s:
// one window at 4.5 % of a core, and the memory median of the collected start-up garbage. 90 s of settling puts
// that collection, a cost of start-up, before the window, so the window measures the service at rest.
const SETTLE_MS = 90_000;
const WATCH_S = 5;

/** The three configurations at rest and their goals (CPU in % of one core, memory in MB). */
const AT_REST = [
  { id: 'home', label: '3 rules (a home config)', rules: 3, entries: 0, cpuGoal: 0.05, memoryGoal: 50 },
  { id: 'rules', label: '1,000 rules', rules: 1000, entries: 0, cpuGoal: 0.2, memoryGoal: undefined },
  {
    id: 'entries',
    label: '1,000 rules, 10,000 entries',
    rules: 1000,
    entries: 10_000,
    cpuGoal: 1,
    memoryGoal: 100,
  },
] as const;

/**
 * The verdict on a resident-memory goal of the service at rest, from its VmRSS samples in MB: the resting level
 * (the median, which the tables show), not the highest sample, which a collection or a signal's read can lift
 * for a second.
 */
export function memoryGoal(rss: Summary | undefined, goalMb: number): GoalCheck {
  return goalOn(`≤ ${goalMb} MB`, rss, 'median', { atMost: goalMb });
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}

/**
 * The command lines of the processes `pid` starts during `seconds` (children seen by scanning /proc every 10 ms;
 * `ip netns exec` children are seen after they exec the program), with how often each was started.
 */
async function childCommands(pid: number, seconds: number): Promise<Map<string, number>> {
  const seen = new Map<number, string>();
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name) || seen.has(Number(name))) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
        const command = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
        // Not yet exec'd (a forked child still shows its parent's command line, or none): look again.
        if (command.length === 0 || command[0] === process.execPath) continue;
        if (command[0] === 'ip' && command[1] === 'netns') continue;
        seen.set(Number(name), command.join(' '));
      } catch {
        // gone already
      }
    }
    await delay(10);
  }
  const counts = new Map<string, number>();
  for (const c of seen.values()) counts.set(c, (counts.get(c) ?? 0) + 1);
  return counts;
}

interface Windows {
  readonly rss: number[];
  readonly idleRss: number[];
  /** The service and every process it runs (live and ended), % of one CPU per window. */
  readonly cpu: number[];
  readonly idleCpu: number[];
  /** The same over the whole sampling time: the windows' ticks are too coarse for goals of 0.05 %. */
  readonly cpuTotal: number;
  readonly idleCpuTotal: number;
  /** The most processes the service's tree held at a window's end (itself included). */
  readonly processes: number;
}

/** VmRSS every second and CPU per window, of the service's process tree and of the idle baseline, side by side. */
async function sampleWindows(pid: number, idlePid: number, seconds: number): Promise<Windows> {
  const out = { rss: [] as number[], idleRss: [] as number[], cpu: [] as number[], idleCpu: [] as number[] };
  let processes = 1;
  const windowS = seconds / WINDOWS;
  const t0 = process.hrtime.bigint();
  const first = treeTicks(pid).ticks;
  const firstIdle = treeTicks(idlePid).ticks;
  let a = first;
  let b = firstIdle;
  for (let w = 0; w < WINDOWS; w++) {
    const w0 = process.hrtime.bigint();
    for (let s = 0; s < windowS; s++) {
      await delay(1000);
      out.rss.push(rssMb(pid));
      out.idleRss.push(rssMb(idlePid));
    }
    const secs = Number(process.hrtime.bigint() - w0) / 1e9;
    const pct = (ticks: number) => (ticks / USER_HZ / secs) * 100;
    const tree = treeTicks(pid);
    const idle = treeTicks(idlePid).ticks;
    processes = Math.max(processes, tree.processes);
    out.cpu.push(pct(tree.ticks - a));
    out.idleCpu.push(pct(idle - b));
    a = tree.ticks;
    b = idle;
  }
  const total = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    ...out,
    cpuTotal: ((a - first) / USER_HZ / total) * 100,
    idleCpuTotal: ((b - firstIdle) / USER_HZ / total) * 100,
    processes,
  };
}

/** The CPU at rest with the share of the safety-net reconciliation, and how it was counted. */
interface SafetyNet {
  readonly cpu: number;
  readonly note: string;
}

/**
 * The safety net (a full read of the table every interval, longer for a table that is costly to read) may fall
 * outside a sampling window: then its share, the last full read's duration over the interval (wall time, as
 * the service's metrics give it: an estimate of its CPU), is added to the window's CPU.
 */
function safetyNetOf(before: Map<string, number>, after: Map<string, number>, cpuTotal: number): SafetyNet {
  const interval = after.get('porttrigger_reconcile_interval_seconds');
  const read = after.get('porttrigger_full_read_duration_seconds');
  const ran =
    (after.get('porttrigger_reconciles_total') ?? 0) - (before.get('porttrigger_reconciles_total') ?? 0);
  if (interval === undefined || read === undefined) return { cpu: cpuTotal, note: 'no safety-net metrics' };
  const net = `safety net: a full read of ${(read * 1000).toFixed(0)} ms every ${interval.toFixed(0)} s`;
  if (ran > 0) return { cpu: cpuTotal, note: `${net}, ${ran} in the window (counted in it)` };
  const share = (read / interval) * 100;
  return {
    cpu: cpuTotal + share,
    note: `${net}, none in the window: + ${share.toFixed(3)} % = ${(cpuTotal + share).toFixed(3)} %`,
  };
}

/** Start-up of the home config: from the spawn of the daemon to its first apply done. */
const START_UP_GOAL_MS = 1000;

/** Milliseconds until a spawned `node` that does nothing has exited: the runtime's own start-up and exit. */
async function emptyNodeMs(): Promise<number> {
  const t0 = process.hrtime.bigint();
  await runProgram(process.execPath, ['-e', ''], { timeoutMs: 30_000 });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/**
 * Start-up to first apply of the home config, `reps` times, each in a fresh namespace, beside the start of an
 * empty node process in the same rounds.
 */
async function measureStartUp(ctx: BenchContext, part: PartResult, group: string): Promise<void> {
  const startUp: number[] = [];
  const empty: number[] = [];
  const failures: string[] = [];
  for (let rep = 0; rep < ctx.plan.reps; rep++) {
    const ns = await freshNamespace(ctx);
    let service: Awaited<ReturnType<typeof startBenchService>> | undefined;
    try {
      empty.push(await emptyNodeMs());
      service = await startBenchService(
        ctx,
        ns.name,
        rawConfig(3, { family: 'both', remote: 'contacted' }),
        `start-${rep}`,
        {
          timeStartUp: true,
        },
      );
      const ms = service.appliedAfterMs();
      if (ms === undefined) failures.push(`round ${rep + 1}: no \`config applied\` line`);
      else startUp.push(ms);
    } catch (error) {
      failures.push(`round ${rep + 1}: ${(error as Error).message.split('\n')[0] ?? 'failed'}`);
    } finally {
      await service?.stop();
      await ns.remove();
    }
  }
  const value = summarize(startUp);
  const baseline = summarize(empty);
  part.rows.push({
    id: 'service-start-home',
    group,
    label: 'start-up to first apply, 3 rules (a home config)',
    unit: 'ms',
    better: 'lower',
    baselineLabel: 'an empty `node -e ""` started and ended, same rounds',
    baseline,
    value,
    ratio: ratioOf(value, baseline),
    goal: goalOn(`≤ ${START_UP_GOAL_MS / 1000} s`, value, 'median', { atMost: START_UP_GOAL_MS }),
    ...(failures.length > 0 ? { note: failures.join('; ') } : {}),
  });
}

/**
 * The service's resident memory and CPU at rest for a home config, 1,000 rules, and 1,000 rules with 10,000
 * entries, against an idle Node process sampled over the same windows.
 */
export async function measureService(ctx: BenchContext, part: PartResult): Promise<void> {
  const group = 'B3 service at rest';
  const seconds = ctx.plan.b3.serviceSeconds;
  part.method.push(
    `Service at rest: \`node ${SERVICE_NODE_OPTIONS.join(' ')} dist/main/daemon.js --config FILE --netns NS\` (the V8 options the systemd unit starts it with; API on a free loopback port, event database in a scratch directory) for each configuration: 3 rules, 1,000 dual-stack rules, and 1,000 rules with 10,000 entries seeded with nft into the \`remote: contacted\` rule's sets. Once its table is in place and ${SETTLE_MS / 1000} s have passed (so that V8's memory reducer has compacted start-up's garbage: it ran 14-70 s after start-up with the service's V8 options, and within 40 s of settling it fell into the window as a burst of 4.5 % of a core; without them its watchdog ran it 100 s after start-up), VmRSS (/proc/PID/status) is sampled every second, and the CPU of the service's whole process tree (utime+stime+cutime+cstime of the service and of every live descendant, such as the event listeners it keeps running) over ${WINDOWS} windows of ${seconds / WINDOWS} s. The goal is checked on the CPU over the whole ${seconds} s (one tick is ${((1 / USER_HZ / seconds) * 100).toFixed(3)} % at that length). Baseline: an idle \`node -e "setInterval(() => {}, 1000)"\` sampled the same way at the same time.`,
  );
  const failed = (id: string, note: string) =>
    part.rows.push({
      id: `service-${id}`,
      group,
      label: 'service not measured',
      unit: 'MB',
      better: 'lower',
      baselineLabel: 'idle node process',
      baseline: undefined,
      value: undefined,
      ratio: undefined,
      note,
    });
  if (!existsSync(SERVICE_MAIN)) {
    failed('missing', `${SERVICE_MAIN} does not exist (the service is not built)`);
    return;
  }
  part.method.push(
    `Start-up: \`node ${SERVICE_NODE_OPTIONS.join(' ')} dist/main/daemon.js\` with the home config (3 rules) in a fresh namespace, ${ctx.plan.reps} times; the time from the spawn to its \`config applied\` log line (the first apply is in the kernel). Baseline: \`node -e ""\` started and ended in the same rounds.`,
  );
  await measureStartUp(ctx, part, group);
  const raw: Record<string, unknown> = {};
  for (const setup of AT_REST) {
    if (setup.entries > 0) continue; // measured on the service of the same rules, below
    const ns = await freshNamespace(ctx);
    const options = { family: 'both', remote: 'contacted' } as const;
    let service: Awaited<ReturnType<typeof startBenchService>> | undefined;
    const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const stopIdle = ctx.track(idle, 'idle node');
    try {
      service = await startBenchService(ctx, ns.name, rawConfig(setup.rules, options), `rest-${setup.id}`);
      const phases: { setup: (typeof AT_REST)[number]; samples: Windows; net: SafetyNet }[] = [];
      const sample = async () => {
        const before = await service!.metrics();
        const samples = await sampleWindows(service!.pid, idle.pid!, seconds);
        return { samples, net: safetyNetOf(before, await service!.metrics(), samples.cpuTotal) };
      };
      await delay(SETTLE_MS);
      phases.push({ setup, ...(await sample()) });
      const withEntries = AT_REST.find((x) => x.rules === setup.rules && x.entries > 0);
      if (withEntries) {
        const plan = planConfig(benchConfig(setup.rules, options));
        await runProgram('nft', ['-f', '-'], {
          netns: ns.name,
          input: seedContactedScript(plan, 0, withEntries.entries, SEED_HOLDER),
          timeoutMs: 300_000,
        });
        await delay(SETTLE_MS);
        phases.push({ setup: withEntries, ...(await sample()) });
        // What the service runs at rest: the programs it starts over a few seconds, then each timed once by us.
        const started = await childCommands(service.pid, WATCH_S);
        const listings: Record<string, number> = {};
        for (const [command] of started) {
          const args = command.split(' ');
          if (args[0] !== 'nft' || args.includes('monitor')) continue;
          listings[command] = (await timeMs(() => runProgram('nft', args.slice(1), { netns: ns.name }))).ms;
        }
        part.findings.push(
          `At rest with ${withEntries.label} the service started, in ${WATCH_S} s: ${
            [...started].map(([c, n]) => `${n}× \`${c}\``).join(', ') || 'no program'
          }.${
            Object.keys(listings).length > 0
              ? ` Each of those, run once by the bench: ${Object.entries(listings)
                  .map(([c, ms]) => `\`${c}\` ${ms.toFixed(0)} ms`)
                  .join(', ')}.`
              : ''
          }`,
        );
        raw[`${withEntries.id}-started`] = Object.fromEntries(started);
      }
      for (const { setup: s, samples, net } of phases) {
        raw[s.id] = samples;
        const rss = summarize(samples.rss);
        const idleRss = summarize(samples.idleRss);
        const cpu = summarize(samples.cpu);
        const idleCpu = summarize(samples.idleCpu);
        part.rows.push(
          {
            id: `service-rss-${s.id}`,
            group,
            label: `resident memory (VmRSS), ${s.label}`,
            unit: 'MB',
            better: 'lower',
            baselineLabel: 'idle node process, same time',
            baseline: idleRss,
            value: rss,
            ratio: ratioOf(rss, idleRss),
            ...(s.memoryGoal !== undefined ? { goal: memoryGoal(rss, s.memoryGoal) } : {}),
          },
          {
            id: `service-cpu-${s.id}`,
            group,
            label: `CPU at rest incl. every process it runs, ${s.label}`,
            unit: '% of one CPU',
            better: 'lower',
            baselineLabel: 'idle node process, same windows',
            baseline: idleCpu,
            value: cpu,
            ratio: ratioOf(cpu, idleCpu),
            goal: {
              text: `≤ ${s.cpuGoal} % (over ${seconds} s, with the safety net's share)`,
              met: net.cpu <= s.cpuGoal,
              compared: { statistic: `over ${seconds} s with the safety net`, value: net.cpu },
            },
            note:
              `over the whole ${seconds} s: ${samples.cpuTotal.toFixed(3)} % (idle node: ${samples.idleCpuTotal.toFixed(3)} %); ` +
              `${net.note}; ${samples.processes} process(es) in the service's tree`,
          },
        );
      }
    } catch (error) {
      failed(setup.id, `${setup.label}: ${(error as Error).message.split('\n')[0] ?? 'failed'}`);
    } finally {
      await stopIdle();
      await service?.stop();
      await ns.remove();
    }
  }
  part.raw['service'] = raw;
}
