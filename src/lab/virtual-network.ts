import { existsSync, readdirSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { PorttriggerError } from '../domain/errors.js';
import type { ExecOptions, ExecResult, ProgramRunner } from '../domain/programs.js';
import { ProbeClient } from './probe-client.js';

/** A host of the virtual network (not the router). */
export type HostName = 'lan1' | 'lan2' | 'wan1' | 'wan2';

/** A namespace of the virtual network: the router or one of its hosts. */
export type NodeName = 'router' | HostName;

/** The addresses of one host: one IPv4 and one IPv6 address on its `eth0`. */
export interface HostAddresses {
  readonly ipv4: string;
  readonly ipv6: string;
}

/** The fixed addresses of every virtual network (namespaces isolate them, so every instance shares them). */
export const LAB_ADDRESSES = {
  router: {
    lan: { interface: 'br-lan', ipv4: '192.168.1.1', ipv4Prefix: 24, ipv6: '2001:db8:1::1', ipv6Prefix: 64 },
    wan: { interface: 'wan0', ipv4: '203.0.113.1', ipv4Prefix: 24, ipv6: '2001:db8:ff::1', ipv6Prefix: 64 },
  },
  lanPrefixes: { ipv4: '192.168.1.0/24', ipv6: '2001:db8:1::/64' },
  wanPrefixes: { ipv4: '203.0.113.0/24', ipv6: '2001:db8:ff::/64' },
  hosts: {
    lan1: { ipv4: '192.168.1.10', ipv6: '2001:db8:1::10' },
    lan2: { ipv4: '192.168.1.20', ipv6: '2001:db8:1::20' },
    wan1: { ipv4: '203.0.113.10', ipv6: '2001:db8:ff::10' },
    wan2: { ipv4: '203.0.113.20', ipv6: '2001:db8:ff::20' },
  } satisfies Record<HostName, HostAddresses>,
} as const;

/** Every host name, LAN side first. */
export const HOST_NAMES: readonly HostName[] = ['lan1', 'lan2', 'wan1', 'wan2'];

/** Every namespace role of a virtual network. */
export const NODE_NAMES: readonly NodeName[] = ['router', ...HOST_NAMES];

/** Options for {@link createVirtualNetwork}. */
export interface VirtualNetworkOptions {
  /** First part of every namespace name (default `pt`). */
  readonly prefix?: string;
  /** Runs `ip` and `sysctl` (the composition root or a test hands in `runProgram`). */
  readonly run: ProgramRunner;
}

/** Options for {@link VirtualNetwork.exec}: those of the process runner except the namespace. */
export type NetworkExecOptions = Omit<ExecOptions, 'netns'>;

/** A virtual home network: a router namespace between two LAN hosts and two WAN hosts. */
export interface VirtualNetwork {
  /** The namespace name of the router and of each host. */
  readonly namespaces: Readonly<Record<NodeName, string>>;
  /** Runs a program inside the namespace of `node`. */
  exec(
    node: NodeName,
    program: string,
    args: readonly string[],
    options?: NetworkExecOptions,
  ): Promise<ExecResult>;
  /** The traffic probe of `node`; its agent starts on first use and stops with {@link VirtualNetwork.destroy}. */
  host(node: NodeName): ProbeClient;
  /** Stops every probe and deletes every namespace (and so every link); safe to call more than once. */
  destroy(): Promise<void>;
}

const NETNS_DIR = '/run/netns';
const DEFAULT_PREFIX = 'pt';
const PREFIX_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.]{0,23}$/;
const SETTLE_TIMEOUT_MS = 5_000;

// Kept on globalThis so a test runner that re-imports modules in one process never reuses a number.
const counterKey = Symbol.for('porttrigger.virtualNetworkCounter');
const counterHolder = globalThis as { [counterKey]?: number };

