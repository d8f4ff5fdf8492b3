/**
 * Companion mode beside a real firewall, in the router of a virtual network: porttrigger's table next to the
 * firewall's, a LAN host that triggers, WAN hosts that call back, and the doctor's finding about the firewall.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { runProgram } from '../../src/adapters/exec.js';
import { KernelDatapath } from '../../src/adapters/kernel-datapath.js';
import { createNftRunner } from '../../src/adapters/nft.js';
import type { DoctorCheck } from '../../src/doctor/doctor.js';
import type { Config } from '../../src/domain/types.js';
import { createVirtualNetwork, LAB_ADDRESSES, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { doctorOnThisMachine } from '../../src/main/doctor-wiring.js';
import { labConfig, rule } from '../conformance/scenarios.js';

const A = LAB_ADDRESSES;
const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
/** How long a callback may take to arrive before it counts as dropped. */
const SILENCE_MS = 1_500;
/** The rule's trigger and its one open port; OTHER_PORT is opened by nothing. */
export const TRIGGER_PORT = 5000;
export const OPEN_PORT = 4000;
export const OTHER_PORT = 4001;

/** The config: companion mode, one rule whose UDP trigger opens one TCP port, IPv4. */
export const COMPANION: Config = labConfig(
  [
    rule({
      name: 'game',
      family: 'ipv4',
      trigger: [{ protocol: 'udp', ports: String(TRIGGER_PORT) }],
      open: [{ protocol: 'tcp', ports: String(OPEN_PORT) }],
      idleTimeout: 300,
    }),
  ],
  { mode: 'companion' },
);

/** A virtual network whose router runs porttrigger in companion mode beside a firewall the test sets up. */
export interface CompanionRouter {
  readonly net: VirtualNetwork;
  readonly datapath: KernelDatapath;
  /** Runs a program in the router's namespace. */
  router(program: string, args: readonly string[]): Promise<string>;
  /** The doctor's host-firewall check, run in the router as `porttrigger doctor` runs it. */
  firewallCheck(): Promise<DoctorCheck>;
  /** `porttrigger doctor --netns ROUTER --config FILE` as a user runs it: what it prints. */
  doctorText(configPath: string): Promise<string>;
  /** A UDP trigger from lan1 to wan1; resolves once wan1 got it (the firewall lets LAN to WAN through). */
  trigger(): Promise<void>;
  /** A TCP connection from `from` to `to`:`port`; resolves with the address lan1 saw it from, or null. */
  callback(options: { from?: 'wan1' | 'wan2'; to?: string; port?: number }): Promise<string | null>;
  destroy(): Promise<void>;
}

let tokens = 0;
const token = () => `fw-${process.pid}-${++tokens}`;

/** Builds the network; `setUp` installs the firewall in the router before porttrigger applies its table. */
export async function companionRouter(
  prefix: string,
  setUp: (netns: string, net: VirtualNetwork) => Promise<void>,
): Promise<CompanionRouter> {
  const net = await createVirtualNetwork({ prefix, run: runProgram });
  const netns = net.namespaces.router;
  try {
    await setUp(netns, net);
    // The internet has no route to the LAN; this one lets the test send a connection that no DNAT made.
    await net.exec('wan1', 'ip', ['route', 'add', A.lanPrefixes.ipv4, 'via', A.router.wan.ipv4]);
    const datapath = new KernelDatapath({ nft: createNftRunner({ netns }) });
    await datapath.apply(COMPANION);
    await net.host('lan1').listen('tcp', OPEN_PORT);
    await net.host('lan1').listen('tcp', OTHER_PORT);
    await net.host('wan1').listen('udp', TRIGGER_PORT);
    return {
      net,
      datapath,
      router: async (program, args) => (await runProgram(program, args, { netns, timeoutMs: 60_000 })).stdout,
      async firewallCheck() {
        const checks = await doctorOnThisMachine({ netns, config: COMPANION });
        const check = checks.find((c) => c.id === 'forward-policy');
        if (!check) throw new Error(`the doctor has no host firewall check: ${JSON.stringify(checks)}`);
        return check;
      },
      async doctorText(configPath) {
        // YAML is a superset of JSON: the config as the service would read it from a file.
        await writeFile(configPath, JSON.stringify(COMPANION));
        const r = await runProgram(
          process.execPath,
          [MAIN, 'doctor', '--netns', netns, '--config', configPath],
          {
            timeoutMs: 60_000,
          },
        );
        return r.stdout;
      },
      async trigger() {
        const t = token();
        await net.host('lan1').sendUdp({ to: A.hosts.wan1.ipv4, port: TRIGGER_PORT, token: t });
        expect(await net.host('wan1').waitFor(t, 5_000), 'the trigger reached wan1').not.toBeNull();
      },
      async callback({ from = 'wan1', to = A.router.wan.ipv4, port = OPEN_PORT }) {
        const t = token();
        const sender = net.host(from);
        const c = await sender.connectTcp({ to, port, timeoutMs: SILENCE_MS });
        if (!c.ok) return null;
        await sender.writeTcp(c.conn, t);
        const got = await net.host('lan1').waitFor(t, SILENCE_MS);
        await sender.closeTcp(c.conn).catch(() => undefined);
        return got ? got.from : null;
      },
      async destroy() {
        await datapath.remove().catch(() => undefined);
        await net.destroy();
      },
    };
  } catch (error) {
    await net.destroy();
    throw error;
  }
}

/**
 * What every firewall must show once its fix is in: the trigger's callback reaches the holder, and the firewall
 * still decides the rest: a port nothing opened and a connection no DNAT made stay closed.
 */
export async function expectWorksAndOthersClosed(r: CompanionRouter): Promise<void> {
  await r.trigger();
  expect(await r.callback({}), 'the callback on the open port reaches lan1').toBe(A.hosts.wan1.ipv4);
  expect(await r.callback({ port: OTHER_PORT }), 'a port no rule opens stays closed').toBeNull();
  expect(
    await r.callback({ to: A.hosts.lan1.ipv4 }),
    'a connection straight to the LAN host, not DNAT-ed, is still dropped by the firewall',
  ).toBeNull();
}
