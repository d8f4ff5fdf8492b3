import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { describeKernel } from '../harness/kernel-gate.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = `${ROOT}dist/cli/main.js`;

interface Finished {
  readonly code: number | null;
  readonly pid: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI as its own process, the way users run it. */
function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  prefix: readonly string[] = [],
) {
  return new Promise<Finished>((resolve, reject) => {
    const [file, argv] =
      prefix.length > 0
        ? [prefix[0]!, [...prefix.slice(1), process.execPath, MAIN, ...args]]
        : [process.execPath, [MAIN, ...args]];
    const child = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, pid: child.pid!, stdout, stderr }));
  });
}

/** Starts the CLI, sends `signal` once its output contains `marker`, and resolves when it has exited. */
function interruptCli(args: readonly string[], marker: string, signal: NodeJS.Signals) {
  return new Promise<Finished & { sawMarker: boolean }>((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sawMarker = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!sawMarker && stdout.includes(marker)) {
        sawMarker = true;
        child.kill(signal);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, pid: child.pid!, stdout, stderr, sawMarker }));
  });
}

function namespacesOf(pid: number): string[] {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(`ptlab-${pid}-`));
  } catch {
    return [];
  }
}

describeKernel('porttrigger lab', () => {
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npm run build)`);
  });

  it('plays the whole scenario with real packets, every step passing, and leaves nothing behind', async () => {
    const r = await runCli(['lab', '--no-wait', '--json', '--port', '0']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      cleanedUp: boolean;
      steps: { title: string; checks: { ok: boolean; text: string }[] }[];
      apiUrl: string;
      configPath: string;
      namespaces: string[];
    };
    expect(report.ok).toBe(true);
    expect(report.cleanedUp).toBe(true);
    expect(report.steps.map((s) => s.title)).toEqual([
      expect.stringContaining('PC 1 (192.168.1.10) joins IRC'),
      expect.stringContaining('Server 1 offers a DCC transfer'),
      expect.stringContaining('PC 2 (192.168.1.20) joins IRC too'),
      expect.stringContaining('the entry expires'),
      expect.stringContaining('PC 2 (192.168.1.20) joins IRC again'),
    ]);
    for (const step of report.steps) {
      expect(step.checks.length).toBeGreaterThan(0);
      for (const check of step.checks) expect(check, step.title).toMatchObject({ ok: true });
    }
    const texts = report.steps.flatMap((s) => s.checks.map((c) => c.text));
    expect(texts).toContainEqual(
      expect.stringContaining('conflict recorded: PC 2 (192.168.1.20) was refused'),
    );
    expect(texts).toContainEqual(expect.stringMatching(/reaches nobody/));
    expect(texts).toContainEqual(
      'the conflict still names its holder after the entry closed: PC 2 (192.168.1.20) was refused while PC 1 (192.168.1.10) held the rule',
    );
    expect(report.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // Namespaces (and with them every link and the table inside the router) and the temp directory are gone.
    expect(report.namespaces).toHaveLength(5);
    expect(report.namespaces.every((n) => n.startsWith(`ptlab-${r.pid}-`))).toBe(true);
    expect(namespacesOf(r.pid)).toEqual([]);
    expect(existsSync(dirname(report.configPath))).toBe(false);
  }, 90_000);

  it('learns a game whose ports nobody knows, applies the proposed rule, and the game works', async () => {
    const r = await runCli(['lab', '--learn', '--no-wait', '--json', '--port', '0']);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      steps: { title: string; checks: { ok: boolean; text: string }[] }[];
    };
    expect(report.steps.map((s) => s.title)).toEqual([
      expect.stringContaining('porttrigger watches PC 1'),
      expect.stringContaining('PC 1 starts the game'),
      expect.stringContaining('proposes a rule'),
      expect.stringContaining('The proposed rule is applied'),
    ]);
    for (const step of report.steps) {
      expect(step.checks.length).toBeGreaterThan(0);
      for (const check of step.checks) expect(check, step.title).toMatchObject({ ok: true });
    }
    const texts = report.steps.flatMap((s) => s.checks.map((c) => c.text));
    expect(texts).toContainEqual(
      'proposal 1 of 1: "Learned tcp 6970", trigger tcp 6970, open udp 7000-7003, remote contacted',
    );
    expect(texts).toContainEqual(expect.stringContaining('reaches PC 1 (192.168.1.10): the game works'));
    expect(report.ok).toBe(true);
    expect(r.code).toBe(0);
    expect(namespacesOf(r.pid)).toEqual([]);
  }, 90_000);

  it('narrates each step with ✔ and prints the trigger table as it changes', async () => {
    const r = await runCli(['lab', '--no-wait', '--port', '0', '--timeout', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1. PC 1 (192.168.1.10) joins IRC');
    expect(r.stdout).toMatch(/IRC DCC\s+ipv4\s+192\.168\.1\.10\s+any/);
    expect(r.stdout).toContain('Recent conflicts (1):');
    expect(r.stdout).toContain('No active entries: every open port is closed.');
    expect(r.stdout).not.toContain('✘');
    expect(r.stdout).toContain('✔ 12 of 12 checks passed');
    expect(r.stdout).toContain('✔ cleaned up.');
    expect(namespacesOf(r.pid)).toEqual([]);
  }, 90_000);

  it('keeps the service and its API running until Ctrl-C, then removes everything', async () => {
    const r = await interruptCli(['lab', '--port', '0'], 'Press Ctrl-C', 'SIGINT');
    expect(r.sawMarker).toBe(true);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /curl -H "Authorization: Bearer \$\(cat \/tmp\/porttrigger-lab-\w+\/api-token\)" http:\/\/127\.0\.0\.1:\d+\/api\/v1\/table/,
    );
    expect(r.stdout).toContain('✔ cleaned up.');
    expect(namespacesOf(r.pid)).toEqual([]);
  }, 90_000);

  it('cleans up when it is stopped in the middle of the scenario', async () => {
    const r = await interruptCli(['lab', '--port', '0'], '2. Server 1', 'SIGTERM');
    expect(r.sawMarker).toBe(true);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the lab was interrupted');
    expect(namespacesOf(r.pid)).toEqual([]);
  }, 90_000);

  it('says exactly what is missing when ip and nft are not there', async () => {
    const r = await runCli(['lab', '--no-wait'], { ...process.env, PATH: '/nonexistent' });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('the `ip` program (install the iproute2 package)');
    expect(r.stderr).toContain('the `nft` program (install the nftables package)');
    expect(namespacesOf(r.pid)).toEqual([]);
  });

  it.skipIf(!existsSync('/usr/bin/setpriv'))('says that it needs root when it is not root', async () => {
    const r = await runCli(['lab', '--no-wait'], process.env, [
      '/usr/bin/setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'porttrigger: the lab needs root privileges (namespaces and nftables need them): run it with sudo\n',
    );
  });
});
