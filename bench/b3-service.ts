import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { runProgram } from '../src/adapters/exec.js';
import { planConfig } from '../src/nft/plan.js';
import type { BenchContext } from './lib/context.js';
import { USER_HZ } from './lib/cpu.js';
import { REPO_ROOT } from './lib/lab.js';
import { freshNamespace } from './lib/namespaces.js';
import type { PartResult } from './lib/results.js';
import { benchConfig, rawConfig, SEED_HOLDER, seedContactedScript } from './lib/rulesets.js';
import { ratioOf, summarize, timeMs } from './lib/stats.js';

const SERVICE_MAIN = `${REPO_ROOT}dist/main/daemon.js`;
const RULES = 1000;
const ENTRIES = 10_000;
const MEMORY_GOAL_MB = 100;
const CPU_GOAL_PERCENT = 1;
const WINDOWS = 5;
const SETTLE_MS = 10_000;
const WATCH_S = 5;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}

/** utime + stime of a process, and the same plus its waited-for children (the nft it runs). */
function cpuTicks(pid: number): { own: number; withChildren: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  const own = f[11]! + f[12]!;
  return { own, withChildren: own + f[13]! + f[14]! };
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
        if (command[0] === 'ip' && command[1] === 'netns') continue; // not yet exec'd: look again
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
  /** Service and its children, % of one CPU per window. */
  readonly cpu: number[];
  readonly ownCpu: number[];
  readonly idleCpu: number[];
}

