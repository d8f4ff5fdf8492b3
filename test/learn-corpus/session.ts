/**
 * One learning session of the corpus: a virtual network with the service in its router namespace, the
 * servers of both applications, and a run of one application in one variant while the session records.
 */

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { runProgram } from '../../src/adapters/exec.js';
import { silentLogger } from '../../src/adapters/logger.js';
import type { SeenConnection } from '../../src/domain/learn/recorder.js';
import { createVirtualNetwork, type VirtualNetwork } from '../../src/lab/virtual-network.js';
import { type ServiceHost, startServiceHost } from '../../src/main/service-host.js';
import {
  type AppName,
  addCorpusAddresses,
  DEVICE,
  EXPECTED,
  type Expected,
  ftpClient,
  makeTorrent,
  NOISE,
  PEERS,
  Processes,
  scan,
  startBackground,
  startFtpServer,
  startInfrastructure,
  startTracker,
  torrentPeers,
  torrentSeed,
  type Variant,
} from './apps.js';
import { dccOffers, ircDevice, startIrcPeer } from './irc-dcc.js';
import { mediaAttempts, PHONE_RTP, scanUdp, sipCall, startSipProvider } from './sip.js';

/** A recorded session as the corpus keeps it: the facts learn records, and what should come of them. */
export interface CorpusSession {
  readonly name: string;
  readonly app: AppName;
  readonly variant: Variant;
  readonly expected: Expected;
  readonly noise: { readonly sources: readonly string[]; readonly backgroundPorts: readonly string[] };
  readonly outbound: readonly SeenConnection[];
  readonly inbound: readonly SeenConnection[];
}

/** The virtual network, the service and the long-running servers of a recording. */
export interface CorpusLab {
  readonly net: VirtualNetwork;
  readonly host: ServiceHost;
  readonly dir: string;
  readonly servers: Processes;
  readonly torrent: string;
  close(): Promise<void>;
}

