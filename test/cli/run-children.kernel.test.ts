/**
 * The service's long-lived children (`conntrack -E`, `nft monitor`) die with it: when it stops, and when it is
 * killed with SIGKILL where it can clean up nothing (outside systemd, no control group to sweep).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { labConfigText } from '../../src/lab/lab.js';
import { createVirtualNetwork, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { describeKernel } from '../harness/kernel-gate.js';

const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  readonly state: string;
}

function processes(): Proc[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        // pid (comm) state ppid …; comm may hold spaces and parentheses, so split at the last ')'.
        const close = stat.lastIndexOf(')');
        const [state, ppid] = stat.slice(close + 2).split(' ');
        return [
          {
            pid: Number(entry),
            ppid: Number(ppid),
            comm: stat.slice(stat.indexOf('(') + 1, close),
            state: state!,
          },
        ];
      } catch {
        return [];
      }
    });
}

/** The live (not zombie) descendants of `pid` named conntrack or nft. */
function kernelWatchers(pid: number): Proc[] {
  const all = processes();
  const byPid = new Map(all.map((p) => [p.pid, p]));
  const descends = (p: Proc) => {
    for (
      let current = byPid.get(p.ppid), hops = 0;
      current && hops < 10;
      current = byPid.get(current.ppid), hops++
    ) {
      if (current.pid === pid) return true;
    }
    return false;
  };
  return all.filter((p) => (p.comm === 'conntrack' || p.comm === 'nft') && p.state !== 'Z' && descends(p));
}

function alive(pids: readonly number[]): number[] {
  const live = new Set(
    processes()
      .filter((p) => p.state !== 'Z')
      .map((p) => p.pid),
  );
  return pids.filter((pid) => live.has(pid));
}

describeKernel('the service ends its children with it', () => {
  let net: VirtualNetwork;
  let dir: string;
  const started: ChildProcess[] = [];

  beforeAll(async () => {
    net = await createVirtualNetwork({ prefix: 'ptkids', run: runProgram });
    dir = await mkdtemp(join(tmpdir(), 'porttrigger-children-'));
  });

  afterAll(async () => {
    for (const child of started) child.kill('SIGKILL');
    await net?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function startService(): Promise<{ child: ChildProcess; watchers: number[] }> {
    const configPath = join(dir, `config-${started.length}.yaml`);
    await writeFile(
      configPath,
      labConfigText({
        idleTimeout: 30,
        listen: '127.0.0.1:0',
        tokenFile: join(dir, 'api-token'),
        database: join(dir, `events-${started.length}.db`),
      }),
    );
    const child = spawn(
      process.execPath,
      [MAIN, 'run', '--config', configPath, '--netns', net.namespaces.router, '--no-api'],
      { stdio: 'ignore' },
    );
    started.push(child);
    const pid = child.pid!;
    // Both streams run: `conntrack -E` and `nft monitor`.
    await expect
      .poll(
        () =>
          kernelWatchers(pid)
            .map((p) => p.comm)
            .sort(),
        { timeout: 20_000, interval: 100 },
      )
      .toEqual(['conntrack', 'nft']);
    return { child, watchers: kernelWatchers(pid).map((p) => p.pid) };
  }

  it('leaves no conntrack or nft process when it stops on SIGTERM', async () => {
    const { child, watchers } = await startService();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    await expect.poll(() => alive(watchers), { timeout: 10_000, interval: 50 }).toEqual([]);
  });

  it('leaves no conntrack or nft process when it is killed with SIGKILL', async () => {
    const { child, watchers } = await startService();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // The kernel delivers the parent-death signal; nothing of the service could have run.
    await expect.poll(() => alive(watchers), { timeout: 10_000, interval: 50 }).toEqual([]);
  });
});
