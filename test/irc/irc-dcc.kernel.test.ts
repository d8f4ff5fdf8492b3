/**
 * The irc-dcc preset with a real IRC server (ngircd on wan1) and real clients (WeeChat: alice on lan1, bob on
 * lan2, peer on wan2), the way a user meets it: the clients are connected before the rule exists. Adding the
 * preset through the API gives the rule to the connected client with the most recent traffic, at once, and its
 * DCC SEND reaches the peer intact; when its entry ends (idle expiry, then an admin release) the other client
 * takes the rule over without reconnecting, and its DCC arrives intact too; the live table names the holder of
 * each conflict as it was when the conflict happened.
 *
 * A DCC SEND is the direction the trigger is for: the offering client listens on 4000-4009 and announces the
 * gateway's address, and the peer connects there from the internet (a peer's own offer is fetched by an
 * outbound connection, which needs no forward).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { findPreset, presetRuleInput } from '../../src/domain/presets.js';
import { LAB_ADDRESSES } from '../../src/lab/virtual-network.js';
import type { ServiceHost } from '../../src/main/service-host.js';
import { createGateway, type Gateway } from '../harness/gateway.js';
import { describeKernel } from '../harness/kernel-gate.js';
import { Processes } from '../learn-corpus/apps.js';
import { IRC_PORT, IrcClient, randomFile, startIrcServer, until } from './irc.js';

vi.setConfig({ testTimeout: 90_000, hookTimeout: 90_000 });

const ALICE = LAB_ADDRESSES.hosts.lan1.ipv4;
const BOB = LAB_ADDRESSES.hosts.lan2.ipv4;
const RULE = 'IRC DCC';
/** Short, so that an entry expires within the test; the clients send nothing unless told to. */
const IDLE_S = 4;
const FILE_SIZE = 512 * 1024;

interface TableReply {
  entries: { rule: string; holder: string }[];
  conflicts: { rule: string; contender: string; holder?: string; at: number }[];
}

