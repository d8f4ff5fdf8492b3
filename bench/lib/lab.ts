import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runProgram } from '../../src/adapters/exec.js';
import {
  createVirtualNetwork,
  type HostName,
  LAB_ADDRESSES,
  type NodeName,
  type VirtualNetwork,
} from '../../src/lab/virtual-network.js';
import type { BenchContext } from './context.js';

/** The repository root, from the compiled location dist/bench-build/bench/lib/. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Ports of the measured flows (see bench/README in RESULTS.md: method). */
export const PORTS = {
  /** The measured rule's trigger port (LAN→WAN flows go to it, so every packet is a trigger). */
  trigger: 6000,
  /** The measured rule's open port, also the static DNAT port of the baseline. */
  open: 7000,
  /** Source port of the WAN→LAN generator flow. */
  wanFlowSource: 40000,
  /** Source port of the LAN→WAN generator flow. */
  lanFlowSource: 40001,
} as const;

/** The CPU the traffic generators and iperf3 run on; the router's packet work is steered to the other one. */
export const GENERATOR_CPU = 0;
/** The CPU that does the router's packet processing (RPS on the router's ports). */
export const ROUTER_CPU = 1;

/** A virtual network prepared for measurements: static neighbours, optional RPS, packet sinks. */
export interface BenchNetwork {
  readonly net: VirtualNetwork;
  readonly name: string;
  readonly macs: Readonly<Record<HostName | 'brLan' | 'wan0', string>>;
  /** Packets counted by a sink counter of a host (`flow` or `reply`). */
  sinkPackets(host: 'lan1' | 'wan1', counter: 'flow' | 'reply'): Promise<number>;
  destroy(): Promise<void>;
}

interface LinkJson {
  readonly ifname: string;
  readonly address?: string;
}

async function macOf(net: VirtualNetwork, node: NodeName, ifname: string): Promise<string> {
  const { stdout } = await net.exec(node, 'ip', ['-j', 'link', 'show', 'dev', ifname]);
  const mac = (JSON.parse(stdout) as LinkJson[])[0]?.address;
  if (!mac) throw new Error(`${node} ${ifname} has no MAC address`);
  return mac;
}

function sinkScript(host: 'lan1' | 'wan1'): string {
  const [flow, reply] =
    host === 'lan1' ? [PORTS.open, PORTS.lanFlowSource] : [PORTS.trigger, PORTS.wanFlowSource];
  return `table netdev bench_sink {
  counter bench_flow { }
  counter bench_reply { }
  chain ingress {
    type filter hook ingress device "eth0" priority 0; policy accept;
    udp dport ${flow} counter name "bench_flow" drop
    udp dport ${reply} counter name "bench_reply" drop
  }
}
`;
}

/**
 * Builds a virtual network (src/lab/virtual-network.ts) and prepares it for measuring the router: static ARP
 * and bridge entries (no flooding, no resolution during a run), RPS that moves the router's packet work to
 * {@link ROUTER_CPU}, and netdev-ingress sinks on lan1 and wan1 that count and drop the generated UDP.
 */
