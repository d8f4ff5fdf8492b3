/**
 * A gateway as people run it, for kernel tests: a Debian 13 root file system booted with systemd as PID 1 by
 * `systemd-nspawn --boot` inside the router namespace of a virtual network (src/lab/virtual-network.ts). It has
 * a real init, journal and package manager, and carries the LAN and WAN hosts' traffic like the bare router.
 *
 * The root file system is cached outside the repository (scripts/gateway-rootfs.sh builds it once per machine)
 * and mounted as the read-only lower layer of an overlay whose upper layer is a fresh temporary directory, so
 * a test changes only its own copy; the copy survives {@link BootedGateway.reboot} and goes with
 * {@link BootedGateway.stop}.
 *
 * @example
 * const net = await createVirtualNetwork({ prefix: 'ptgw' });
 * const gw = await bootGateway({ routerNamespace: net.namespaces.router, extraPackages: ['firewalld'] });
 * await gw.check(['apt-get', 'install', '-y', '/var/tmp/porttrigger.deb']);
 * expect((await gw.systemctl('is-active', 'porttrigger')).stdout.trim()).toBe('active');
 * await gw.stop(); await net.destroy();
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** What a program run inside the gateway printed and how it ended. */
export interface GatewayExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for {@link BootedGateway.exec}. */
export interface GatewayExecOptions {
  /** Written to the program's standard input. */
  readonly input?: string;
  /** Default 60 s; the program is killed after it. */
  readonly timeoutMs?: number;
}

/** Options for {@link bootGateway}. */
export interface BootGatewayOptions {
  /** The namespace (a name under /run/netns) the gateway boots in: its links are the gateway's. */
  readonly routerNamespace: string;
  /** Debian packages on top of the base (built once per machine into a cached layer), e.g. `['firewalld']`. */
  readonly extraPackages?: readonly string[];
  /** How long a boot may take until systemd says the system runs; default 120 s. */
  readonly bootTimeoutMs?: number;
  /**
   * Lets the gateway write /proc/sys/net (nspawn mounts it read-only in a namespace it did not make), as
   * programs that turn on IP forwarding themselves need (dockerd).
   */
  readonly writableNetSysctls?: boolean;
}

