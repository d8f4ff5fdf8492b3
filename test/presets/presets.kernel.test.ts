/**
 * Every preset, exercised the way its application uses the network: a LAN client talks to a server on the
 * trigger port, then the server (or a peer) connects back to the gateway's WAN address on the port the
 * application was set to use, and must reach that client, and only through the ports the preset opens.
 */

import { afterAll, beforeAll, expect, it } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { KernelDatapath } from '../../src/adapters/kernel-datapath.js';
import { createNftRunner } from '../../src/adapters/nft.js';
import { validateRule } from '../../src/domain/config.js';
import { findPreset, PRESETS, presetRuleInput } from '../../src/domain/presets.js';
import type { Protocol } from '../../src/domain/types.js';
import { createVirtualNetwork, LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { labConfig } from '../conformance/scenarios.js';
import { describeKernel } from '../harness/kernel-gate.js';

const A = LAB_ADDRESSES;
const SILENCE_MS = 1500;

/** One step of an application's pattern: who connects back, how, to which port, from which port. */
interface Callback {
  readonly from: 'wan1' | 'wan2';
  readonly protocol: Protocol;
  readonly port: number;
  readonly sport?: number;
}

/** What the application does: its trigger, the callbacks it expects, a port it must not get. */
interface Pattern {
  readonly trigger: { readonly protocol: Protocol; readonly port: number };
  readonly callbacks: readonly Callback[];
  /** A port next to the open range: nothing arrives there. */
  readonly closed: Callback;
}

// wan1 is the server the client talks to; wan2 another peer on the internet (remote: any presets).
const PATTERNS: Readonly<Record<string, Pattern>> = {
  // The client sends PORT <WAN address>,50000 on tcp 21; the server connects from its port 20 to it.
  'ftp-active': {
    trigger: { protocol: 'tcp', port: 21 },
    callbacks: [{ from: 'wan1', protocol: 'tcp', port: 50_000, sport: 20 }],
    closed: { from: 'wan1', protocol: 'tcp', port: 20, sport: 20 },
  },
  // On the IRC server, then a peer's client connects to the DCC port the client offered.
  'irc-dcc': {
    trigger: { protocol: 'tcp', port: 6697 },
    callbacks: [{ from: 'wan2', protocol: 'tcp', port: 4000 }],
    closed: { from: 'wan2', protocol: 'tcp', port: 4010 },
  },
  // RTSP SETUP on tcp 554 asks for client_port 6970-6971; the server sends RTP there.
  quicktime: {
    trigger: { protocol: 'tcp', port: 554 },
    callbacks: [
      { from: 'wan1', protocol: 'udp', port: 6970 },
      { from: 'wan1', protocol: 'udp', port: 6971 },
    ],
    closed: { from: 'wan1', protocol: 'udp', port: 7000 },
  },
  realaudio: {
    trigger: { protocol: 'tcp', port: 7070 },
    callbacks: [{ from: 'wan1', protocol: 'udp', port: 6970 }],
    closed: { from: 'wan1', protocol: 'udp', port: 6980 },
  },
  'aim-talk': {
    trigger: { protocol: 'tcp', port: 4099 },
    callbacks: [{ from: 'wan2', protocol: 'tcp', port: 5190 }],
    closed: { from: 'wan2', protocol: 'tcp', port: 5191 },
  },
  'msn-messenger': {
    trigger: { protocol: 'tcp', port: 1863 },
    callbacks: [
      { from: 'wan2', protocol: 'tcp', port: 6891 },
      { from: 'wan2', protocol: 'udp', port: 6901 },
    ],
    closed: { from: 'wan2', protocol: 'udp', port: 6900 },
  },
  directplay: {
    trigger: { protocol: 'tcp', port: 47_624 },
    callbacks: [
      { from: 'wan2', protocol: 'udp', port: 2300 },
      { from: 'wan2', protocol: 'tcp', port: 2301 },
    ],
    closed: { from: 'wan2', protocol: 'udp', port: 2310 },
  },
  'battle-net': {
    trigger: { protocol: 'tcp', port: 6112 },
    callbacks: [{ from: 'wan2', protocol: 'udp', port: 6112 }],
    closed: { from: 'wan2', protocol: 'udp', port: 6113 },
  },
  icq: {
    trigger: { protocol: 'udp', port: 4000 },
    callbacks: [{ from: 'wan2', protocol: 'tcp', port: 20_000 }],
    closed: { from: 'wan2', protocol: 'tcp', port: 20_020 },
  },
  dialpad: {
    trigger: { protocol: 'tcp', port: 7175 },
    callbacks: [
      { from: 'wan2', protocol: 'tcp', port: 51_200 },
      { from: 'wan2', protocol: 'tcp', port: 51_210 },
    ],
    closed: { from: 'wan2', protocol: 'tcp', port: 51_205 },
  },
  'cu-seeme': {
    trigger: { protocol: 'tcp', port: 7648 },
    callbacks: [
      { from: 'wan2', protocol: 'udp', port: 7648 },
      { from: 'wan2', protocol: 'udp', port: 24_032 },
    ],
    closed: { from: 'wan2', protocol: 'udp', port: 7653 },
  },
  // REGISTER/INVITE on udp 5060; the provider's media server sends RTP to the port in the SDP.
  'sip-voice': {
    trigger: { protocol: 'udp', port: 5060 },
    callbacks: [{ from: 'wan1', protocol: 'udp', port: 10_000 }],
    closed: { from: 'wan1', protocol: 'udp', port: 10_020 },
  },
};

let net: VirtualNetwork;
let datapath: KernelDatapath;
let tokens = 0;
const token = () => `preset-${process.pid}-${++tokens}`;

async function trigger(p: Pattern['trigger']): Promise<void> {
  const server = net.host('wan1');
  const client = net.host('lan1');
  await server.listen(p.protocol, p.port);
  const t = token();
  if (p.protocol === 'udp') await client.sendUdp({ to: A.hosts.wan1.ipv4, port: p.port, token: t });
  else {
    const c = await client.connectTcp({ to: A.hosts.wan1.ipv4, port: p.port, timeoutMs: 5_000 });
    if (!c.ok) throw new Error(`the client could not reach the server on tcp ${p.port}: ${c.error}`);
    await client.writeTcp(c.conn, t);
  }
  expect(await server.waitFor(t, 5_000)).not.toBeNull();
}

/** Sends one callback to the gateway's WAN address; resolves with where the token arrived on lan1, or null. */
async function callback(cb: Callback): Promise<{ from: string; fromPort: number } | null> {
  await net.host('lan1').listen(cb.protocol, cb.port);
  const t = token();
  const sender = net.host(cb.from);
  const to = A.router.wan.ipv4;
  if (cb.protocol === 'udp') {
    await sender.sendUdp({ to, port: cb.port, token: t, ...(cb.sport ? { sport: cb.sport } : {}) });
  } else {
    const c = await sender.connectTcp({
      to,
      port: cb.port,
      timeoutMs: 1_000,
      ...(cb.sport ? { sport: cb.sport } : {}),
    });
    if (!c.ok) return null;
    await sender.writeTcp(c.conn, t);
  }
  return net.host('lan1').waitFor(t, SILENCE_MS);
}

describeKernel('presets in the pattern of their applications', () => {
  beforeAll(async () => {
    net = await createVirtualNetwork({ prefix: 'ptp', run: runProgram });
    datapath = new KernelDatapath({ nft: createNftRunner({ netns: net.namespaces.router }) });
  });
  afterAll(async () => {
    await datapath?.remove().catch(() => undefined);
    await net?.destroy();
  });

  it('has a pattern for every preset', () => {
    expect(Object.keys(PATTERNS).sort()).toEqual(PRESETS.map((p) => p.id).sort());
  });

  it.each(PRESETS.map((p) => [p.id] as const))(
    '%s: the callbacks reach the client, a port beside the range does not',
    async (id) => {
      const preset = findPreset(id)!;
      const pattern = PATTERNS[id]!;
      const rule = validateRule(presetRuleInput(preset, { family: 'ipv4' }));
      if (!rule.ok) throw new Error(JSON.stringify(rule.issues));
      await datapath.apply(labConfig([rule.value]));
      // Before the application talks to its server, nothing is open.
      // (From another source port: a refused attempt leaves a conntrack entry that the same 5-tuple would reuse.)
      const { sport: _sport, ...first } = pattern.callbacks[0]!;
      expect(await callback(first)).toBeNull();
      await trigger(pattern.trigger);
      for (const cb of pattern.callbacks) {
        const got = await callback(cb);
        expect(got, `${cb.protocol} ${cb.port} from ${cb.from}`).toMatchObject({
          from: A.hosts[cb.from].ipv4,
          ...(cb.sport ? { fromPort: cb.sport } : {}),
        });
      }
      expect(
        await callback(pattern.closed),
        `${pattern.closed.protocol} ${pattern.closed.port} stays closed`,
      ).toBeNull();
      if (preset.remote === 'contacted') {
        // Only the server the client talked to may call back.
        expect(await callback({ ...pattern.callbacks[0]!, from: 'wan2' })).toBeNull();
      }
      await datapath.release({ rule: preset.name });
    },
  );
});
