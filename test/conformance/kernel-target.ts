import { setTimeout as delay } from 'node:timers/promises';
import { createConntrackRunner } from '../../src/adapters/conntrack.js';
import { runProgram } from '../../src/adapters/exec.js';
import { KernelDatapath } from '../../src/adapters/kernel-datapath.js';
import { createNftRunner } from '../../src/adapters/nft.js';
import type { Config } from '../../src/domain/types.js';
import { createVirtualNetwork, LAB_ADDRESSES } from '../../src/lab/virtual-network.js';
import type { Flow, LanHost, ScenarioTarget } from './target.js';

const A = LAB_ADDRESSES;
const LAN_HOSTS: readonly LanHost[] = ['lan1', 'lan2'];
// Packets between namespaces take microseconds, but a loaded machine may take long to report them: this is how
// long "not delivered" is waited for.
const SILENCE_MS = 1500;

let tokens = 0;
const nextToken = () => `t${process.pid}-${++tokens}`;

/**
 * The nftables datapath in a real virtual network: real packets, real time. `refresh: false` leaves out the
 * refresh from conntrack, as when the service is not running.
 */
export async function createKernelTarget(options: { refresh?: boolean } = {}): Promise<ScenarioTarget> {
  const net = await createVirtualNetwork({ prefix: 'ptc', run: runProgram });
  const nft = createNftRunner({ netns: net.namespaces.router });
  const conntrack = createConntrackRunner({ netns: net.namespaces.router });
  const refreshErrors: unknown[] = [];
  const datapath = new KernelDatapath({
    nft,
    ...(options.refresh === false ? {} : { conntrack }),
    onRefreshError: (e) => refreshErrors.push(e),
  });
  const listening = new Set<string>();
  const fam = (flow: Flow) => flow.family ?? 'ipv4';

  async function listenAll(flow: Flow): Promise<void> {
    const key = `${flow.protocol}/${flow.port}`;
    if (listening.has(key)) return;
    await Promise.all(LAN_HOSTS.map((h) => net.host(h).listen(flow.protocol, flow.port)));
    listening.add(key);
  }

  /** The LAN host that received the token: as soon as one did, or null after the silence window. */
  async function whoGot(token: string): Promise<LanHost | null> {
    const waits = LAN_HOSTS.map((h) =>
      net
        .host(h)
        .waitFor(token, SILENCE_MS)
        .then((m) => (m && m.token === token ? h : null)),
    );
    // The first host to report wins; a positive answer must not wait out the other host's silence window.
    return new Promise((resolve, reject) => {
      let pending = waits.length;
      for (const w of waits) {
        w.then((h) => {
          if (h) resolve(h);
          else if (--pending === 0) resolve(null);
        }, reject);
      }
    });
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

  const wanListening = new Set<string>();

  /**
   * Trigger traffic, confirmed: the remote listens and the call returns only once the packet has arrived
   * there, i.e. has left the gateway. Scenarios then measure the datapath, not the load of the machine.
   */
  async function sendFromLan(from: LanHost, to: 'wan1' | 'wan2', flow: Flow): Promise<void> {
    const key = `${to}/${flow.protocol}/${flow.port}`;
    if (!wanListening.has(key)) {
      await net.host(to).listen(flow.protocol, flow.port);
      wanListening.add(key);
    }
    const dest = A.hosts[to][fam(flow)];
    const token = nextToken();
    if (flow.protocol === 'udp') {
      await net.host(from).sendUdp({ to: dest, port: flow.port, token });
    } else {
      const r = await net.host(from).connectTcp({ to: dest, port: flow.port, timeoutMs: 5000 });
      if (!r.ok)
        throw new Error(`trigger from ${from} to ${to} tcp ${flow.port} did not connect: ${r.error}`);
      await net.host(from).writeTcp(r.conn, token);
      const arrived = await net.host(to).waitFor(token, 5000);
      await net.host(from).closeTcp(r.conn);
      if (!arrived) throw new Error(`trigger from ${from} to ${to} tcp ${flow.port} never left the gateway`);
      return;
    }
    if (!(await net.host(to).waitFor(token, 5000))) {
      throw new Error(`trigger from ${from} to ${to} ${flow.protocol} ${flow.port} never left the gateway`);
    }
  }

  return {
    name: 'kernel',
    apply: (config: Config) => datapath.apply(config),
    trigger: (from, to, flow) => sendFromLan(from, to, flow),
    async openTrigger(from, to, flow) {
      if (flow.protocol !== 'udp')
        throw new Error('openTrigger sends UDP: one source port is one connection');
      const key = `${to}/${flow.protocol}/${flow.port}`;
      if (!wanListening.has(key)) {
        await net.host(to).listen(flow.protocol, flow.port);
        wanListening.add(key);
      }
      const dest = A.hosts[to][fam(flow)];
      const send = async (sport?: number) => {
        const token = nextToken();
        const sent = await net
          .host(from)
          .sendUdp({ to: dest, port: flow.port, token, ...(sport ? { sport } : {}) });
        if (!(await net.host(to).waitFor(token, 5000)))
          throw new Error(`trigger from ${from} never left the gateway`);
        return sent.sport;
      };
      const sport = await send();
      return { send: async () => void (await send(sport)) };
    },
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
    table: async () => (await datapath.read()).table,
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
    async dispose() {
      await datapath.close();
      await net.destroy();
      if (refreshErrors.length > 0)
        throw new Error(`refresh from conntrack failed: ${String(refreshErrors[0])}`);
    },
  };
}