/** A booted gateway; every method runs inside it as root. */
export interface BootedGateway {
  /** The gateway's root directory as seen from the host (the overlay's merged view). */
  readonly root: string;
  /** The container's console output of every boot so far (a file on the host), for failure messages. */
  readonly consoleLog: string;
  /** The host's pid of the gateway's PID 1 (systemd); 0 while it is not running. */
  readonly leaderPid: number;
  /** Runs a program (argument array, no shell) inside the gateway; resolves whatever its exit code. */
  exec(argv: readonly string[], options?: GatewayExecOptions): Promise<GatewayExecResult>;
  /** Like {@link exec}, but rejects with the program's output when it exits non-zero. */
  check(argv: readonly string[], options?: GatewayExecOptions): Promise<GatewayExecResult>;
  /** `systemctl ARGS…` inside the gateway (see {@link exec}). */
  systemctl(...args: string[]): Promise<GatewayExecResult>;
  /** The journal of one unit since the first boot of this copy, one line a message (`journalctl -o cat`). */
  journal(unit: string, extraArgs?: readonly string[]): Promise<string>;
  /** Copies a host file into the gateway (its directories are made); `containerPath` is absolute. */
  copyIn(hostPath: string, containerPath: string): Promise<void>;
  /** Writes a file inside the gateway (its directories are made). */
  writeFile(containerPath: string, content: string, mode?: number): Promise<void>;
  /** `systemctl reboot`, then waits for the next boot to finish; the file system keeps every change. */
  reboot(): Promise<void>;
  /** Powers the gateway off and removes its copy of the file system; safe to call more than once. */
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ROOTFS_SCRIPT = join(ROOT, 'scripts/gateway-rootfs.sh');
/** Per-test copies: on the same file system as the cache is not needed (overlay), but /tmp may be a tmpfs. */
const COPIES_DIR = '/var/tmp';
const COPY_PREFIX = 'porttrigger-gateway-';
const NAMESPACE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const PACKAGE_PATTERN = /^[a-z0-9][a-z0-9+.-]*$/;
/** nspawn's exit code when the container asked for a reboot. */
const REBOOT_EXIT_CODE = 133;
const PATH_INSIDE = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const rootfsBuilds = new Map<string, Promise<string[]>>();
let bootCounter = 0;

/**
 * The lower directories of the gateway's overlay, top first, building the cached tree(s) when missing (the first
 * call on a fresh machine runs debootstrap: minutes, not seconds).
 */
export function gatewayRootfs(extraPackages: readonly string[] = []): Promise<string[]> {
  for (const name of extraPackages) {
    if (!PACKAGE_PATTERN.test(name)) throw new Error(`not a Debian package name: ${JSON.stringify(name)}`);
  }
  const key = [...new Set(extraPackages)].sort().join(' ');
  let build = rootfsBuilds.get(key);
  if (!build) {
    build = run('bash', [ROOTFS_SCRIPT, ...key.split(' ').filter(Boolean)], { timeoutMs: 15 * 60_000 }).then(
      (result) => {
        if (result.exitCode !== 0) {
          throw new Error(`scripts/gateway-rootfs.sh failed (${result.exitCode}): ${tail(result.stderr)}`);
        }
        return result.stdout.trim().split('\n');
      },
    );
    build.catch(() => rootfsBuilds.delete(key));
    rootfsBuilds.set(key, build);
  }
  return build;
}

/**
 * Boots a gateway in `routerNamespace` and resolves once systemd reports the system running (or degraded).
 * Copies left by a test process that died are unmounted and removed first.
 */
export async function bootGateway(options: BootGatewayOptions): Promise<BootedGateway> {
  if (!NAMESPACE_PATTERN.test(options.routerNamespace)) {
    throw new Error(`not a namespace name: ${JSON.stringify(options.routerNamespace)}`);
  }
  if (!existsSync(`/run/netns/${options.routerNamespace}`)) {
    throw new Error(`namespace ${options.routerNamespace} does not exist (/run/netns)`);
  }
  await removeStaleCopies();
  const lowers = await gatewayRootfs(options.extraPackages ?? []);
  const dir = await mkdtemp(join(COPIES_DIR, `${COPY_PREFIX}${process.pid}-`));
  const root = join(dir, 'root');
  await Promise.all(['upper', 'work', 'root'].map((name) => mkdir(join(dir, name))));
  const mounted = await run('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${lowers.join(':')},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')}`,
    root,
  ]);
  if (mounted.exitCode !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`cannot mount the gateway's overlay: ${tail(mounted.stderr)}`);
  }
  const gateway = new Gateway(
    dir,
    root,
    options.routerNamespace,
    `ptgw${process.pid}n${bootCounter++}`,
    options.bootTimeoutMs ?? 120_000,
    options.writableNetSysctls === true,
  );
  try {
    await gateway.boot();
  } catch (error) {
    await gateway.stop();
    throw error;
  }
  return gateway;
}