// Router side of each veth pair; every host side is `eth0` with ifindex 2. Fixed, distinct ifindexes matter: a
// veth whose peer has the same ifindex (easy across namespaces) gets its carrier changes through the kernel's
// rate-limited link watcher, up to a second late, and its bridge port stays disabled meanwhile.
const ROUTER_PORTS: Readonly<Record<HostName, { port: string; index: number; bridge: string }>> = {
  lan1: { port: 'veth-lan1', index: 11, bridge: 'br-lan' },
  lan2: { port: 'veth-lan2', index: 12, bridge: 'br-lan' },
  wan1: { port: 'veth-wan1', index: 13, bridge: 'wan0' },
  wan2: { port: 'veth-wan2', index: 14, bridge: 'wan0' },
};
const HOST_INDEX = 2;
const BRIDGE_INDEXES: Readonly<Record<string, number>> = { 'br-lan': 21, wan0: 22 };

/**
 * Builds a fresh virtual network in five new namespaces, removing stale ones of dead processes first.
 * @example const net = await createVirtualNetwork({ run: runProgram }); await net.host('lan1').sendUdp({ to: '203.0.113.10', port: 9, token: 'x' });
 */
export async function createVirtualNetwork(options: VirtualNetworkOptions): Promise<VirtualNetwork> {
  const { run } = options;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  checkPrefix(prefix);
  await removeStaleNamespaces(run, prefix);
  const namespaces = namespaceNames(allocateBase(prefix));
  let step = 'create namespaces';
  try {
    await runIpBatch(
      run,
      NODE_NAMES.map((node) => `netns add ${namespaces[node]}`),
      [],
    );
    step = 'create links';
    await Promise.all([
      runIpBatch(run, vethCommands(namespaces), []),
      runIpBatch(run, bridgeCommands(), ['-n', namespaces.router]),
    ]);
    step = 'configure namespaces';
    await Promise.all(NODE_NAMES.map((node) => configureNode(run, node, namespaces[node])));
    step = 'wait for links and addresses';
    await waitForSettled(run, namespaces);
  } catch (error) {
    // All five names: a failed batch may have added some of them; deleting a missing one is a no-op.
    await deleteNamespaces(run, Object.values(namespaces)).catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new PorttriggerError('NETNS_FAILED', `virtual network: ${step} failed: ${reason}`, {
      cause: error,
    });
  }
  return new Network(namespaces, run);
}

/** Deletes namespaces named `${prefix}-PID-N-ROLE` whose PID is no longer a running process. */
export async function removeStaleNamespaces(
  run: ProgramRunner,
  prefix: string = DEFAULT_PREFIX,
): Promise<string[]> {
  checkPrefix(prefix);
  const pattern = new RegExp(`^${escapeRegExp(prefix)}-(\\d+)-\\d+-(?:${NODE_NAMES.join('|')})$`);
  const stale = listNamespaces().filter((name) => {
    const pid = pattern.exec(name)?.[1];
    return pid !== undefined && Number(pid) !== process.pid && !existsSync(`/proc/${pid}`);
  });
  await deleteNamespaces(run, stale);
  return stale;
}

class Network implements VirtualNetwork {
  readonly #probes = new Map<NodeName, ProbeClient>();
  #destroyed: Promise<void> | undefined;

  readonly #run: ProgramRunner;

  constructor(
    readonly namespaces: Readonly<Record<NodeName, string>>,
    run: ProgramRunner,
  ) {
    this.#run = run;
  }

  exec(node: NodeName, program: string, args: readonly string[], options: NetworkExecOptions = {}) {
    return this.#run(program, args, { ...options, netns: this.namespaces[node] });
  }

  host(node: NodeName): ProbeClient {
    if (this.#destroyed) {
      throw new PorttriggerError('NETNS_FAILED', `virtual network ${this.namespaces.router} is destroyed`);
    }
    let probe = this.#probes.get(node);
    if (!probe) {
      probe = new ProbeClient(this.namespaces[node]);
      this.#probes.set(node, probe);
    }
    return probe;
  }

