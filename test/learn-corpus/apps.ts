/**
 * Real Debian applications in the virtual network, for the learn-mode corpus: an active FTP client (lftp
 * against vsftpd) and a BitTorrent swarm (transmission-cli and opentracker), with optional background traffic
 * (DNS queries to dnsmasq, web fetches) and scans (nmap). Each runs on PC 1 behind the gateway while a
 * learning session records it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { LAB_ADDRESSES, type NodeName, type VirtualNetwork } from '../../src/lab/virtual-network.js';

const A = LAB_ADDRESSES;
/** The device that uses the applications. */
export const DEVICE = A.hosts.lan1.ipv4;
/** The gateway's WAN address: what the internet sees and calls. */
export const GATEWAY = A.router.wan.ipv4;
/** The FTP server and the tracker. */
export const SERVER = A.hosts.wan1.ipv4;
/** The resolver (dnsmasq) and the web server of the background traffic. */
export const INFRA = A.hosts.wan2.ipv4;
/** BitTorrent peers that learn the device from the tracker (extra addresses of wan2). */
export const PEERS = ['203.0.113.21', '203.0.113.22', '203.0.113.23', '203.0.113.24'] as const;
/** The scanner (an extra address of wan1): nobody contacts it. */
export const SCANNER = '203.0.113.31';

/** The applications of the corpus. */
export type AppName = 'ftp-active' | 'bittorrent' | 'sip' | 'irc-dcc';
/** What else happens during a session. */
export interface Variant {
  readonly background: boolean;
  /** A sequential sweep next to the application's ports, then nmap's top ports in random order. */
  readonly scan: boolean;
  /**
   * The application was connected before the session started (FTP: the control connection; SIP: a call; IRC:
   * the client).
   */
  readonly existing?: boolean;
}

/** What a session of the corpus should propose first. */
export interface Expected {
  readonly trigger: string;
  /** Every one must be opened ("any PORTS": by tcp or udp). */
  readonly open: readonly string[];
  /** Nothing beyond these may be opened. */
  readonly allowed: readonly string[];
  readonly remote: 'contacted' | 'any';
}

/** The right rule of each application. */
export const EXPECTED: Record<AppName, Expected> = {
  'ftp-active': {
    trigger: 'tcp 21',
    open: ['tcp 50000-50009'],
    allowed: ['tcp 50000-50009'],
    remote: 'contacted',
  },
  bittorrent: {
    trigger: 'tcp 6969',
    // Peers try uTP (udp) first and tcp after it: either shows the application's port.
    open: ['any 51413'],
    allowed: ['tcp 51413', 'udp 51413'],
    remote: 'any',
  },
  // The provider's RTP tried a few of the phone's ports; the sip-voice preset's range is the phone's setting.
  sip: {
    trigger: 'udp 5060',
    open: ['udp 10000-10019'],
    allowed: ['udp 10000-10019'],
    remote: 'contacted',
  },
  // WeeChat offers files by DCC on 4000-4009 (the irc-dcc preset's setup); a peer elsewhere connects there.
  'irc-dcc': {
    trigger: 'tcp 6667',
    open: ['tcp 4000-4009'],
    allowed: ['tcp 4000-4009'],
    remote: 'any',
  },
};

/** The noise of a session: who else tried, which ports only noise tried, which outbound ports are background. */
export const NOISE = { sources: [SCANNER], backgroundPorts: ['udp 53', 'tcp 80'] } as const;

/** Processes started for a session; {@link Processes.stopAll} ends them by their PID. */
export class Processes {
  readonly #children: ChildProcess[] = [];
  readonly log: string[] = [];

  constructor(private readonly net: VirtualNetwork) {}