class Gateway implements BootedGateway {
  readonly consoleLog: string;
  #nspawn: ChildProcess | undefined;
  #exited: Promise<number | null> = Promise.resolve(null);
  #leader = 0;
  #stopped: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    readonly root: string,
    readonly namespace: string,
    readonly machine: string,
    readonly bootTimeoutMs: number,
    readonly writableNetSysctls = false,
  ) {
    this.consoleLog = join(dir, 'console.log');
  }

  get leaderPid(): number {
    return this.#leader;
  }

  /** Starts systemd-nspawn and waits until the system inside runs. */
  async boot(): Promise<void> {
    const consoleOut = createWriteStream(this.consoleLog, { flags: 'a' });
    const nspawn = spawn(
      // The container goes when the test process does, even when the process is killed.
      'setpriv',
      [
        '--pdeathsig',
        'KILL',
        '--',
        'systemd-nspawn',
        '--quiet',
        '--boot',
        '--register=no',
        '--keep-unit',
        '--capability=CAP_NET_ADMIN,CAP_NET_RAW',
        `--network-namespace-path=/run/netns/${this.namespace}`,
        `--directory=${this.root}`,
        `--machine=${this.machine}`,
        '--console=read-only',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(this.writableNetSysctls
          ? { env: { ...process.env, SYSTEMD_NSPAWN_API_VFS_WRITABLE: 'network' } }
          : {}),
      },
    );
    this.#nspawn = nspawn;
    nspawn.stdout?.pipe(consoleOut, { end: false });
    nspawn.stderr?.pipe(consoleOut, { end: false });
    this.#exited = new Promise((resolve) => {
      nspawn.once('error', () => resolve(null));
      nspawn.once('close', (code) => {
        consoleOut.end();
        resolve(code);
      });
    });
    const deadline = Date.now() + this.bootTimeoutMs;
    let state = '';
    for (;;) {
      if (nspawn.exitCode !== null || nspawn.signalCode !== null) {
        throw new Error(`systemd-nspawn exited during boot: ${tail(this.#console())}`);
      }
      this.#leader = this.#leader || findLeader(nspawn.pid ?? 0);
      if (this.#leader) {
        const probe = await this.exec(['systemctl', 'is-system-running'], { timeoutMs: 10_000 });
        state = probe.stdout.trim();
        if (state === 'running' || state === 'degraded') return;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `the gateway did not finish booting in ${this.bootTimeoutMs} ms (state "${state}"): ` +
            tail(this.#console()),
        );
      }
      await delay(200);
    }
  }

  exec(argv: readonly string[], options: GatewayExecOptions = {}): Promise<GatewayExecResult> {
    if (!this.#leader) return Promise.reject(new Error('the gateway is not running'));
    // nsenter into every namespace of the container's PID 1, with its root; a clean environment as systemd's.
    return run(
      'nsenter',
      [
        `--target=${this.#leader}`,
        '--mount',
        '--uts',
        '--ipc',
        '--net',
        '--pid',
        '--root',
        '--wd',
        '--',
        '/usr/bin/env',
        '-i',
        `PATH=${PATH_INSIDE}`,
        'LANG=C.UTF-8',
        'HOME=/root',
        'SYSTEMD_PAGER=',
        'DEBIAN_FRONTEND=noninteractive',
        ...argv,
      ],
      options,
    );
  }

  async check(argv: readonly string[], options: GatewayExecOptions = {}): Promise<GatewayExecResult> {
    const result = await this.exec(argv, options);
    if (result.exitCode !== 0) {
      throw new Error(
        `${argv.join(' ')} exited with ${result.exitCode} in the gateway: ${tail(result.stderr || result.stdout)}`,
      );
    }
    return result;
  }

  systemctl(...args: string[]): Promise<GatewayExecResult> {
    return this.exec(['systemctl', ...args]);
  }

  async journal(unit: string, extraArgs: readonly string[] = []): Promise<string> {
    const result = await this.check([
      'journalctl',
      '--no-pager',
      '--quiet',
      '-o',
      'cat',
      '-u',
      unit,
      ...extraArgs,
    ]);
    return result.stdout;
  }

  async copyIn(hostPath: string, containerPath: string): Promise<void> {
    const target = this.#hostPath(containerPath);
    await mkdir(join(target, '..'), { recursive: true });
    await copyFile(hostPath, target);
  }

  async writeFile(containerPath: string, content: string, mode = 0o644): Promise<void> {
    const target = this.#hostPath(containerPath);
    await mkdir(join(target, '..'), { recursive: true });
    await writeFile(target, content, { mode });
  }

  async reboot(): Promise<void> {
    // The reboot request returns before the container goes down; nspawn then exits with 133.
    await this.exec(['systemctl', 'reboot']);
    const code = await withTimeout(this.#exited, 60_000, 'the gateway did not go down for its reboot');
    if (code !== REBOOT_EXIT_CODE) throw new Error(`systemd-nspawn exited with ${code} instead of rebooting`);
    this.#leader = 0;
    await this.boot();
  }

  stop(): Promise<void> {
    this.#stopped ??= this.#teardown();
    return this.#stopped;
  }

  async #teardown(): Promise<void> {
    const nspawn = this.#nspawn;
    if (nspawn && nspawn.exitCode === null && nspawn.signalCode === null) {
      // SIGTERM asks nspawn for an orderly shutdown of the container; SIGKILL of its PID 1 ends it for good.
      nspawn.kill('SIGTERM');
      const code = await Promise.race([this.#exited, delay(30_000).then(() => 'late' as const)]);
      if (code === 'late') {
        if (this.#leader) process.kill(this.#leader, 'SIGKILL');
        nspawn.kill('SIGKILL');
        await this.#exited;
      }
    }
    this.#leader = 0;
    await unmountCopy(this.dir);
  }

  #hostPath(containerPath: string): string {
    if (!containerPath.startsWith('/') || containerPath.split('/').includes('..')) {
      throw new Error(`not an absolute path inside the gateway: ${containerPath}`);
    }
    return join(this.root, containerPath);
  }

  #console(): string {
    try {
      return readFileSync(this.consoleLog, 'utf8');
    } catch {
      return '';
    }
  }
}

/** The container's PID 1 as seen from the host: the descendant of nspawn whose pid in its own namespace is 1. */
function findLeader(nspawnPid: number): number {
  if (!nspawnPid) return 0;
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      const nspid = /^NSpid:\s+([\d\s]+)$/m.exec(status)?.[1]?.trim().split(/\s+/);
      if (nspid && nspid.length > 1 && nspid.at(-1) === '1') parents.set(Number(entry), ppid);
    } catch {
      // The process ended while we looked.
    }
  }
  for (const [pid, ppid] of parents) {
    if (isDescendant(ppid, nspawnPid)) return pid;
  }
  return 0;
}

