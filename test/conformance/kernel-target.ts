import { setTimeout as delay } from 'node:timers/promises';
import type { Config } from '../../src/core/types.js';
import { KernelDatapath } from '../../src/system/kernel-datapath.js';
import { createNftRunner } from '../../src/system/nft.js';
import { createVirtualNetwork, LAB_ADDRESSES } from '../../src/system/virtual-network.js';
import type { Flow, LanHost, ScenarioTarget } from './target.js';

const A = LAB_ADDRESSES;
const LAN_HOSTS: readonly LanHost[] = ['lan1', 'lan2'];
// Packets between namespaces take microseconds; this is how long "not delivered" is waited for.
const SILENCE_MS = 600;

let tokens = 0;
const nextToken = () => `t${process.pid}-${++tokens}`;

/** The nftables datapath in a real virtual network: real packets, real time. */
export async function createKernelTarget(): Promise<ScenarioTarget> {
  const net = await createVirtualNetwork({ prefix: 'ptc' });
  const nft = createNftRunner({ netns: net.namespaces.router });
  const datapath = new KernelDatapath({ nft });
  const listening = new Set<string>();
  const fam = (flow: Flow) => flow.family ?? 'ipv4';

  async function listenAll(flow: Flow): Promise<void> {
    const key = `${flow.protocol}/${flow.port}`;
    if (listening.has(key)) return;
    await Promise.all(LAN_HOSTS.map((h) => net.host(h).listen(flow.protocol, flow.port)));
    listening.add(key);
  }

  async function whoGot(token: string): Promise<LanHost | null> {
    const got = await Promise.all(LAN_HOSTS.map((h) => net.host(h).waitFor(token, SILENCE_MS)));
    const hits = LAN_HOSTS.filter((_, i) => got[i] && got[i]!.token === token);
    if (hits.length > 1) throw new Error(`token ${token} reached both LAN hosts`);
    return hits[0] ?? null;
  }

  function destination(flow: Flow, to: LanHost | undefined): string {
    return fam(flow) === 'ipv4' ? A.router.wan.ipv4 : A.hosts[to ?? 'lan1'].ipv6;
  }

  async function sendTo(from: 'wan1' | 'wan2', flow: Flow, dest: string): Promise<void> {
    if (flow.protocol === 'udp') {
      await net.host(from).sendUdp({ to: dest, port: flow.port, token: nextToken() });
    } else {
      const r = await net.host(from).connectTcp({ to: dest, port: flow.port, timeoutMs: 300 });
      if (r.ok) await net.host(from).closeTcp(r.conn);
    }
  }

  async function sendFromLan(from: LanHost, flow: Flow, dest: string): Promise<void> {
    if (flow.protocol === 'udp') {
      await net.host(from).sendUdp({ to: dest, port: flow.port, token: nextToken() });
    } else {
      // A connection attempt is enough: the SYN passes the gateway whether or not the remote answers.
      const r = await net.host(from).connectTcp({ to: dest, port: flow.port, timeoutMs: 300 });
      if (r.ok) await net.host(from).closeTcp(r.conn);
    }
  }

  return {
    name: 'kernel',
    apply: (config: Config) => datapath.apply(config),
    trigger: (from, to, flow) => sendFromLan(from, flow, A.hosts[to][fam(flow)]),
    triggerFromWan: (from, flow) => sendTo(from, flow, A.router.wan[fam(flow)]),
    async inbound(from, flow, to) {
      await listenAll(flow);
      const token = nextToken();
      if (flow.protocol === 'udp') {
        await net.host(from).sendUdp({ to: destination(flow, to), port: flow.port, token });
        return whoGot(token);
      }
      const r = await net
        .host(from)
        .connectTcp({ to: destination(flow, to), port: flow.port, timeoutMs: 1000 });
      if (!r.ok) return null;
      await net.host(from).writeTcp(r.conn, token);
      const who = await whoGot(token);
      await net.host(from).closeTcp(r.conn);
      return who;
    },
    async connect(from, flow, to) {
      await listenAll(flow);
      const dest = destination(flow, to);
      if (flow.protocol === 'udp') {
        const token = nextToken();
        const { sport } = await net.host(from).sendUdp({ to: dest, port: flow.port, token });
        if (!(await whoGot(token))) return null;
        return {
          async send() {
            const next = nextToken();
            await net.host(from).sendUdp({ to: dest, port: flow.port, sport, token: next });
            return whoGot(next);
          },
        };
      }
      const r = await net.host(from).connectTcp({ to: dest, port: flow.port, timeoutMs: 1000 });
      if (!r.ok) return null;
      return {
        async send() {
          const next = nextToken();
          await net.host(from).writeTcp(r.conn, next);
          return whoGot(next);
        },
      };
    },
    wait: (ms) => delay(ms),
    table: () => datapath.readTable(),
    release: (selector) => datapath.release(selector),
    remove: () => datapath.remove(),
    async installForeign(script) {
      await net.exec('router', 'nft', ['-f', '-'], { input: script });
    },
    async foreignRuleset() {
      const { stdout } = await net.exec('router', 'nft', ['list', 'ruleset']);
      // Everything but our own table, byte for byte.
      return stdout.replace(/^table inet porttrigger \{[\s\S]*?^\}\n/m, '');
    },
    dispose: () => net.destroy(),
  };
}