/** Builds the lab: network, service (no API), dnsmasq, web server, vsftpd, the torrent. */
export async function openCorpusLab(prefix = 'ptc'): Promise<CorpusLab> {
  const dir = mkdtempSync(join(tmpdir(), 'pt-corpus-'));
  const configPath = join(dir, 'config.yaml');
  writeFileSync(
    configPath,
    `interfaces:\n  lan: [br-lan]\n  wan: [wan0]\nmode: standalone\nrules: []\nevents:\n  database: ${join(dir, 'events.db')}\n  retentionDays: 1\n  maxEvents: 1000\n`,
  );
  const net = await createVirtualNetwork({ prefix, run: runProgram });
  const servers = new Processes(net);
  let host: ServiceHost | undefined;
  try {
    await addCorpusAddresses(net);
    host = await startServiceHost({
      configPath,
      netns: net.namespaces.router,
      logger: silentLogger,
      noApi: true,
    });
    await startInfrastructure(servers, net, dir);
    await startFtpServer(servers, net, dir);
    await startIrcPeer(servers, net, dir);
    const torrent = await makeTorrent(net, dir);
    const started = host;
    return {
      net,
      host: started,
      dir,
      servers,
      torrent,
      async close() {
        await servers.stopAll();
        await started.stop();
        await net.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await servers.stopAll();
    await host?.stop();
    await net.destroy();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Polls `check` every 200 ms until it holds or `timeoutMs` passes; says whether it held. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    await delay(200);
  }
  return false;
}

/** The name of a session of `app` in `variant`, as its fixture file is named. */
export function sessionName(app: AppName, variant: Variant): string {
  return [
    app,
    variant.existing ? 'existing' : '',
    variant.background ? 'background' : 'quiet',
    variant.scan ? 'scan' : '',
  ]
    .filter((x) => x !== '')
    .join('-');
}

/** Runs `app` on PC 1 in `variant` while a learning session records, and returns what it recorded. */
export async function recordSession(lab: CorpusLab, app: AppName, variant: Variant): Promise<CorpusSession> {
  const { net, host } = lab;
  const learn = host.service.learn;
  const run = new Processes(net);
  const dir = join(lab.dir, `${sessionName(app, variant)}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const facts = () => learn.facts();
  // Each session starts from an empty connection tracker: what the last one left must not count as open.
  await net.exec('router', 'conntrack', ['-F']).catch(() => undefined);
  try {
    if (app === 'sip') await startSipProvider(run, net, dir);
    // The IRC client of the session (connected here already when it was before the session).
    const irc = app === 'irc-dcc' && variant.existing ? await ircDevice(run, dir) : undefined;
    if (variant.existing && app === 'sip') {
      // A call before the session: the phone's signalling flow (udp 5060) is open when it starts.
      const call = sipCall(run, dir, 2);
      await until(() => call.exitCode !== null || call.signalCode !== null, 20_000);
    } else if (variant.existing && app === 'ftp-active') {
      // The FTP client connects first and idles; the session starts while its control connection is open.
      ftpClient(run, 3, 6);
      const connected = await until(async () => {
        const { stdout } = await net.exec('lan1', 'ss', ['-Htn', 'state', 'established', 'dport = :21']);
        return stdout.trim() !== '';
      }, 15_000);
      if (!connected) throw new Error('the FTP client did not connect');
    }
    await learn.start({ host: DEVICE, durationS: 300 });
    if (variant.background) {
      startBackground(run);
      await until(() => facts().outbound.some((o) => o.port === 53), 10_000);
    }
    const scanning = !variant.scan
      ? undefined
      : app === 'sip'
        ? delay(1_500).then(() => scanUdp(net, PHONE_RTP.from + 10))
        : delay(1_500).then(() => scan(net, app === 'ftp-active' ? 50005 : app === 'irc-dcc' ? 4005 : 51413));
    if (app === 'irc-dcc') {
      await dccOffers(irc ?? (await ircDevice(run, dir)), dir, () => facts().inbound);
    } else if (app === 'ftp-active') {
      const client = variant.existing ? undefined : ftpClient(run, 3);
      await until(
        () => facts().inbound.filter((a) => a.port >= 50000 && a.port <= 50009).length >= 3,
        45_000,
      );
      if (client) await until(() => client.exitCode !== null, 20_000);
    } else if (app === 'sip') {
      // Calls until the provider's audio has knocked a few times; each call tries one or two ports.
      for (let i = 0; i < 4 && mediaAttempts(facts().inbound).length < 4; i++) {
        const call = sipCall(run, dir);
        await until(() => call.exitCode !== null || call.signalCode !== null, 20_000);
      }
    } else {
      // A tracker of its own per session: one that remembers the last session's peers would hand them to PC 1.
      await startTracker(run, net, dir, lab.torrent);
      torrentSeed(run, dir, lab.torrent);
      await until(() => facts().outbound.some((o) => o.port === 6969), 20_000);
      // The peers join once PC 1 is done announcing: they learn it from the tracker and must call it (had PC 1
      // heard of them first, its own packets to them would open the way back through the NAT).
      const announces = () => facts().outbound.filter((o) => o.port === 6969).length;
      for (let seen = announces(), quiet = 0, i = 0; quiet < 4 && i < 30; i++) {
        await delay(1_000);
        quiet = announces() === seen ? quiet + 1 : 0;
        seen = announces();
      }
      torrentPeers(run, dir, lab.torrent);
      const peers = new Set<string>(PEERS);
      await until(
        () =>
          new Set(
            facts()
              .inbound.filter((a) => peers.has(a.source))
              .map((a) => a.source),
          ).size >= 3,
        45_000,
      );
    }
    await scanning;
    // Let the tracker report the last connections.
    await delay(1_000);
  } finally {
    if (process.env['PT_DEBUG']) console.log(run.log.join('\n'));
    await run.stopAll();
    await learn.stop();
  }
  const { outbound, inbound } = facts();
  return {
    name: sessionName(app, variant),
    app,
    variant,
    expected: EXPECTED[app],
    noise: { sources: [...NOISE.sources], backgroundPorts: [...NOISE.backgroundPorts] },
    outbound,
    inbound,
  };
}

/** Reads a fixture of the corpus. */
export function readSession(path: string): CorpusSession {
  return JSON.parse(readFileSync(path, 'utf8')) as CorpusSession;
}