  /** Starts `program` inside the namespace of `node`, with an argument array (never a shell). */
  start(node: NodeName, program: string, args: readonly string[], cwd?: string): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.net.namespaces[node], program, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(cwd ? { cwd } : {}),
    });
    const keep = (d: Buffer) => {
      if (this.log.length < 2000) this.log.push(`${program}: ${d.toString().trimEnd()}`);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#children.push(child);
    return child;
  }

  /** Ends every process started here, by its PID, and waits for each to exit. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.#children.splice(0).map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const forced = delay(3_000).then(() => child.kill('SIGKILL'));
        await Promise.race([exited, forced]);
        await exited;
      }),
    );
  }
}

/** Waits until `node` listens on tcp `port` (polled with `ss`), at most `timeoutMs`. */
export async function waitListening(
  net: VirtualNetwork,
  node: NodeName,
  port: number,
  timeoutMs = 15_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const { stdout } = await net.exec(node, 'ss', ['-Htln', `sport = :${port}`]);
    if (stdout.trim() !== '') return;
    await delay(100);
  }
  throw new Error(`nothing listens on tcp ${port} in ${node} after ${timeoutMs} ms`);
}

/** Extra addresses for the peers (wan2) and the scanner (wan1). */
export async function addCorpusAddresses(net: VirtualNetwork): Promise<void> {
  for (const peer of PEERS) await net.exec('wan2', 'ip', ['addr', 'add', `${peer}/24`, 'dev', 'eth0']);
  await net.exec('wan1', 'ip', ['addr', 'add', `${SCANNER}/24`, 'dev', 'eth0']);
}

/** dnsmasq and a web server on wan2, for the background traffic. */
export async function startInfrastructure(p: Processes, net: VirtualNetwork, dir: string): Promise<void> {
  p.start('wan2', 'dnsmasq', [
    '--no-daemon',
    '--no-resolv',
    '--no-hosts',
    `--listen-address=${INFRA}`,
    '--bind-interfaces',
    '--address=/example.test/203.0.113.20',
    `--pid-file=${join(dir, 'dnsmasq.pid')}`,
    '--port=53',
  ]);
  p.start('wan2', process.execPath, [new URL('./web-server.mjs', import.meta.url).pathname, INFRA, '80']);
  await waitListening(net, 'wan2', 80);
}

/** A name lookup and a web fetch from the device every `everyMs`, until the returned stop is called. */
export function startBackground(p: Processes, everyMs = 1_000): void {
  const script = new URL('./background-client.mjs', import.meta.url).pathname;
  p.start('lan1', process.execPath, [script, INFRA, String(everyMs), '600']);
}

/** A sweep of consecutive ports next to the application's, then nmap's top 100 ports in random order. */
export async function scan(net: VirtualNetwork, near: number): Promise<void> {
  const common = ['-n', '-Pn', '-sS', '-S', SCANNER, '-e', 'eth0', '--max-retries', '0', '-T4'];
  await net.exec('wan1', 'nmap', [...common, '-r', '-p', `${near - 20}-${near + 20}`, GATEWAY], {
    timeoutMs: 60_000,
  });
  await net.exec('wan1', 'nmap', [...common, '--top-ports', '100', GATEWAY], { timeoutMs: 60_000 });
}

/** vsftpd on the server, anonymous, active mode only (its data connections come from tcp 20). */
export async function startFtpServer(p: Processes, net: VirtualNetwork, dir: string): Promise<void> {
  const root = join(dir, 'ftp');
  const empty = join(dir, 'empty');
  mkdirSync(root, { recursive: true });
  mkdirSync(empty, { recursive: true, mode: 0o755 });
  writeFileSync(join(root, 'readme.txt'), 'corpus\n');
  const conf = join(dir, 'vsftpd.conf');
  writeFileSync(
    conf,
    [
      'listen=YES',
      'listen_ipv6=NO',
      `listen_address=${SERVER}`,
      'background=NO',
      'anonymous_enable=YES',
      'no_anon_password=YES',
      `anon_root=${root}`,
      'local_enable=NO',
      'write_enable=NO',
      'port_enable=YES',
      'connect_from_port_20=YES',
      'pasv_enable=NO',
      `secure_chroot_dir=${empty}`,
      'seccomp_sandbox=NO',
      'data_connection_timeout=5',
      '',
    ].join('\n'),
  );
  p.start('wan1', 'vsftpd', [conf]);
  await waitListening(net, 'wan1', 21);
}