describeKernel('IRC DCC with a real IRC server and clients connected before the rule', () => {
  let gw: Gateway;
  let host: ServiceHost;
  let p: Processes;
  let files: string;
  let alice: IrcClient;
  let bob: IrcClient;
  let peer: IrcClient;

  async function api<T>(path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${host.url}/api/v1${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { Authorization: `Bearer ${gw.token()}`, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as T };
  }
  const table = async () => (await api<TableReply>('/table')).body;
  const holder = async () => (await table()).entries.find((e) => e.rule === RULE)?.holder;

  /**
   * The router's tracked IRC connections of a LAN host: local port and seconds left of the established timeout
   * (the tracker counts it down from the last packet, so a larger number is a later packet).
   */
  async function ircConnections(address: string): Promise<{ sport: number; left: number }[]> {
    const { stdout } = await gw.net.exec('router', 'conntrack', [
      '-L',
      '-p',
      'tcp',
      '--orig-src',
      address,
      '--orig-port-dst',
      String(IRC_PORT),
    ]);
    return stdout
      .split('\n')
      .filter((line) => line.includes('ESTABLISHED'))
      .map((line) => ({
        sport: Number(/sport=(\d+)/.exec(line)?.[1]),
        left: Number(/^tcp\s+\d+\s+(\d+)/.exec(line)?.[1]),
      }));
  }
  const lastPacket = async (address: string) =>
    Math.max(...(await ircConnections(address)).map((c) => c.left));

  /** `from` offers a new random file to the peer by DCC; resolves when it arrived, checked byte for byte. */
  async function dccToPeer(from: IrcClient, name: string): Promise<void> {
    const file = randomFile(files, name, FILE_SIZE);
    await from.sendFile(peer.nick, file.path);
    expect(await peer.received(name, FILE_SIZE), `${name} from ${from.nick}`).toBe(file.hash);
  }

  /** `client` says something on its IRC connection every 500 ms until `done` holds (at most `timeoutMs`). */
  async function chatUntil(client: IrcClient, done: () => Promise<boolean>, timeoutMs: number) {
    let n = 0;
    return until(async () => {
      if (await done()) return true;
      await client.command(`msg ${peer.nick} still here ${++n}`);
      await new Promise((r) => setTimeout(r, 400));
      return done();
    }, timeoutMs);
  }

  beforeAll(async () => {
    files = mkdtempSync(join(tmpdir(), 'pt-irc-files-'));
    gw = await createGateway({ prefix: 'ptirc', rules: [] });
    host = await gw.startHost();
    p = new Processes(gw.net);
    gw.onCleanup(() => p.stopAll());
    await startIrcServer(p, gw.net, gw.dir);
    // Bob connects first, alice after him: she has the most recent traffic when the rule comes.
    peer = await IrcClient.start(p, 'wan2', 'peer', gw.dir);
    bob = await IrcClient.start(p, 'lan2', 'bob', gw.dir);
    await Promise.all([peer.registered(), bob.registered()]);
    alice = await IrcClient.start(p, 'lan1', 'alice', gw.dir);
    await alice.registered();
    // The tracker counts in whole seconds and a last packet counts up to a second later (as the refresh):
    // alice's last packet must be two seconds later than bob's to be the most recent for sure.
    const ordered = await chatUntil(
      alice,
      async () => (await lastPacket(ALICE)) >= (await lastPacket(BOB)) + 2,
      10_000,
    );
    if (!ordered) throw new Error('alice never got a later last packet than bob');
  });
  afterAll(async () => {
    if (process.env['PT_DEBUG']) {
      console.log(p?.log.join('\n'));
      for (const c of [alice, bob, peer]) console.log(c?.nick, c?.allLogs());
    }
    await gw?.cleanup();
    if (files) rmSync(files, { recursive: true, force: true });
  });

  it('gives the preset added through the API to the connected client at once, and its DCC SEND arrives intact', async () => {
    const before = await api<{ rules: unknown[] }>('/rules');
    expect(before.body.rules).toEqual([]);
    const preset = findPreset('irc-dcc')!;
    const added = await api('/rules', presetRuleInput(preset, { family: 'ipv4', idleTimeout: IDLE_S }));
    expect(added.status).toBe(201);
    // The takeover is part of the apply: the table shows it when the call returned.
    expect(await holder()).toBe(ALICE);
    await dccToPeer(alice, 'alice-1.bin');
  });

  it('names alice as the holder of the conflict bob makes while she holds', async () => {
    // Bob opens a second connection to the server: its first packet is a trigger while alice holds.
    await bob.command(`server add second ${LAB_ADDRESSES.hosts.wan1.ipv4}/${IRC_PORT} -notls`);
    await bob.command('connect second');
    expect(await until(async () => (await ircConnections(BOB)).length === 2, 10_000)).toBe(true);
    expect(await until(async () => (await table()).conflicts.some((c) => c.contender === BOB), 10_000)).toBe(
      true,
    );
    const conflict = (await table()).conflicts.find((c) => c.contender === BOB);
    expect(conflict).toMatchObject({ rule: RULE, holder: ALICE });
  });

  it('hands the rule to bob without a reconnect when alice goes quiet and her entry expires; his DCC arrives', async () => {
    const bobsConnections = (await ircConnections(BOB)).map((c) => c.sport).sort();
    // Alice sends nothing more; bob chats on, so his connections are live contenders when her entry ends.
    expect(await chatUntil(bob, async () => (await holder()) === BOB, 20_000)).toBe(true);
    expect((await ircConnections(BOB)).map((c) => c.sport).sort()).toEqual(bobsConnections);
    await dccToPeer(bob, 'bob-1.bin');
    // The conflict of alice's time still names her.
    const conflict = (await table()).conflicts.find((c) => c.contender === BOB);
    expect(conflict?.holder).toBe(ALICE);
  });

  it('after bob is released, alice takes the rule back without a reconnect; the conflicts name their holders', async () => {
    const alicesConnections = (await ircConnections(ALICE)).map((c) => c.sport);
    await alice.command(`server add second ${LAB_ADDRESSES.hosts.wan1.ipv4}/${IRC_PORT} -notls`);
    await alice.command('connect second');
    expect(
      await until(async () => (await table()).conflicts.some((c) => c.contender === ALICE), 10_000),
    ).toBe(true);
    expect((await table()).conflicts.find((c) => c.contender === ALICE)).toMatchObject({
      rule: RULE,
      holder: BOB,
    });
    // Alice's traffic is recent; the release hands the rule to her.
    await alice.command(`msg ${peer.nick} back`);
    const released = await api<{ released: number }>('/release', { rule: RULE, holder: BOB });
    expect(released.body.released).toBe(1);
    expect(await holder()).toBe(ALICE);
    const now = (await ircConnections(ALICE)).map((c) => c.sport);
    expect(now).toEqual(expect.arrayContaining(alicesConnections));
    await dccToPeer(alice, 'alice-2.bin');
    // Each conflict keeps the holder it had.
    const { conflicts } = await table();
    expect(conflicts.find((c) => c.contender === BOB)?.holder).toBe(ALICE);
    expect(conflicts.find((c) => c.contender === ALICE)?.holder).toBe(BOB);
  });
});