/** VmRSS every second and CPU per window, of the service and of the idle baseline, side by side. */
async function sampleWindows(pid: number, idlePid: number, seconds: number): Promise<Windows> {
  const out: Windows = { rss: [], idleRss: [], cpu: [], ownCpu: [], idleCpu: [] };
  const windowS = seconds / WINDOWS;
  for (let w = 0; w < WINDOWS; w++) {
    const t0 = process.hrtime.bigint();
    const a = cpuTicks(pid);
    const b = cpuTicks(idlePid);
    for (let s = 0; s < windowS; s++) {
      await delay(1000);
      out.rss.push(rssMb(pid));
      out.idleRss.push(rssMb(idlePid));
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const pct = (ticks: number) => (ticks / USER_HZ / secs) * 100;
    const a2 = cpuTicks(pid);
    out.cpu.push(pct(a2.withChildren - a.withChildren));
    out.ownCpu.push(pct(a2.own - a.own));
    out.idleCpu.push(pct(cpuTicks(idlePid).withChildren - b.withChildren));
  }
  return out;
}

/**
 * The service's resident memory and idle CPU with 1,000 rules and 10,000 entries, against an idle Node process
 * sampled over the same windows.
 */
export async function measureService(ctx: BenchContext, part: PartResult): Promise<void> {
  const group = 'B3 service at rest: 1,000 rules, 10,000 entries';
  const seconds = ctx.plan.b3.serviceSeconds;
  part.method.push(
    `Service: \`node dist/main/daemon.js --config FILE --netns NS\` (API on a free loopback port, event database in a scratch directory) with ${RULES.toLocaleString('en')} dual-stack rules, the measured one \`remote: contacted\`; once its table is in place and 10 s have passed, VmRSS (/proc/PID/status) is sampled every second and utime+stime+cutime+cstime (/proc/PID/stat: the service and the nft processes it ran and reaped) over ${WINDOWS} windows of ${seconds / WINDOWS} s; then ${ENTRIES.toLocaleString('en')} entries are seeded into the contacted rule's sets with nft and, after another 10 s, the same is sampled again. Baseline: an idle \`node -e "setInterval(() => {}, 1000)"\` sampled the same way at the same time.`,
  );
  if (!existsSync(SERVICE_MAIN)) {
    part.rows.push({
      id: 'service',
      group,
      label: 'service not measured',
      unit: 'MB',
      better: 'lower',
      baselineLabel: 'idle node process',
      baseline: undefined,
      value: undefined,
      ratio: undefined,
      note: `${SERVICE_MAIN} does not exist (the service is not built)`,
    });
    return;
  }
  const ns = await freshNamespace(ctx);
  const port = await freePort();
  const dir = ctx.scratch;
  const configFile = join(dir, 'service-config.yaml');
  const raw = rawConfig(RULES, { family: 'both', remote: 'contacted' });
  writeFileSync(
    configFile,
    `${JSON.stringify(
      {
        ...raw,
        api: { listen: `127.0.0.1:${port}`, tokenFile: join(dir, 'api-token') },
        events: { database: join(dir, 'events.db'), retentionDays: 30, maxEvents: 100_000 },
      },
      null,
      1,
    )}\n`,
  );
  let stderr = '';
  const service = spawn(
    process.execPath,
    [SERVICE_MAIN, '--config', configFile, '--netns', ns.name, '--log-level', 'warn'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  service.stderr?.setEncoding('utf8');
  service.stderr?.on('data', (s: string) => {
    stderr = (stderr + s).slice(-4000);
  });
  const stopService = ctx.track(service, 'porttrigger service');
  const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const stopIdle = ctx.track(idle, 'idle node');
  try {
    const deadline = Date.now() + 300_000;
    for (;;) {
      if (service.exitCode !== null)
        throw new Error(`the service exited: ${stderr.trim().split('\n').slice(-2).join(' / ')}`);
      const listed = await runProgram('nft', ['list', 'chain', 'inet', 'porttrigger', 'forward'], {
        netns: ns.name,
      }).then(
        () => true,
        () => false,
      );
      if (listed) break;
      if (Date.now() > deadline) throw new Error('the service did not install its table within 300 s');
      await delay(200);
    }
    await delay(SETTLE_MS);
    const pid = service.pid!;
    const idlePid = idle.pid!;
    const empty = await sampleWindows(pid, idlePid, seconds);
    const plan = planConfig(benchConfig(RULES, { family: 'both', remote: 'contacted' }));
    await runProgram('nft', ['-f', '-'], {
      netns: ns.name,
      input: seedContactedScript(plan, 0, ENTRIES, SEED_HOLDER),
      timeoutMs: 300_000,
    });
    await delay(SETTLE_MS);
    const full = await sampleWindows(pid, idlePid, seconds);
    // What the service runs at rest: the programs it starts over a few seconds, then each timed once by us.
    const started = await childCommands(pid, WATCH_S);
    const listings: Record<string, number> = {};
    for (const [command] of started) {
      const args = command.split(' ');
      if (args[0] !== 'nft') continue;
      listings[command] = (await timeMs(() => runProgram('nft', args.slice(1), { netns: ns.name }))).ms;
    }
    part.findings.push(
      `At rest with ${RULES.toLocaleString('en')} rules and ${ENTRIES.toLocaleString('en')} entries the service started, in ${WATCH_S} s: ${
        [...started].map(([c, n]) => `${n}× \`${c}\``).join(', ') || 'no program'
      }. Each of those, run once by the bench in the same namespace: ${
        Object.entries(listings)
          .map(([c, ms]) => `\`${c}\` ${ms.toFixed(0)} ms`)
          .join(', ') || '—'
      }.`,
    );
    for (const [phase, samples] of [
      ['0 entries', empty],
      [`${ENTRIES.toLocaleString('en')} entries`, full],
    ] as const) {
      const withGoal = samples === full;
      const rss = summarize(samples.rss);
      const idleRss = summarize(samples.idleRss);
      const cpu = summarize(samples.cpu);
      const idleCpu = summarize(samples.idleCpu);
      part.rows.push(
        {
          id: `service-rss-${phase}`,
          group,
          label: `resident memory (VmRSS), ${RULES.toLocaleString('en')} rules, ${phase}`,
          unit: 'MB',
          better: 'lower',
          baselineLabel: 'idle node process, same time',
          baseline: idleRss,
          value: rss,
          ratio: ratioOf(rss, idleRss),
          ...(withGoal
            ? { goal: { text: `≤ ${MEMORY_GOAL_MB} MB`, met: rss ? rss.max <= MEMORY_GOAL_MB : undefined } }
            : {}),
        },
        {
          id: `service-cpu-${phase}`,
          group,
          label: `CPU at rest incl. the nft it runs, ${RULES.toLocaleString('en')} rules, ${phase}`,
          unit: '% of one CPU',
          better: 'lower',
          baselineLabel: 'idle node process, same windows',
          baseline: idleCpu,
          value: cpu,
          ratio: ratioOf(cpu, idleCpu),
          ...(withGoal
            ? {
                goal: {
                  text: `≤ ${CPU_GOAL_PERCENT} %`,
                  met: cpu ? cpu.median <= CPU_GOAL_PERCENT : undefined,
                },
              }
            : {}),
          note:
            `the service process alone: median ${summarize(samples.ownCpu)?.median.toFixed(2) ?? '?'} %` +
            (idleCpu?.median === 0 ? '; the idle baseline used no measurable CPU, so there is no ratio' : ''),
        },
      );
    }
    part.raw['service'] = { empty, full, started: Object.fromEntries(started), listings };
  } catch (error) {
    part.rows.push({
      id: 'service',
      group,
      label: 'service not measured',
      unit: 'MB',
      better: 'lower',
      baselineLabel: 'idle node process',
      baseline: undefined,
      value: undefined,
      ratio: undefined,
      note: (error as Error).message.split('\n')[0] ?? 'failed',
    });
  } finally {
    await stopIdle();
    await stopService();
    await ns.remove();
  }
}
