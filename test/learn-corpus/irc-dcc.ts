/**
 * IRC DCC for the learn-mode corpus: ngircd on wan1 (tcp 6667), a WeeChat peer on wan2 calling from its own
 * address, and WeeChat on PC 1 offering files by DCC on 4000-4009 as the irc-dcc preset's setup says. With no
 * rule, each offer's connection from the peer is an inbound attempt that nothing forwards.
 */
import type { SeenConnection } from '../../src/domain/learn/recorder.js';
import type { VirtualNetwork } from '../../src/lab/virtual-network.js';
import { addDccPeerAddress, DCC_PEER, IrcClient, randomFile, startIrcServer, until } from '../irc/irc.js';
import type { Processes } from './apps.js';

/** The peer's nick; the device's nicks are numbered, one per session. */
const PEER_NICK = 'peer';
let devices = 0;

/** The IRC server and the peer, for every session of the lab. */
export async function startIrcPeer(p: Processes, net: VirtualNetwork, dir: string): Promise<void> {
  await addDccPeerAddress(net);
  await startIrcServer(p, net, dir);
  const peer = await IrcClient.start(p, 'wan2', PEER_NICK, dir);
  await peer.registered();
}

/** WeeChat on PC 1, connected to the server: resolves once the server welcomed it. */
export async function ircDevice(p: Processes, dir: string): Promise<IrcClient> {
  const device = await IrcClient.start(p, 'lan1', `pc${++devices}`, dir);
  await device.registered();
  return device;
}

/**
 * Three DCC offers of PC 1 to the peer, one after the other (each listens on the next free port of 4000-4009):
 * resolves when the session has seen the peer's three inbound attempts on the range, or throws after 45 s.
 */
export async function dccOffers(
  device: IrcClient,
  dir: string,
  inbound: () => readonly SeenConnection[],
): Promise<void> {
  // The peer's attempts only: a scan's on the same ports are not the peer accepting an offer.
  const tried = () =>
    inbound().filter(
      (a) => a.source === DCC_PEER && a.protocol === 'tcp' && a.port >= 4000 && a.port <= 4009,
    );
  for (let i = 1; i <= 3; i++) {
    const before = tried().length;
    const file = randomFile(dir, `offer-${i}.bin`, 4096);
    await device.sendFile(PEER_NICK, file.path);
    if (!(await until(() => tried().length > before, 15_000)))
      throw new Error(`the peer did not try DCC offer ${i}: ${JSON.stringify(inbound())}`);
  }
}
