/**
 * The lab's learn-mode scenario: a simulated game on PC 1 (outbound tcp to its server, which then calls back on
 * a udp range) is watched, the proposed rule is applied, and the game's callbacks then reach PC 1.
 */
import { LAB_ADDRESSES, type VirtualNetwork } from './virtual-network.js';

/** A recorded connection, as much of it as the lab reads. */
export interface LabSeen {
  readonly direction: 'outbound' | 'inbound';
}

/** A proposal, as much of it as the lab reads. */
export interface LabProposal {
  readonly id: number;
  readonly rule: {
    readonly name: string;
    readonly trigger: readonly { readonly protocol: string; readonly ports: string }[];
    readonly open: readonly { readonly protocol: string; readonly ports: string }[];
    readonly remote: string;
  };
  readonly evidence: string;
}

/** The learning sessions of the lab's service (the CLI reaches them through the REST API). */
export interface LabLearning {
  start(request: { host: string; durationS: number }): Promise<unknown>;
  status(): Promise<{ readonly state: string; readonly outbound: number; readonly inbound: number }>;
  stop(): Promise<unknown>;
  proposals(): Promise<readonly LabProposal[]>;
  apply(id: number): Promise<unknown>;
}

/** What the scenario reports through. */
export interface LearnScenarioDeps {
  readonly net: VirtualNetwork;
  readonly learning: LabLearning;
  step(title: string): void;
  check(ok: boolean, text: string): boolean;
  token(label: string): string;
  wait(ms: number): Promise<void>;
}

/** The game of the scenario: its server port, and the udp range its server calls back on. */
export const LEARN_GAME = { serverPort: 6970, callbacks: [7000, 7001, 7002, 7003] } as const;

const { hosts, router } = LAB_ADDRESSES;
const PC1 = hosts.lan1.ipv4;
const SERVER = hosts.wan1.ipv4;
const GATEWAY = router.wan.ipv4;
const SILENCE_MS = 1_000;

/** Plays the scenario; every result it reports is one it observed. */
export async function playLearnScenario(d: LearnScenarioDeps): Promise<void> {
  const { net, learning } = d;
  const pc = net.host('lan1');
  const server = net.host('wan1');
  const listenPort = LEARN_GAME.callbacks[2];
  await server.listen('tcp', LEARN_GAME.serverPort);
  await pc.listen('udp', listenPort);
  const range = `udp ${LEARN_GAME.callbacks[0]}-${LEARN_GAME.callbacks.at(-1)}`;

  d.step(`PC 1 (${PC1}) has a game whose ports nobody knows: porttrigger watches PC 1 for a minute`);
  await learning.start({ host: PC1, durationS: 60 });
  const started = await learning.status();
  d.check(started.state === 'running', `learning is ${started.state} for PC 1`);

  d.step(
    `PC 1 starts the game: it connects to Server 1 (${SERVER}) on tcp ${LEARN_GAME.serverPort}, and Server 1 calls back on ${range}`,
  );
  const conn = await pc.connectTcp({ to: SERVER, port: LEARN_GAME.serverPort, timeoutMs: 3_000 });
  d.check(
    conn.ok,
    conn.ok ? 'the game is connected to its server' : `the game could not connect: ${conn.error}`,
  );
  const missed = d.token('callback');
  for (const port of LEARN_GAME.callbacks) await server.sendUdp({ to: GATEWAY, port, token: missed });
  d.check(
    (await pc.waitFor(missed, SILENCE_MS)) === null,
    `no callback reaches PC 1: no rule opens ${range} yet, so the game's callbacks are lost`,
  );
  let seen = await learning.status();
  for (let i = 0; i < 40 && seen.inbound < LEARN_GAME.callbacks.length; i++) {
    await d.wait(250);
    seen = await learning.status();
  }
  d.check(
    seen.outbound >= 1 && seen.inbound === LEARN_GAME.callbacks.length,
    `porttrigger saw ${seen.outbound} outbound connection(s) of PC 1 and ${seen.inbound} inbound attempts that nothing forwarded`,
  );
  if (conn.ok) await pc.closeTcp(conn.conn);

  d.step('Learning stops: porttrigger proposes a rule from what it saw');
  await learning.stop();
  const proposals = await learning.proposals();
  const first = proposals[0];
  const exact =
    proposals.length === 1 &&
    first?.rule.trigger.map((t) => `${t.protocol} ${t.ports}`).join() === `tcp ${LEARN_GAME.serverPort}` &&
    first.rule.open.map((o) => `${o.protocol} ${o.ports}`).join() === range &&
    first.rule.remote === 'contacted';
  d.check(
    exact,
    first
      ? `proposal 1 of ${proposals.length}: "${first.rule.name}", trigger ${first.rule.trigger.map((t) => `${t.protocol} ${t.ports}`).join()}, open ${first.rule.open.map((o) => `${o.protocol} ${o.ports}`).join()}, remote ${first.rule.remote}`
      : 'no rule was proposed',
  );
  if (first) d.check(first.evidence.length > 0, `evidence: ${first.evidence}`);

  d.step('The proposed rule is applied; PC 1 starts the game again');
  if (!first) {
    d.check(false, 'nothing to apply');
    return;
  }
  await learning.apply(first.id);
  const again = await pc.connectTcp({ to: SERVER, port: LEARN_GAME.serverPort, timeoutMs: 3_000 });
  const token = d.token('callback');
  await server.sendUdp({ to: GATEWAY, port: listenPort, token });
  const got = await pc.waitFor(token, 3_000);
  d.check(
    got !== null,
    got !== null
      ? `Server 1's callback on udp ${listenPort} reaches PC 1 (${PC1}): the game works`
      : `Server 1's callback on udp ${listenPort} did not reach PC 1`,
  );
  const stranger = d.token('stranger');
  await net.host('wan2').sendUdp({ to: GATEWAY, port: listenPort, token: stranger });
  d.check(
    (await pc.waitFor(stranger, SILENCE_MS)) === null,
    'Server 2, which the game did not contact, reaches nothing (remote: contacted)',
  );
  if (again.ok) await pc.closeTcp(again.conn);
}
