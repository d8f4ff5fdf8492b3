import { accessSync, constants, readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';
import { runProgram } from '../../src/adapters/exec.js';

/** Finds a program on PATH (or an absolute path); undefined when missing. */
export function findProgram(name: string): string | undefined {
  const dirs = name.includes('/') ? [''] : (process.env['PATH'] ?? '').split(delimiter);
  for (const dir of [...dirs, '/usr/sbin', '/sbin']) {
    const path = dir ? join(dir, name) : name;
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * What the whole bench needs: root, nft, ip, namespaces and nftables inside one. Returns the problems found,
 * each a sentence that says what to do.
 */
export async function preflight(): Promise<string[]> {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('the bench must run as root (it creates network namespaces)');
  for (const tool of ['nft', 'ip', 'taskset']) {
    if (!findProgram(tool)) problems.push(`${tool} is missing (run: bash scripts/ensure-deps.sh)`);
  }
  if (problems.length > 0) return problems;
  const ns = `ptbcheck-${process.pid}`;
  try {
    await runProgram('ip', ['netns', 'add', ns], { timeoutMs: 10_000 });
  } catch (error) {
    return [`cannot create a network namespace: ${(error as Error).message}`];
  }
  try {
    await runProgram('nft', ['-f', '-'], {
      netns: ns,
      input: 'table inet ptbcheck {\n  chain c {\n    type filter hook forward priority 0;\n  }\n}\n',
      timeoutMs: 10_000,
    });
  } catch (error) {
    problems.push(`nftables does not work inside a namespace: ${(error as Error).message}`);
  } finally {
    await runProgram('ip', ['netns', 'delete', ns], { timeoutMs: 10_000 }).catch(() => undefined);
  }
  return problems;
}

/** A Debian package the bench installs when its program is missing. */
export interface Tool {
  readonly program: string;
  readonly packages: readonly string[];
  /** True when the installed program must come from exactly these packages (dpkg is asked). */
  readonly exactPackage?: boolean;
}

/** The tools of each part. */
export const TOOLS = {
  iperf3: { program: 'iperf3', packages: ['iperf3'] },
  cc: { program: 'cc', packages: ['gcc', 'libc6-dev'] },
  upnpc: { program: 'upnpc', packages: ['miniupnpc'] },
  miniupnpd: { program: 'miniupnpd', packages: ['miniupnpd-nftables'], exactPackage: true },
  conntrack: { program: 'conntrack', packages: ['conntrack'] },
  perf: { program: 'perf', packages: ['linux-perf'] },
} as const satisfies Record<string, Tool>;

/** The name of a tool of {@link TOOLS}. */
export type ToolName = keyof typeof TOOLS;

async function packageInstalled(name: string): Promise<boolean> {
  try {
    const { stdout } = await runProgram('dpkg-query', ['-s', name], { timeoutMs: 10_000 });
    return /^Status: install ok installed$/m.test(stdout);
  } catch {
    return false;
  }
}

async function candidate(name: string): Promise<string | undefined> {
  try {
    const { stdout } = await runProgram('apt-cache', ['policy', name], { timeoutMs: 30_000 });
    const m = /Candidate:\s*(\S+)/.exec(stdout);
    return m && m[1] !== '(none)' ? m[1] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes the tools available, installing missing Debian packages with apt-get (checked with apt-cache policy
 * first). Resolves with the reason each unavailable tool stays unavailable.
 */
export async function ensureTools(
  names: readonly ToolName[],
  log: (line: string) => void,
): Promise<Map<ToolName, string>> {
  const missing = new Map<ToolName, Tool>();
  for (const name of names) {
    const tool: Tool = TOOLS[name];
    const present = findProgram(tool.program) !== undefined;
    const exact = tool.exactPackage ? await packageInstalled(tool.packages[0]!) : true;
    if (!present || !exact) missing.set(name, tool);
  }
  const unavailable = new Map<ToolName, string>();
  if (missing.size === 0) return unavailable;
  if (process.getuid?.() !== 0) {
    for (const [name, tool] of missing) unavailable.set(name, `${tool.packages.join(' ')} not installed`);
    return unavailable;
  }
  const wanted = [...new Set([...missing.values()].flatMap((t) => t.packages))];
  let noCandidate = [] as string[];
  for (let attempt = 0; attempt < 2; attempt++) {
    noCandidate = [];
    for (const pkg of wanted) if (!(await candidate(pkg))) noCandidate.push(pkg);
    if (noCandidate.length === 0 || attempt === 1) break;
    log(`apt-cache has no candidate for ${noCandidate.join(', ')}: running apt-get update`);
    await runProgram('apt-get', ['update', '-qq'], { timeoutMs: 300_000 }).catch((e) =>
      log(`apt-get update failed: ${(e as Error).message}`),
    );
  }
  const installable = wanted.filter((p) => !noCandidate.includes(p));
  if (installable.length > 0) {
    log(`installing with apt-get: ${installable.join(' ')}`);
    try {
      await runProgram(
        'env',
        [
          'DEBIAN_FRONTEND=noninteractive',
          'apt-get',
          'install',
          '-y',
          '-qq',
          '--no-install-recommends',
          ...installable,
        ],
        {
          timeoutMs: 600_000,
        },
      );
    } catch (error) {
      log(`apt-get install failed: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  for (const [name, tool] of missing) {
    const lacking = tool.packages.filter((p) => noCandidate.includes(p));
    if (lacking.length > 0) {
      unavailable.set(name, `Debian package ${lacking.join(', ')} is not available from apt on this machine`);
    } else if (
      !findProgram(tool.program) ||
      (tool.exactPackage && !(await packageInstalled(tool.packages[0]!)))
    ) {
      unavailable.set(name, `installing ${tool.packages.join(' ')} with apt-get failed`);
    }
  }
  return unavailable;
}

async function versionOf(program: string, args: readonly string[], pattern: RegExp): Promise<string> {
  try {
    const { stdout, stderr } = await runProgram(program, args, { timeoutMs: 10_000 });
    return pattern.exec(stdout + stderr)?.[1] ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

async function packageVersion(name: string): Promise<string> {
  try {
    const { stdout } = await runProgram('dpkg-query', ['-W', name], { timeoutMs: 10_000 });
    return stdout.trim().split('\t')[1] || 'not installed';
  } catch {
    return 'not installed';
  }
}

/** The machine and the versions of everything measured. */
export async function describeMachine(): Promise<{
  machine: Record<string, string>;
  versions: Record<string, string>;
}> {
  const os = readFileSync('/etc/os-release', 'utf8');
  const cpu = cpus();
  return {
    machine: {
      cpu: cpu[0]?.model.trim() ?? 'unknown',
      cores: String(cpu.length),
      memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
      os: /PRETTY_NAME="([^"]+)"/.exec(os)?.[1] ?? 'unknown',
      kernel: release(),
    },
    versions: {
      node: process.version,
      nft: await versionOf('nft', ['--version'], /nftables (v\S+)/),
      iproute2: await versionOf('ip', ['-V'], /iproute2-([\d.]+)/),
      iperf3: await versionOf('iperf3', ['--version'], /iperf (\S+)/),
      'miniupnpd-nftables': await packageVersion('miniupnpd-nftables'),
      miniupnpc: await packageVersion('miniupnpc'),
      cc: await versionOf('cc', ['--version'], /(\d+\.\d+\.\d+)/),
    },
  };
}

/** The 1-minute load average now. */
export function loadNow(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}
