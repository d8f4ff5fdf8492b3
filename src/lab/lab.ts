/**
 * `porttrigger lab`: a virtual home network in namespaces, the real service on its router, and a short
 * narrated scenario with real sockets. Every result it reports is one it observed.
 *
 * The service is a port of this module ({@link StartLabService}): the CLI wires in the daemon and its API, so
 * that this adapter depends on nothing above `system`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { stringify } from 'yaml';
import { PorttriggerError } from '../domain/errors.js';
import { findPreset, presetRuleInput } from '../domain/presets.js';
import { ExecError, type ProgramRunner } from '../domain/programs.js';
import type { TriggerEntry, TriggerTable } from '../domain/types.js';
import { type LabLearning, playLearnScenario } from './learn-scenario.js';
import { createVirtualNetwork, LAB_ADDRESSES, type VirtualNetwork } from './virtual-network.js';

/** What the lab asks of the service it starts: the config file, the router namespace, where to listen. */
export interface LabServiceRequest {
  readonly configPath: string;
  readonly netns: string;
  /** `127.0.0.1:PORT`, the same as the config's `api.listen`. */
  readonly listen: string;
  readonly tokenFile: string;
}

/** The running service as the lab sees it. */
export interface LabServiceHandle {
  readonly apiUrl: string;
  /** The trigger table now (the CLI reads it through the REST API). */
  readTable(): Promise<TriggerTable>;
  /** Stops the service and removes its table. */
  stop(): Promise<void>;
  /** Learning sessions, for the learn-mode scenario. */
  readonly learning?: LabLearning;
}

/** Starts the real service for the lab. */
export type StartLabService = (request: LabServiceRequest) => Promise<LabServiceHandle>;

/** What the lab tells while it runs, in order. */
export type LabProgress =
  | { readonly kind: 'info'; readonly text: string }
  | { readonly kind: 'step'; readonly index: number; readonly title: string }
  | { readonly kind: 'check'; readonly ok: boolean; readonly text: string }
  | { readonly kind: 'table'; readonly table: TriggerTable };

/** One observed result. */
export interface LabCheck {
  readonly ok: boolean;
  readonly text: string;
}

/** One step of the scenario with what was observed. */
export interface LabStep {
  readonly title: string;
  readonly checks: readonly LabCheck[];
}

/** Options for {@link startLab}. */
export interface LabOptions {
  readonly startService: StartLabService;
  /** Runs `ip` and `sysctl` to build the virtual network (the composition root hands in `runProgram`). */
  readonly run: ProgramRunner;
  readonly onProgress?: (progress: LabProgress) => void;
  /** Idle timeout of the lab's rules in seconds (default 5: the demo waits for one expiry). */
  readonly idleTimeout?: number;
  /** The API port to try first (default 8080); a free one is taken when it is busy. */
  readonly preferredPort?: number;
  /** Namespace name prefix (default `ptlab`). */
  readonly prefix?: string;
  /** Aborts the scenario between steps; the lab then cleans up and rejects with ABORTED. */
  readonly signal?: AbortSignal;
  /** Which story to play (default `triggering`); `learning` needs a service with `learning`. */
  readonly scenario?: 'triggering' | 'learning';
}

/** A lab whose scenario has run; its service keeps running until {@link RunningLab.close}. */
export interface RunningLab {
  readonly ok: boolean;
  readonly steps: readonly LabStep[];
  readonly apiUrl: string;
  readonly tokenFile: string;
  readonly configPath: string;
  readonly namespaces: readonly string[];
  /** The namespace of the virtual router, where the service runs nft. */
  readonly routerNamespace: string;
  /** Stops the service, deletes every namespace (and so every link and table) and the temp directory. */
  close(): Promise<void>;
}

/** The presets the lab config holds; the first is the one the scenario plays. */
export const LAB_PRESETS = ['irc-dcc', 'aim-talk', 'sip-voice'] as const;

const SCENARIO = { triggerPort: 6667, openPort: 4000 } as const;
const { hosts, router } = LAB_ADDRESSES;
const PC1 = hosts.lan1.ipv4;
const PC2 = hosts.lan2.ipv4;
const SERVER = hosts.wan1.ipv4;
const GATEWAY = router.wan.ipv4;
// How long "this packet reached nobody" is waited for: namespaces deliver in microseconds.
const SILENCE_MS = 1_000;

/**
 * What the lab needs and is missing: root, `ip`, `nft`. Empty when it can run.
 * @example const missing = await missingLabPrerequisites(runProgram, process.getuid?.() === 0)
 */