/**
 * lftp in active mode, announcing the gateway's address and its data ports 50000-50009 (the ftp-active
 * preset's setup): each listing makes the server connect back, which nothing forwards yet.
 */
export function ftpClient(p: Processes, listings: number, holdS = 0): ChildProcess {
  const commands = [
    'set ftp:passive-mode off',
    'set ftp:port-range 50000-50009',
    `set ftp:port-ipv4 ${GATEWAY}`,
    'set net:max-retries 1',
    'set net:timeout 4',
    'set net:reconnect-interval-base 1',
    `open ftp://${SERVER}`,
    ...(holdS > 0 ? ['quote NOOP', `sleep ${holdS}`] : []),
    ...Array.from({ length: listings }, () => 'cls -1'),
  ];
  return p.start('lan1', 'lftp', ['-c', commands.join('; ')]);
}

/**
 * opentracker on the server, tcp and udp 6969. Debian builds it with a whitelist of torrents: the corpus
 * torrent's info hash goes in it (read back with transmission-show).
 */
export async function startTracker(
  p: Processes,
  net: VirtualNetwork,
  dir: string,
  torrent: string,
): Promise<void> {
  const shown = await net.exec('wan1', 'transmission-show', [torrent]);
  const hash = /Hash:\s*([0-9a-f]{40})/i.exec(shown.stdout)?.[1];
  if (!hash) throw new Error(`no info hash in transmission-show's output: ${shown.stdout}`);
  const home = join(dir, 'tracker');
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'whitelist'), `${hash.toLowerCase()}\n`);
  writeFileSync(join(home, 'opentracker.conf'), 'access.whitelist whitelist\n');
  // Relative paths: the same before and after opentracker chroots into its directory.
  p.start(
    'wan1',
    'opentracker',
    ['-i', SERVER, '-p', '6969', '-P', '6969', '-d', home, '-f', 'opentracker.conf'],
    home,
  );
  await waitListening(net, 'wan1', 6969);
}

function transmissionSettings(dir: string, bind?: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'settings.json'),
    JSON.stringify({
      ...(bind ? { 'bind-address-ipv4': bind } : {}),
      'dht-enabled': false,
      'lpd-enabled': false,
      'pex-enabled': true,
      'utp-enabled': true,
      'peer-port-random-on-start': false,
      'port-forwarding-enabled': false,
    }),
  );
  return dir;
}

/** A file and its torrent announcing to the tracker; PC 1 seeds it. */
export async function makeTorrent(net: VirtualNetwork, dir: string): Promise<string> {
  const data = join(dir, 'seed');
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'corpus.bin'), Buffer.alloc(256 * 1024, 7));
  const torrent = join(dir, 'corpus.torrent');
  await net.exec('lan1', 'transmission-create', [
    '-t',
    `http://${SERVER}:6969/announce`,
    '-o',
    torrent,
    join(data, 'corpus.bin'),
  ]);
  return torrent;
}

/** PC 1 seeds the torrent: it announces to the tracker, which then hands its address to every peer. */
export function torrentSeed(p: Processes, dir: string, torrent: string): ChildProcess {
  const config = transmissionSettings(join(dir, 'seed-config'));
  return p.start('lan1', 'transmission-cli', ['-g', config, '-w', join(dir, 'seed'), '-p', '51413', torrent]);
}

/** The peers start after PC 1 announced: the tracker gives them PC 1 (the gateway's address), and they try it. */
export function torrentPeers(p: Processes, dir: string, torrent: string): void {
  for (const [i, peer] of PEERS.entries()) {
    const home = join(dir, `peer${i}`);
    const config = transmissionSettings(join(home, 'config'), peer);
    mkdirSync(join(home, 'data'), { recursive: true });
    // Each peer has its own port, as in a real swarm (and one namespace cannot bind one port twice).
    p.start('wan2', 'transmission-cli', [
      '-g',
      config,
      '-w',
      join(home, 'data'),
      '-p',
      String(6881 + i),
      torrent,
    ]);
  }
}
