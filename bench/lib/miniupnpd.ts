import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { LAB_ADDRESSES } from '../../src/lab/virtual-network.js';
import type { BenchContext } from './context.js';
import type { BenchNetwork } from './lab.js';

/** Where upnpc finds miniupnpd (SSDP discovery is skipped: `-u` names the description URL). */
export const IGD_URL = `http://${LAB_ADDRESSES.router.lan.ipv4}:5000/rootDesc.xml`;

/**
 * The public address miniupnpd is told to report. miniupnpd 2.3 disables port forwarding when the WAN address
 * is reserved, and the lab's 203.0.113.1 is (TEST-NET-3). This address only appears in miniupnpd's answers: no
 * packet is ever sent to it; inbound traffic goes to 203.0.113.1, which miniupnpd's rules (input interface and
 * port, no destination address) accept.
 */
export const MINIUPNPD_EXT_IP = '11.22.33.44';

const LAN1 = LAB_ADDRESSES.hosts.lan1.ipv4;

/**
 * The ruleset miniupnpd-nftables expects (its nft_init.sh with the default table and chain names) plus the
 * masquerade every gateway has: forward policy drop, established first, LAN out, then miniupnpd's chain.
 */
export function miniupnpdInitScript(): string {
  return `table inet filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "br-lan" accept
    jump miniupnpd
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname "wan0" meta nfproto ipv4 masquerade
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
}
`;
}

/** A running miniupnpd in a bench network's router. */
export interface Miniupnpd {
  /** Number of port mappings miniupnpd has installed (rules in its DNAT chain). */
  mappings(): Promise<number>;
  /** The external ports of those mappings. */
  mappedPorts(): Promise<Set<number>>;
  stop(): Promise<void>;
}

/** Starts miniupnpd (foreground, its own pid file) in the router namespace and waits for its HTTP port. */
export async function startMiniupnpd(ctx: BenchContext, bn: BenchNetwork): Promise<Miniupnpd> {
  const { net } = bn;
  await net.exec('router', 'nft', ['-f', '-'], { input: miniupnpdInitScript() });
  const conf = join(ctx.scratch, `miniupnpd-${bn.name}.conf`);
  writeFileSync(
    conf,
    [
      'ext_ifname=wan0',
      `ext_ip=${MINIUPNPD_EXT_IP}`,
      'listening_ip=br-lan',
      'http_port=5000',
      'enable_upnp=yes',
      'enable_natpmp=yes',
      'secure_mode=yes',
      'system_uptime=yes',
      'notify_interval=600',
      'clean_ruleset_interval=0',
      'uuid=8a6e1b2c-0d4f-4c7e-9a3b-5f1e2d3c4b5a',
      'allow 1024-65535 192.168.1.0/24 1024-65535',
      'deny 0-65535 0.0.0.0/0 0-65535',
      '',
    ].join('\n'),
  );
  const pidFile = join(ctx.scratch, `miniupnpd-${bn.name}.pid`);
  const child = spawn(
    'ip',
    ['netns', 'exec', net.namespaces.router, 'miniupnpd', '-f', conf, '-d', '-P', pidFile],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    stderr = (stderr + s).slice(-4000);
  });
  const stop = ctx.track(child, `miniupnpd in ${bn.name}`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { stdout } = await net.exec('router', 'ss', ['-Hltn', 'sport = :5000']);
    if (stdout.trim()) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`miniupnpd did not start: ${stderr.trim().split('\n').slice(-3).join(' / ')}`);
    }
    await delay(50);
  }
  const dnatRules = async () => {
    const chain = ['list', 'chain', 'inet', 'filter', 'prerouting_miniupnpd'];
    const { stdout } = await net.exec('router', 'nft', chain);
    return stdout.split('\n').filter((l) => l.includes(' dnat '));
  };
  return {
    async mappings() {
      return (await dnatRules()).length;
    },
    async mappedPorts() {
      return new Set((await dnatRules()).map((l) => Number(/th dport (\d+)/.exec(l)?.[1] ?? Number.NaN)));
    },
    stop,
  };
}

/** Adds one mapping of lan1's port through upnpc run in lan1 (the full client: description, then SOAP). */
export async function upnpcAdd(bn: BenchNetwork, port: number, protocol: 'UDP' | 'TCP'): Promise<void> {
  const { stdout } = await bn.net.exec(
    'lan1',
    'upnpc',
    ['-u', IGD_URL, '-e', 'bench', '-a', LAN1, String(port), String(port), protocol],
    { timeoutMs: 20_000 },
  );
  if (!/is redirected to internal/.test(stdout)) {
    throw new Error(`upnpc could not add ${protocol} ${port}: ${stdout.trim().split('\n').slice(-1)[0]}`);
  }
}

/**
 * Adds UDP mappings for `ports` with `upnpc -r` (a few ports per call) until all are added or `budgetS` has
 * passed; resolves with how many mappings miniupnpd gained. A call cut short by the budget still counts what
 * it added.
 */
export async function upnpcAddMany(
  bn: BenchNetwork,
  daemon: Miniupnpd,
  ports: readonly number[],
  budgetS: number,
): Promise<number> {
  const deadline = Date.now() + budgetS * 1000;
  const before = await daemon.mappings();
  for (let i = 0; i < ports.length && Date.now() < deadline; i += 10) {
    const chunk = ports.slice(i, i + 10).flatMap((p) => [String(p), 'UDP']);
    try {
      await bn.net.exec('lan1', 'upnpc', ['-u', IGD_URL, '-e', 'bench', '-r', ...chunk], {
        timeoutMs: Math.max(5000, deadline - Date.now() + 5000),
      });
    } catch {
      break;
    }
  }
  return (await daemon.mappings()) - before;
}

/**
 * Installs UDP mappings with nft in the form miniupnpd 2.3 writes them (a DNAT rule in prerouting_miniupnpd and
 * an accept rule in miniupnpd, one pair per mapping): the kernel then holds what miniupnpd would hold with that
 * many mappings, without waiting for its per-mapping cost. The DNAT rule carries one extra `meta l4proto udp`
 * that nft's parser demands before a port mapping (miniupnpd writes through libnftnl and has no such check);
 * NAT rules only see the first packet of a connection.
 */
export async function seedMappingRules(bn: BenchNetwork, ports: readonly number[]): Promise<void> {
  const hex = `0x${LAN1.split('.')
    .map((x) => Number(x).toString(16).padStart(2, '0'))
    .join('')}`;
  const lines: string[] = [];
  for (const p of ports) {
    lines.push(
      `add rule inet filter prerouting_miniupnpd iif "wan0" @nh,72,8 0x11 meta l4proto udp th dport ${p} dnat ip to ${LAN1}:${p}`,
    );
    lines.push(
      `add rule inet filter miniupnpd iif "wan0" th dport ${p} @nh,128,32 ${hex} @nh,72,8 0x11 accept`,
    );
  }
  await bn.net.exec('router', 'nft', ['-f', '-'], { input: `${lines.join('\n')}\n`, timeoutMs: 300_000 });
}