  destroy(): Promise<void> {
    this.#destroyed ??= this.#teardown();
    return this.#destroyed;
  }

  async #teardown(): Promise<void> {
    // Agents first: a process inside a namespace keeps it alive after its name is deleted.
    await Promise.all([...this.#probes.values()].map((probe) => probe.stop()));
    await deleteNamespaces(this.#run, Object.values(this.namespaces));
  }
}

function checkPrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new PorttriggerError(
      'INVALID_INPUT',
      `namespace prefix must be letters, digits, '_' or '.', at most 24 characters: ${JSON.stringify(prefix)}`,
    );
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function listNamespaces(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

/** Picks `${prefix}-${pid}-${n}` with an `n` no namespace of this process uses yet. */
function allocateBase(prefix: string): string {
  const existing = listNamespaces();
  for (;;) {
    const counter = counterHolder[counterKey] ?? 0;
    counterHolder[counterKey] = counter + 1;
    const base = `${prefix}-${process.pid}-${counter}`;
    if (!existing.some((name) => name.startsWith(`${base}-`))) return base;
  }
}

function namespaceNames(base: string): Record<NodeName, string> {
  return {
    router: `${base}-router`,
    lan1: `${base}-lan1`,
    lan2: `${base}-lan2`,
    wan1: `${base}-wan1`,
    wan2: `${base}-wan2`,
  };
}

async function runIpBatch(
  run: ProgramRunner,
  commands: readonly string[],
  options: readonly string[],
): Promise<void> {
  await run('ip', [...options, '-batch', '-'], {
    input: `${commands.join('\n')}\n`,
    timeoutMs: 10_000,
  });
}

function vethCommands(namespaces: Readonly<Record<NodeName, string>>): string[] {
  return HOST_NAMES.map(
    (host) =>
      `link add eth0 index ${HOST_INDEX} netns ${namespaces[host]} type veth ` +
      `peer name ${ROUTER_PORTS[host].port} index ${ROUTER_PORTS[host].index} netns ${namespaces.router}`,
  );
}

function bridgeCommands(): string[] {
  return [LAB_ADDRESSES.router.lan.interface, LAB_ADDRESSES.router.wan.interface].map(
    (bridge) => `link add ${bridge} index ${BRIDGE_INDEXES[bridge]} type bridge stp_state 0 forward_delay 0`,
  );
}

async function configureNode(run: ProgramRunner, node: NodeName, netns: string): Promise<void> {
  // Sysctls before any link goes up: DAD and autoconfiguration start at link up.
  await run('sysctl', ['-q', '-e', '-w', ...sysctlSettings(node)], { netns, timeoutMs: 10_000 });
  await runIpBatch(run, node === 'router' ? routerCommands() : hostCommands(node), ['-n', netns]);
}

function sysctlSettings(node: NodeName): string[] {
  const interfaces =
    node === 'router' ? [LAB_ADDRESSES.router.lan.interface, LAB_ADDRESSES.router.wan.interface] : ['eth0'];
  const settings = ['all', 'default', ...interfaces].flatMap((name) => [
    `net.ipv6.conf.${name}.accept_dad=0`,
    `net.ipv6.conf.${name}.accept_ra=0`,
  ]);
  if (node !== 'router') return settings;
  return [
    ...settings,
    'net.ipv4.ip_forward=1',
    'net.ipv6.conf.all.forwarding=1',
    // Bridge ports are layer 2 only.
    ...HOST_NAMES.map((host) => `net.ipv6.conf.${ROUTER_PORTS[host].port}.disable_ipv6=1`),
    // With br_netfilter loaded, bridged LAN-to-LAN frames would otherwise cross the ip/inet forward hooks.
    'net.bridge.bridge-nf-call-iptables=0',
    'net.bridge.bridge-nf-call-ip6tables=0',
    'net.bridge.bridge-nf-call-arptables=0',
  ];
}

function routerCommands(): string[] {
  const { lan, wan } = LAB_ADDRESSES.router;
  return [
    'link set lo up',
    ...HOST_NAMES.map((host) => `link set ${ROUTER_PORTS[host].port} master ${ROUTER_PORTS[host].bridge} up`),
    ...[lan, wan].flatMap((side) => [
      `link set ${side.interface} up`,
      `addr add ${side.ipv4}/${side.ipv4Prefix} dev ${side.interface}`,
      `addr add ${side.ipv6}/${side.ipv6Prefix} dev ${side.interface} nodad`,
    ]),
  ];
}

function hostCommands(host: HostName): string[] {
  const { ipv4, ipv6 } = LAB_ADDRESSES.hosts[host];
  const { lan, wan } = LAB_ADDRESSES.router;
  const commands = [
    'link set lo up',
    'link set eth0 up',
    `addr add ${ipv4}/24 dev eth0`,
    `addr add ${ipv6}/64 dev eth0 nodad`,
  ];
  if (host.startsWith('lan')) {
    return [...commands, `route add default via ${lan.ipv4}`, `route add ::/0 via ${lan.ipv6} dev eth0`];
  }
  // Like the internet: no IPv4 route to the LAN (only NAT reaches it), but IPv6 is routed without NAT.
  return [...commands, `route add ${LAB_ADDRESSES.lanPrefixes.ipv6} via ${wan.ipv6} dev eth0`];
}

interface LinkState {
  readonly ifname: string;
  readonly operstate?: string;
  readonly linkinfo?: { readonly info_slave_data?: { readonly state?: string } };
  readonly addr_info?: readonly { readonly tentative?: boolean; readonly dadfailed?: boolean }[];
}

/** What keeps a namespace from carrying traffic yet (a link not up, a bridge port not forwarding, an address in DAD). */
async function describeUnsettled(run: ProgramRunner, netns: string): Promise<string[]> {
  const { stdout } = await run('ip', ['-n', netns, '-j', '-d', 'addr', 'show'], { timeoutMs: 10_000 });
  return (JSON.parse(stdout) as LinkState[]).flatMap((link) => {
    if (link.ifname === 'lo') return [];
    const portState = link.linkinfo?.info_slave_data?.state;
    const problems: string[] = [];
    if (link.operstate !== 'UP') problems.push(`${link.ifname} is ${link.operstate ?? 'unknown'}`);
    if (portState !== undefined && portState !== 'forwarding')
      problems.push(`${link.ifname} is ${portState}`);
    if (link.addr_info?.some((address) => address.tentative || address.dadfailed)) {
      problems.push(`${link.ifname} has tentative addresses`);
    }
    return problems.map((problem) => `${netns}: ${problem}`);
  });
}

async function waitForSettled(
  run: ProgramRunner,
  namespaces: Readonly<Record<NodeName, string>>,
): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  let pending = [...NODE_NAMES];
  for (;;) {
    const states = await Promise.all(
      pending.map(async (node) => ({ node, problems: await describeUnsettled(run, namespaces[node]) })),
    );
    pending = states.filter((state) => state.problems.length > 0).map((state) => state.node);
    if (pending.length === 0) return;
    if (Date.now() > deadline) throw new Error(states.flatMap((state) => state.problems).join(', '));
    await delay(10);
  }
}

async function deleteNamespaces(run: ProgramRunner, names: readonly string[]): Promise<void> {
  const failures: string[] = [];
  await Promise.all(
    names.map(async (name) => {
      try {
        await run('ip', ['netns', 'delete', name], { timeoutMs: 10_000 });
      } catch (error) {
        // Already gone (another process or an earlier destroy) is what we wanted.
        if (existsSync(`${NETNS_DIR}/${name}`)) failures.push(`${name}: ${(error as Error).message}`);
      }
    }),
  );
  if (failures.length > 0) {
    throw new PorttriggerError('NETNS_FAILED', `could not delete namespaces: ${failures.join('; ')}`);
  }
}