export async function missingLabPrerequisites(run: ProgramRunner, isRoot: boolean): Promise<string[]> {
  const missing: string[] = [];
  if (!isRoot) missing.push('root privileges (namespaces and nftables need them): run it with sudo');
  const tools = [
    ['ip', ['-V'], 'iproute2'],
    ['nft', ['--version'], 'nftables'],
  ] as const;
  for (const [program, args, pkg] of tools) {
    try {
      await run(program, args, { timeoutMs: 10_000 });
    } catch (error) {
      if (error instanceof ExecError && error.exitCode === null) {
        missing.push(`the \`${program}\` program (install the ${pkg} package)`);
      }
    }
  }
  return missing;
}

/** The lab's config as YAML: standalone mode on the virtual router, the lab presets with a short timeout. */
export function labConfigText(options: {
  readonly idleTimeout: number;
  readonly listen: string;
  readonly tokenFile: string;
  readonly database: string;
}): string {
  const rules = LAB_PRESETS.map((id) =>
    presetRuleInput(findPreset(id)!, { idleTimeout: options.idleTimeout }),
  );
  const doc = {
    interfaces: { lan: [router.lan.interface], wan: [router.wan.interface] },
    mode: 'standalone',
    enabled: true,
    ipv6: true,
    rules,
    api: { listen: options.listen, tokenFile: options.tokenFile },
    events: { database: options.database, retentionDays: 1, maxEvents: 1000 },
  };
  return `# porttrigger lab: the virtual router's config. Removed when the lab stops.\n${stringify(doc)}`;
}

/** A free TCP port on 127.0.0.1: `preferred` when nothing listens on it, else one the kernel picks. */
export async function findFreePort(preferred: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
        const address = server.address();
        const got = typeof address === 'object' && address ? address.port : undefined;
        server.close(() => resolve(got));
      });
    });
  const port = (await tryListen(preferred)) ?? (await tryListen(0));
  if (port === undefined)
    throw new PorttriggerError('LAB_FAILED', 'no free TCP port on 127.0.0.1 for the API');
  return port;
}

function entryOf(table: TriggerTable, rule: string, holder?: string): TriggerEntry | undefined {
  return table.entries.find(
    (e) => e.rule === rule && e.family === 'ipv4' && (holder === undefined || e.holder === holder),
  );
}

function secondsLeft(table: TriggerTable, entry: TriggerEntry): string {
  return `${Math.max(0, Math.round((entry.expiresAt - table.at) / 1000))} s`;
}

/** Builds the network, starts the service and plays the scenario. */
class Lab {
  readonly steps: { title: string; checks: LabCheck[] }[] = [];
  #tokens = 0;
  /** When the holder's entry last saw traffic (a trigger or an inbound connection of the holder). */
  #lastTraffic = 0;

  constructor(
    readonly net: VirtualNetwork,
    readonly service: LabServiceHandle,
    readonly rule: string,
    readonly idleTimeout: number,
    readonly report: (p: LabProgress) => void,
    readonly signal: AbortSignal | undefined,
  ) {}