export async function createBenchNetwork(
  ctx: BenchContext,
  name: string,
  options: { rps: boolean; sinks: boolean },
): Promise<BenchNetwork> {
  const net = await createVirtualNetwork({ prefix: 'ptb', run: runProgram });
  const destroy = ctx.defer(`network ${name}`, () => net.destroy());
  try {
    const [lan1, lan2, wan1, wan2, brLan, wan0] = await Promise.all([
      macOf(net, 'lan1', 'eth0'),
      macOf(net, 'lan2', 'eth0'),
      macOf(net, 'wan1', 'eth0'),
      macOf(net, 'wan2', 'eth0'),
      macOf(net, 'router', 'br-lan'),
      macOf(net, 'router', 'wan0'),
    ]);
    const macs = { lan1, lan2, wan1, wan2, brLan, wan0 };
    const A = LAB_ADDRESSES;
    const routerBatch: string[] = [];
    for (const host of ['lan1', 'lan2', 'wan1', 'wan2'] as const) {
      const side = host.startsWith('lan') ? 'br-lan' : 'wan0';
      routerBatch.push(`neigh replace ${A.hosts[host].ipv4} lladdr ${macs[host]} dev ${side} nud permanent`);
    }
    await net.exec('router', 'ip', ['-batch', '-'], { input: `${routerBatch.join('\n')}\n` });
    await net.exec('router', 'bridge', ['-batch', '-'], {
      input: `${(['lan1', 'lan2', 'wan1', 'wan2'] as const)
        .map((h) => `fdb replace ${macs[h]} dev veth-${h} master static`)
        .join('\n')}\n`,
    });
    for (const host of ['lan1', 'lan2', 'wan1', 'wan2'] as const) {
      const [gw, mac] = host.startsWith('lan') ? [A.router.lan.ipv4, brLan] : [A.router.wan.ipv4, wan0];
      await net.exec(host, 'ip', ['neigh', 'replace', gw, 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent']);
    }
    if (options.rps) {
      const { stdout } = await net.exec('router', 'ls', ['/sys/class/net']);
      const ports = stdout.split(/\s+/).filter((n) => n.startsWith('veth-'));
      for (const port of ports) {
        const { stdout: queues } = await net.exec('router', 'ls', [`/sys/class/net/${port}/queues`]);
        for (const q of queues.split(/\s+/).filter((x) => x.startsWith('rx-'))) {
          await net.exec('router', 'tee', [`/sys/class/net/${port}/queues/${q}/rps_cpus`], {
            input: `${(1 << ROUTER_CPU).toString(16)}\n`,
          });
        }
      }
    }
    if (options.sinks) {
      await net.exec('lan1', 'nft', ['-f', '-'], { input: sinkScript('lan1') });
      await net.exec('wan1', 'nft', ['-f', '-'], { input: sinkScript('wan1') });
    }
    return {
      net,
      name,
      macs,
      async sinkPackets(host, counter) {
        const { stdout } = await net.exec(host, 'nft', [
          '-j',
          'list',
          'counter',
          'netdev',
          'bench_sink',
          `bench_${counter}`,
        ]);
        const doc = JSON.parse(stdout) as { nftables: { counter?: { packets: number } }[] };
        const found = doc.nftables.find((o) => o.counter)?.counter;
        if (!found) throw new Error(`no counter ${counter} on ${host}`);
        return found.packets;
      },
      destroy,
    };
  } catch (error) {
    await destroy();
    throw error;
  }
}

/** Where the compiled traffic generator lives, and its source. */
const PKTGEN_SOURCE = `${REPO_ROOT}bench/gen/pktgen.c`;
const PKTGEN_BINARY = `${REPO_ROOT}dist/bench-build/pktgen`;

/** Compiles the UDP frame generator (bench/gen/pktgen.c) when it is missing or older than its source. */
export async function buildPktgen(): Promise<string> {
  if (!existsSync(PKTGEN_BINARY) || statSync(PKTGEN_BINARY).mtimeMs < statSync(PKTGEN_SOURCE).mtimeMs) {
    await runProgram('cc', ['-O2', '-Wall', '-o', PKTGEN_BINARY, PKTGEN_SOURCE], { timeoutMs: 60_000 });
  }
  return PKTGEN_BINARY;
}

/** One generator run: frames handed to the kernel and how long it took. */
export interface PktgenRun {
  readonly sent: number;
  readonly seconds: number;
  readonly errors: number;
}

/** A UDP flow as the generator sends it: from a host, through the router, with fixed ports. */
export interface Flow {
  readonly from: HostName;
  readonly srcMac: string;
  readonly dstMac: string;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
}

/**
 * Sends 60-byte frames (64 on the wire with the FCS) of one UDP flow from a host, pinned to the generator CPU,
 * until `maxPackets` or `maxSeconds`, whichever comes first.
 */
export async function runPktgen(
  bin: string,
  net: VirtualNetwork,
  flow: Flow,
  maxPackets: number,
  maxSeconds: number,
): Promise<PktgenRun> {
  const args = [
    '-c',
    String(GENERATOR_CPU),
    bin,
    'eth0',
    flow.srcMac,
    flow.dstMac,
    flow.src,
    flow.dst,
    String(flow.sport),
    String(flow.dport),
    '60',
    String(Math.round(maxPackets)),
    String(maxSeconds),
  ];
  const { stdout } = await net.exec(flow.from, 'taskset', args, { timeoutMs: (maxSeconds + 10) * 1000 });
  return JSON.parse(stdout) as PktgenRun;
}