function isDescendant(pid: number, ancestor: number): boolean {
  for (let current = pid, hops = 0; current > 1 && hops < 8; hops++) {
    if (current === ancestor) return true;
    try {
      current = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${current}/status`, 'utf8'))?.[1]);
    } catch {
      return false;
    }
  }
  return false;
}

/** Unmounts and removes copies whose test process is gone (a killed run leaves its overlay mounted). */
async function removeStaleCopies(): Promise<void> {
  const pattern = new RegExp(`^${COPY_PREFIX}(\\d+)-`);
  for (const entry of readdirSync(COPIES_DIR)) {
    const pid = pattern.exec(entry)?.[1];
    if (pid === undefined || Number(pid) === process.pid || existsSync(`/proc/${pid}`)) continue;
    await unmountCopy(join(COPIES_DIR, entry));
  }
}

async function unmountCopy(dir: string): Promise<void> {
  const root = join(dir, 'root');
  const mounts = readFileSync('/proc/self/mounts', 'utf8');
  if (mounts.split('\n').some((line) => line.split(' ')[1] === root)) {
    const result = await run('umount', [root]);
    // Something still holds it (a process that outlived the container): detach it rather than leak the copy.
    if (result.exitCode !== 0) await run('umount', ['--lazy', root]);
  }
  await rm(dir, { recursive: true, force: true });
}

/** Runs a host program with an argument array; resolves with its exit code (-1 when it could not run). */
function run(
  program: string,
  args: readonly string[],
  options: GatewayExecOptions = {},
): Promise<GatewayExecResult> {
  return new Promise((resolve) => {
    const child = execFile(
      program,
      args,
      {
        timeout: options.timeoutMs ?? 60_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ exitCode: code, stdout, stderr: stderr || (error && code === -1 ? error.message : '') });
      },
    );
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}

function tail(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  const timeout = delay(ms).then(() => {
    throw new Error(message);
  });
  return Promise.race([promise, timeout]);
}
