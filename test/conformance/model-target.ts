import { LAB_ADDRESSES } from '../../src/lab/virtual-network.js';
import type { Decision, ModelPacket } from '../../src/model/model.js';
import { ReferenceModel } from '../../src/model/model.js';
import type { Flow, LanHost, ScenarioTarget, WanHost } from './target.js';

const A = LAB_ADDRESSES;

function lanHostOf(decision: Decision): LanHost | null {
  if (decision.action !== 'forward') return null;
  const lan = (['lan1', 'lan2'] as const).find((h) =>
    [A.hosts[h].ipv4, A.hosts[h].ipv6].includes(decision.to),
  );
  return lan ?? null;
}

/** The reference model as a scenario target: packets are modelled, time is a virtual clock. */
export async function createModelTarget(): Promise<ScenarioTarget> {
  const model = new ReferenceModel({
    gatewayAddresses: [A.router.wan.ipv4, A.router.wan.ipv6, A.router.lan.ipv4, A.router.lan.ipv6],
  });
  let nextPort = 40_000;
  const packet = (
    side: 'lan' | 'wan',
    from: string,
    to: string,
    flow: Flow,
    sport = nextPort++,
  ): ModelPacket => ({
    side,
    family: flow.family ?? 'ipv4',
    protocol: flow.protocol,
    src: from,
    sport,
    dst: to,
    dport: flow.port,
  });
  const fam = (flow: Flow) => flow.family ?? 'ipv4';
  const inboundPacket = (from: WanHost, flow: Flow, to: LanHost | undefined, sport?: number) =>
    packet(
      'wan',
      A.hosts[from][fam(flow)],
      fam(flow) === 'ipv4' ? A.router.wan.ipv4 : A.hosts[to ?? 'lan1'].ipv6,
      flow,
      sport,
    );
  return {
    name: 'model',
    apply: (config) => model.apply(config),
    async trigger(from, to, flow) {
      // The kernel target closes a TCP trigger connection at once: it carries no traffic afterwards.
      const first = packet('lan', A.hosts[from][fam(flow)], A.hosts[to][fam(flow)], flow);
      model.process(flow.protocol === 'tcp' ? { ...first, last: true } : first);
    },
    async openTrigger(from, to, flow) {
      const first = packet('lan', A.hosts[from][fam(flow)], A.hosts[to][fam(flow)], flow);
      model.process(first);
      return {
        async send() {
          model.process(first);
        },
      };
    },
    async triggerFromWan(from, flow) {
      model.process(packet('wan', A.hosts[from][fam(flow)], A.router.wan[fam(flow)], flow));
    },
    async inbound(from, flow, to) {
      return lanHostOf(model.process(inboundPacket(from, flow, to)));
    },
    async connect(from, flow, to) {
      const sport = nextPort++;
      const first = lanHostOf(model.process(inboundPacket(from, flow, to, sport)));
      if (!first) return null;
      return { send: async () => lanHostOf(model.process(inboundPacket(from, flow, to, sport))) };
    },
    async wait(ms) {
      model.advance(ms);
    },
    table: async () => (await model.read()).table,
    release: (selector) => model.release(selector),
    remove: () => model.remove(),
    async dispose() {},
  };
}