  #token(label: string): string {
    return `lab-${label}-${process.pid}-${++this.#tokens}`;
  }

  #step(title: string): void {
    this.#checkAborted();
    this.steps.push({ title, checks: [] });
    this.report({ kind: 'step', index: this.steps.length, title });
  }

  #check(ok: boolean, text: string): boolean {
    this.steps.at(-1)!.checks.push({ ok, text });
    this.report({ kind: 'check', ok, text });
    return ok;
  }

  #checkAborted(): void {
    if (this.signal?.aborted) throw new PorttriggerError('ABORTED', 'the lab was interrupted');
  }

  #table(): Promise<TriggerTable> {
    return this.service.readTable();
  }

  async #showTable(): Promise<TriggerTable> {
    const table = await this.#table();
    this.report({ kind: 'table', table });
    return table;
  }

  /** A PC connects to the IRC server on the trigger port and says hello; true when the server got it. */
  async #trigger(pc: 'lan1' | 'lan2', name: string): Promise<void> {
    const probe = this.net.host(pc);
    const server = this.net.host('wan1');
    const token = this.#token(`hello-${pc}`);
    const conn = await probe.connectTcp({ to: SERVER, port: SCENARIO.triggerPort, timeoutMs: 3_000 });
    if (!conn.ok) {
      this.#check(
        false,
        `${name} could not connect to Server 1 on tcp ${SCENARIO.triggerPort}: ${conn.error}`,
      );
      return;
    }
    await probe.writeTcp(conn.conn, token);
    const got = await server.waitFor(token, 3_000);
    await probe.closeTcp(conn.conn);
    if (pc === 'lan1') this.#lastTraffic = Date.now();
    this.#check(
      got?.token === token,
      got?.token === token
        ? `Server 1 got ${name}'s message (through the gateway, masqueraded as ${got.from})`
        : `Server 1 did not get ${name}'s message`,
    );
  }

  /** Server 1 connects to the gateway's WAN address on the open port; says which PC (if any) got the data. */
  async #inbound(): Promise<{ reached: 'lan1' | 'lan2' | 'both' | null; error?: string }> {
    const server = this.net.host('wan1');
    const token = this.#token('dcc');
    const conn = await server.connectTcp({ to: GATEWAY, port: SCENARIO.openPort, timeoutMs: 2_000 });
    if (!conn.ok) {
      // No connection at all: nobody can have received anything; still look, to report only what we saw.
      const [a, b] = await Promise.all([
        this.net.host('lan1').received(token),
        this.net.host('lan2').received(token),
      ]);
      return { reached: a.length > 0 ? 'lan1' : b.length > 0 ? 'lan2' : null, error: conn.error };
    }
    await server.writeTcp(conn.conn, token);
    const [a, b] = await Promise.all([
      this.net.host('lan1').waitFor(token, SILENCE_MS),
      this.net.host('lan2').waitFor(token, SILENCE_MS),
    ]);
    await server.closeTcp(conn.conn);
    this.#lastTraffic = Date.now();
    const got1 = a?.token === token;
    const got2 = b?.token === token;
    return { reached: got1 && got2 ? 'both' : got1 ? 'lan1' : got2 ? 'lan2' : null };
  }

  /** The learn-mode story: a game whose ports nobody knows is watched, its rule proposed and applied. */
  async playLearning(): Promise<void> {
    const learning = this.service.learning;
    if (!learning) throw new PorttriggerError('LAB_FAILED', 'the lab service offers no learning sessions');
    await playLearnScenario({
      net: this.net,
      learning,
      step: (title) => this.#step(title),
      check: (ok, text) => this.#check(ok, text),
      token: (label) => this.#token(label),
      wait: (ms) => delay(ms),
    });
  }

  async play(): Promise<void> {
    const { rule } = this;
    const tcpTrigger = `tcp ${SCENARIO.triggerPort}`;
    const tcpOpen = `tcp ${SCENARIO.openPort}`;
    const server = this.net.host('wan1');
    await server.listen('tcp', SCENARIO.triggerPort);
    await Promise.all(
      ['lan1', 'lan2'].map((h) => this.net.host(h as 'lan1').listen('tcp', SCENARIO.openPort)),
    );

    this.#step(
      `PC 1 (${PC1}) joins IRC: it connects to Server 1 (${SERVER}) on ${tcpTrigger}, a trigger port of rule "${rule}"`,
    );
    await this.#trigger('lan1', 'PC 1');
    let table = await this.#showTable();
    let entry = entryOf(table, rule, PC1);
    this.#check(
      entry !== undefined,
      entry
        ? `the trigger table shows "${rule}" held by PC 1 (${PC1}), expiring in ${secondsLeft(table, entry)}`
        : `the trigger table shows no entry of "${rule}" for PC 1`,
    );

    this.#step(
      `Server 1 offers a DCC transfer: it connects to the gateway's WAN address ${GATEWAY} on ${tcpOpen}, an open port`,
    );
    let result = await this.#inbound();
    this.#check(
      result.reached === 'lan1',
      result.reached === 'lan1'
        ? `the connection reached PC 1 (${PC1}) and only PC 1`
        : `the connection did not reach PC 1 alone (reached: ${result.reached ?? 'nobody'}${result.error ? `, ${result.error}` : ''})`,
    );

    this.#step(`PC 2 (${PC2}) joins IRC too, while PC 1 holds the rule`);
    await this.#trigger('lan2', 'PC 2');
    table = await this.#showTable();
    const conflict = table.conflicts.find((c) => c.rule === rule && c.contender === PC2);
    entry = entryOf(table, rule);
    this.#check(
      conflict !== undefined,
      conflict
        ? `conflict recorded: PC 2 (${PC2}) was refused, the rule is held by ${conflict.holder ?? 'nobody named'}`
        : 'no conflict was recorded for PC 2',
    );
    this.#check(
      entry?.holder === PC1,
      entry?.holder === PC1
        ? `PC 1 keeps the rule (PC 2's traffic does not refresh it: ${secondsLeft(table, entry)} left)`
        : `the rule is no longer held by PC 1 (holder: ${entry?.holder ?? 'none'})`,
    );

    this.#step(`Nobody uses IRC DCC for ${this.idleTimeout} s: the entry expires and the open port closes`);
    const deadline = this.#lastTraffic + (this.idleTimeout + 5) * 1000;
    let left = entryOf(table, rule);
    while (left && Date.now() < deadline) {
      this.#checkAborted();
      await delay(250);
      table = await this.#table();
      left = entryOf(table, rule);
    }
    this.#check(
      left === undefined,
      left === undefined
        ? `the entry closed ${((Date.now() - this.#lastTraffic) / 1000).toFixed(1)} s after PC 1's last IRC DCC traffic (idle timeout ${this.idleTimeout} s)`
        : `the entry was still there ${this.idleTimeout + 5} s after PC 1's last IRC DCC traffic`,
    );
    this.report({ kind: 'table', table });
    // The conflict keeps the holder of its moment, whatever happened to the entry since.
    const kept = table.conflicts.find((c) => c.rule === rule && c.contender === PC2);
    this.#check(
      kept?.holder === PC1,
      kept?.holder === PC1
        ? `the conflict still names its holder after the entry closed: PC 2 (${PC2}) was refused while PC 1 (${PC1}) held the rule`
        : `the conflict no longer names PC 1 as its holder (${kept ? `holder: ${kept.holder ?? 'none'}` : 'the conflict is gone'})`,
    );
    result = await this.#inbound();
    this.#check(
      result.reached === null,
      result.reached === null
        ? `Server 1's new connection to ${GATEWAY} ${tcpOpen} reaches nobody${result.error ? ` (${result.error} by the gateway itself)` : ''}`
        : `Server 1's new connection still reached ${result.reached}`,
    );

    this.#step(`PC 2 (${PC2}) joins IRC again and now gets the rule`);
    await this.#trigger('lan2', 'PC 2');
    table = await this.#showTable();
    entry = entryOf(table, rule, PC2);
    this.#check(
      entry !== undefined,
      entry
        ? `the trigger table shows "${rule}" held by PC 2 (${PC2})`
        : `the trigger table shows no entry of "${rule}" for PC 2`,
    );
    result = await this.#inbound();
    this.#check(
      result.reached === 'lan2',
      result.reached === 'lan2'
        ? `Server 1's connection to ${tcpOpen} reaches PC 2 (${PC2}) and only PC 2`
        : `Server 1's connection did not reach PC 2 alone (reached: ${result.reached ?? 'nobody'}${result.error ? `, ${result.error}` : ''})`,
    );
  }
}

