/**
 * A SIP softphone for the learn-mode corpus: baresip on PC 1 calls the provider (baresip on the server, which
 * answers at once and sends the call audio itself, as a provider that anchors media does). PC 1 learns its
 * public RTP address from a STUN server (stun-server.mjs on wan2), so the provider's RTP arrives at the
 * gateway on the phone's RTP range (10000-10019, the sip-voice preset's setup), in the calls where it comes
 * before the phone's own audio opened the way: inbound udp attempts, after outbound udp 5060.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { SeenConnection } from '../../src/domain/learn/recorder.js';
import type { VirtualNetwork } from '../../src/lab/virtual-network.js';
import { DEVICE, GATEWAY, INFRA, type Processes, SCANNER, SERVER } from './apps.js';

/** The phone's RTP ports, as the sip-voice preset tells the user to set them. */
export const PHONE_RTP = { from: 10000, to: 10019 } as const;
/** The provider's RTP ports: far from the phone's, so its ports never look like the phone's. */
const PROVIDER_RTP = '16384-16403';
const STUN_PORT = 3478;

/** Ten seconds of a 440 Hz tone as 8 kHz 16-bit mono WAV: the microphone of both ends (aufile reads only S16LE). */
function toneWav(): Buffer {
  const rate = 8000;
  const samples = Buffer.alloc(rate * 10 * 2);
  for (let i = 0; i < rate * 10; i++)
    samples.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + samples.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(samples.length, 40);
  return Buffer.concat([header, samples]);
}

/**
 * What a phone sends: a tone, or back what it hears (aubridge joins its speaker to its microphone), so that it
 * never speaks first.
 */
export type Microphone = 'tone' | 'echo';

/** A baresip configuration: SIP on `listen`, RTP on `rtpPorts`, a tone or an echo as microphone, no speaker. */
function writeBaresip(
  dir: string,
  listen: string,
  rtpPorts: string,
  account: string,
  microphone: Microphone = 'tone',
): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tone.wav'), toneWav());
  writeFileSync(
    join(dir, 'config'),
    [
      'poll_method epoll',
      `sip_listen ${listen}`,
      'audio_player aubridge,nil',
      'audio_alert aubridge,nil',
      microphone === 'tone' ? `audio_source aufile,${join(dir, 'tone.wav')}` : 'audio_source aubridge,nil',
      `rtp_ports ${rtpPorts}`,
      'rtcp_mux no',
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module aufile.so',
      'module aubridge.so',
      'module stun.so',
      'module_tmp account.so',
      'module_app menu.so',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'accounts'), `${account}\n`);
  return dir;
}

/** Waits until `node` has a udp socket on `port` (polled with `ss`), at most `timeoutMs`. */
async function waitUdp(net: VirtualNetwork, node: 'wan1' | 'wan2', port: number, timeoutMs = 15_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const { stdout } = await net.exec(node, 'ss', ['-Huan', `sport = :${port}`]);
    if (stdout.trim() !== '') return;
    await delay(100);
  }
  throw new Error(`nothing listens on udp ${port} in ${node} after ${timeoutMs} ms`);
}

/** The provider (baresip answering every call on the server's udp 5060) and the STUN server (on wan2). */
export async function startSipProvider(p: Processes, net: VirtualNetwork, dir: string): Promise<void> {
  const home = writeBaresip(
    join(dir, 'provider'),
    `${SERVER}:5060`,
    PROVIDER_RTP,
    `<sip:provider@${SERVER}>;regint=0;answermode=auto`,
  );
  p.start('wan1', 'baresip', ['-4', '-f', home]);
  const stun = new URL('./stun-server.mjs', import.meta.url).pathname;
  p.start('wan2', process.execPath, [stun, INFRA, String(STUN_PORT)]);
  await waitUdp(net, 'wan1', 5060);
  await waitUdp(net, 'wan2', STUN_PORT);
}

/**
 * One call from PC 1: a fresh baresip (SIP from its udp 5060, so every call uses the phone's one signalling
 * flow) dials the provider, talks for `seconds` and quits.
 */
export function sipCall(p: Processes, dir: string, seconds = 4, microphone: Microphone = 'tone') {
  const home = writeBaresip(
    join(dir, 'phone'),
    `${DEVICE}:5060`,
    `${PHONE_RTP.from}-${PHONE_RTP.to}`,
    `<sip:pc1@${SERVER}>;regint=0;medianat=stun;stunserver=stun:${INFRA}:${STUN_PORT}`,
    microphone,
  );
  return p.start('lan1', 'baresip', [
    '-4',
    '-f',
    home,
    '-e',
    `/dial sip:provider@${SERVER}`,
    '-t',
    String(seconds),
  ]);
}

/** The provider's audio (and RTCP) that reached the gateway on the phone's RTP range. */
export function mediaAttempts(inbound: readonly SeenConnection[]): SeenConnection[] {
  return inbound.filter(
    (a) => a.protocol === 'udp' && a.source === SERVER && a.port >= PHONE_RTP.from && a.port <= PHONE_RTP.to,
  );
}

/** A udp sweep of consecutive ports next to the phone's range, then nmap's top 100 udp ports. */
export async function scanUdp(net: VirtualNetwork, near: number): Promise<void> {
  const common = ['-n', '-Pn', '-sU', '-S', SCANNER, '-e', 'eth0', '--max-retries', '0', '-T4'];
  const fast = ['--min-rate', '200', '--host-timeout', '40s'];
  await net.exec('wan1', 'nmap', [...common, ...fast, '-r', '-p', `${near - 20}-${near + 20}`, GATEWAY], {
    timeoutMs: 60_000,
  });
  await net.exec('wan1', 'nmap', [...common, ...fast, '--top-ports', '100', GATEWAY], {
    timeoutMs: 60_000,
  });
}
