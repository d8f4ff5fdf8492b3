/**
 * A real IRC setup in the virtual network: Debian's ngircd as the server on wan1 and WeeChat (headless, driven
 * through its command FIFO) as the clients. A client's DCC offer announces the gateway's WAN address and a port
 * of the irc-dcc preset's range (4000-4009), as the preset's setup text tells the user to configure it; the peer
 * that accepts connects there, and only a forward to the offering client lets the transfer through.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { LAB_ADDRESSES, type NodeName, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { type Processes, waitListening } from '../learn-corpus/apps.js';

/** The IRC server (ngircd) and its port, one of the irc-dcc preset's trigger ports. */
export const IRC_SERVER = LAB_ADDRESSES.hosts.wan1.ipv4;
export const IRC_PORT = 6667;
/** The DCC ports the clients are set to, the irc-dcc preset's open range. */
export const DCC_PORTS = '4000-4009';

/**
 * The DCC peer's own address (an extra one of wan2): the gateway sees its DCC connections come from it, not from
 * the address of the other servers on wan2, as a peer somewhere else on the internet.
 */
export const DCC_PEER = '203.0.113.25';

/** Gives wan2 the peer's address and makes it the source of wan2's unbound connections to the gateway. */
export async function addDccPeerAddress(net: VirtualNetwork): Promise<void> {
  await net.exec('wan2', 'ip', ['addr', 'add', `${DCC_PEER}/24`, 'dev', 'eth0']);
  await net.exec('wan2', 'ip', [
    'route',
    'add',
    `${LAB_ADDRESSES.router.wan.ipv4}/32`,
    'dev',
    'eth0',
    'src',
    DCC_PEER,
  ]);
}

/** Polls `check` every 100 ms until it holds or `timeoutMs` passes; says whether it held. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await delay(100);
  }
  return false;
}

/** ngircd on wan1, in the foreground, no PAM, ident or DNS, and no pings within a test's time. */
export async function startIrcServer(p: Processes, net: VirtualNetwork, dir: string): Promise<void> {
  const home = join(dir, 'ngircd');
  mkdirSync(home, { recursive: true });
  const conf = join(home, 'ngircd.conf');
  writeFileSync(
    conf,
    [
      '[Global]',
      'Name = irc.test',
      'Info = porttrigger test network',
      `Listen = ${IRC_SERVER}`,
      `Ports = ${IRC_PORT}`,
      `PidFile = ${join(home, 'ngircd.pid')}`,
      `MotdFile = ${join(home, 'motd')}`,
      '[Limits]',
      // The clients' connections must stay quiet for an entry to expire: the server's pings come later.
      'PingTimeout = 600',
      'PongTimeout = 600',
      'MaxConnectionsIP = 20',
      '[Options]',
      'PAM = no',
      'Ident = no',
      'DNS = no',
      '',
    ].join('\n'),
  );
  writeFileSync(join(home, 'motd'), 'porttrigger\n');
  p.start('wan1', 'ngircd', ['--nodaemon', '--config', conf]);
  await waitListening(net, 'wan1', IRC_PORT);
}

/** A WeeChat client in one namespace, driven through its FIFO; its logs and downloads are in its directory. */
export class IrcClient {
  readonly home: string;
  readonly downloads: string;
  readonly #fifo: string;

  private constructor(
    readonly node: NodeName,
    readonly nick: string,
    dir: string,
  ) {
    this.home = join(dir, `weechat-${nick}`);
    this.downloads = join(this.home, 'downloads');
    this.#fifo = join(this.home, 'fifo');
  }

  /**
   * Starts WeeChat on `node` as `nick`, set up as the irc-dcc preset's setup text says (DCC ports 4000-4009,
   * DCC address the gateway's WAN address), accepting every file offered; waits until the FIFO is there.
   */
  static async start(p: Processes, node: NodeName, nick: string, dir: string): Promise<IrcClient> {
    const c = new IrcClient(node, nick, dir);
    mkdirSync(c.downloads, { recursive: true });
    const commands = [
      `/set fifo.file.path ${c.#fifo}`,
      '/set fifo.file.enabled on',
      '/set logger.file.flush_delay 0',
      `/set logger.file.path ${join(c.home, 'logs')}`,
      `/set xfer.network.port_range ${DCC_PORTS}`,
      `/set xfer.network.own_ip ${LAB_ADDRESSES.router.wan.ipv4}`,
      '/set xfer.file.auto_accept_files on',
      '/set xfer.file.use_nick_in_filename off',
      `/set xfer.file.download_path ${c.downloads}`,
      // No lag checks: a client that does nothing must send nothing, so that its entry can expire.
      '/set irc.network.lag_check 0',
      '/set irc.server_default.autoreconnect off',
      `/server add irc ${IRC_SERVER}/${IRC_PORT} -notls`,
      `/set irc.server.irc.nicks ${nick}`,
      `/set irc.server.irc.username ${nick}`,
      '/connect irc',
    ];
    p.start(node, 'weechat-headless', ['--dir', c.home, '--run-command', commands.join(';')]);
    if (!(await until(() => existsSync(c.#fifo), 15_000))) throw new Error(`WeeChat of ${nick} made no FIFO`);
    return c;
  }

  /** Runs a command in the IRC server's buffer. */
  async command(text: string): Promise<void> {
    await appendFile(this.#fifo, `irc.server.irc */${text}\n`);
  }

  /** The server buffer's log so far. */
  log(): string {
    const path = join(this.home, 'logs', 'irc.server.irc.weechatlog');
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  /** Every log of the client, for debugging. */
  allLogs(): string {
    const dir = join(this.home, 'logs');
    if (!existsSync(dir)) return '';
    return readdirSync(dir)
      .map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'utf8')}`)
      .join('\n');
  }

  /** Waits until the server welcomed the client (reply 001). */
  async registered(timeoutMs = 15_000): Promise<void> {
    if (!(await until(() => /Welcome to the Internet Relay Network/.test(this.log()), timeoutMs)))
      throw new Error(`${this.nick} was not welcomed by the IRC server:\n${this.log()}`);
  }

  /** Offers `path` to `nick` by DCC SEND: the offer names the gateway's address and a port of 4000-4009. */
  sendFile(nick: string, path: string): Promise<void> {
    return this.command(`dcc send ${nick} ${path}`);
  }

  /** Waits until a received file `name` has `size` bytes; its SHA-256 then, or undefined after `timeoutMs`. */
  async received(name: string, size: number, timeoutMs = 20_000): Promise<string | undefined> {
    const path = join(this.downloads, name);
    const done = await until(() => existsSync(path) && statSync(path).size >= size, timeoutMs);
    return done ? sha256(readFileSync(path)) : undefined;
  }
}

/** The SHA-256 of some bytes, in hex. */
export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A file of `size` random bytes in `dir`; its path and hash. */
export function randomFile(dir: string, name: string, size: number): { path: string; hash: string } {
  const data = randomBytes(size);
  const path = join(dir, name);
  writeFileSync(path, data);
  return { path, hash: sha256(data) };
}