/**
 * Builds the virtual network, starts the service on its router and plays the scenario. On any failure or abort
 * it removes everything it made before rejecting; on success the caller closes the lab.
 * @example const lab = await startLab({ startService, run: runProgram }); console.log(lab.ok); await lab.close();
 */
export async function startLab(options: LabOptions): Promise<RunningLab> {
  const report = options.onProgress ?? (() => undefined);
  const idleTimeout = options.idleTimeout ?? 5;
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async () => {
    const errors: unknown[] = [];
    // Reverse order: the service before its namespace, the namespace before the directory.
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((e) => errors.push(e));
    if (errors.length > 0) {
      throw new PorttriggerError(
        'LAB_FAILED',
        `cleaning up the lab failed: ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`,
      );
    }
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), 'porttrigger-lab-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    report({
      kind: 'info',
      text: 'Building a virtual home network: a router, PC 1 and PC 2 on the LAN, Server 1 and Server 2 on the internet',
    });
    const net = await createVirtualNetwork({ prefix: options.prefix ?? 'ptlab', run: options.run });
    cleanups.push(() => net.destroy());
    const namespaces = Object.values(net.namespaces);
    report({ kind: 'info', text: `namespaces: ${namespaces.join(', ')}` });

    const port = await findFreePort(options.preferredPort ?? 8080);
    const listen = `127.0.0.1:${port}`;
    const tokenFile = join(dir, 'api-token');
    const configPath = join(dir, 'config.yaml');
    await writeFile(
      configPath,
      labConfigText({ idleTimeout, listen, tokenFile, database: join(dir, 'events.db') }),
      { mode: 0o600 },
    );
    options.signal?.throwIfAborted();
    report({
      kind: 'info',
      text: `Starting porttrigger on the router (standalone mode, rules ${LAB_PRESETS.map((id) => `"${findPreset(id)!.name}"`).join(', ')}, idle timeout ${idleTimeout} s)`,
    });
    const service = await options.startService({
      configPath,
      netns: net.namespaces.router,
      listen,
      tokenFile,
    });
    cleanups.push(() => service.stop());
    report({ kind: 'info', text: `API listening on ${service.apiUrl}` });

    const lab = new Lab(net, service, findPreset(LAB_PRESETS[0])!.name, idleTimeout, report, options.signal);
    if (options.scenario === 'learning') await lab.playLearning();
    else await lab.play();
    return {
      ok: lab.steps.every((s) => s.checks.length > 0 && s.checks.every((c) => c.ok)),
      steps: lab.steps,
      apiUrl: service.apiUrl,
      tokenFile,
      configPath,
      namespaces,
      routerNamespace: net.namespaces.router,
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    if (options.signal?.aborted && !(error instanceof PorttriggerError && error.code === 'ABORTED')) {
      throw new PorttriggerError('ABORTED', 'the lab was interrupted', { cause: error });
    }
    throw error;
  }
}
