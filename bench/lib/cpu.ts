import { readdirSync, readFileSync } from 'node:fs';

/** Kernel ticks per second of /proc/stat and /proc/PID/stat (USER_HZ, 100 on Linux). */
export const USER_HZ = 100;

/** CPU time counters of one CPU, in ticks. */
export interface CpuTicks {
  readonly user: number;
  readonly system: number;
  readonly softirq: number;
  readonly irq: number;
  readonly idle: number;
  readonly total: number;
}

/** Reads the counters of one CPU from /proc/stat. */
export function readCpu(cpu: number): CpuTicks {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) throw new Error(`/proc/stat has no line for cpu${cpu}`);
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return {
    user: user + nice,
    system,
    softirq,
    irq,
    idle: idle + iowait,
    total: user + nice + system + idle + iowait + irq + softirq + steal,
  };
}

/** The difference of two readings. */
export function cpuDelta(a: CpuTicks, b: CpuTicks): CpuTicks {
  return {
    user: b.user - a.user,
    system: b.system - a.system,
    softirq: b.softirq - a.softirq,
    irq: b.irq - a.irq,
    idle: b.idle - a.idle,
    total: b.total - a.total,
  };
}

/** Packets dropped because a CPU's input backlog was full (second column of /proc/net/softnet_stat). */
export function backlogDrops(): number[] {
  return readFileSync('/proc/net/softnet_stat', 'utf8')
    .trim()
    .split('\n')
    .map((l) => Number.parseInt(l.trim().split(/\s+/)[1] ?? '0', 16));
}

/** CPU use of one process so far. */
export interface ProcessTicks {
  readonly ticks: number;
  readonly ppid: number;
  readonly command: string;
}

/** CPU ticks (user + system) used so far by every process, with its parent and command line. */
export function processTicks(): Map<number, ProcessTicks> {
  const out = new Map<number, ProcessTicks>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      const command = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      const ppid = Number(fields[1]);
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      out.set(Number(name), { ticks, ppid, command: command || `[${comm}]` });
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

function isDescendant(pid: number, root: number, procs: Map<number, ProcessTicks>): boolean {
  for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; hops++) {
    if (p === root) return true;
    p = procs.get(p)?.ppid;
  }
  return false;
}

/** Processes outside this one's tree that used more than `share` of one CPU between two snapshots. */
export function busyOthers(
  before: Map<number, ProcessTicks>,
  after: Map<number, ProcessTicks>,
  seconds: number,
  share = 0.05,
): string[] {
  const out: { used: number; command: string }[] = [];
  for (const [pid, b] of after) {
    const a = before.get(pid);
    if (!a || isDescendant(pid, process.pid, after)) continue;
    const used = (b.ticks - a.ticks) / USER_HZ;
    if (used > share * seconds) out.push({ used, command: b.command.slice(0, 80) });
  }
  return out
    .sort((x, y) => y.used - x.used)
    .slice(0, 5)
    .map((x) => `${x.command} (${x.used.toFixed(0)} CPU-s)`);
}
