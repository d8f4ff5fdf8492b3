/**
 * A catalog of applications that really use port triggering, with the trigger and open ports that router
 * vendors have documented for them for years. Pure data and a lookup: `porttrigger presets` lists it and
 * `porttrigger rules add --preset ID` turns one into a rule.
 */
import type { PortSpec, RemotePolicy } from './types.js';

/** One application of the catalog: enough to build a rule, and what to set in the application. */
export interface Preset {
  /** Short, stable, kebab-case: what users type after `--preset`. */
  readonly id: string;
  /** The application as people call it; also the name of the rule it creates. */
  readonly name: string;
  readonly trigger: readonly PortSpec[];
  /** Narrow on purpose: the ports the application can be set to use, not every port it might pick. */
  readonly open: readonly PortSpec[];
  /** Seconds without traffic after which the entry closes. */
  readonly idleTimeout: number;
  readonly remote: RemotePolicy;
  /** One line: what the ports are for (the rule's description). */
  readonly note: string;
  /** What to set in the application so that it uses the open ports and announces the gateway's address. */
  readonly setup: string;
  /** What happens when two LAN devices use the application at once (one holder per rule). */
  readonly sharing: string;
}

// One holder per rule: while one device holds it, another device's callbacks cannot reach it.
const ONE_AT_A_TIME =
  "one device at a time: while one holds the rule, a second device's trigger is refused and recorded as a conflict, and inbound connections still go to the first until its entry expires";

/** The catalog, in the order `porttrigger presets` lists it. */
export const PRESETS: readonly Preset[] = [
  {
    id: 'ftp-active',
    name: 'FTP active mode',
    trigger: [{ protocol: 'tcp', ports: '21' }],
    open: [{ protocol: 'tcp', ports: '50000-50009' }],
    idleTimeout: 300,
    remote: 'contacted',
    note: "in active FTP the server connects from its tcp 20 to the data port the client announced with PORT: the open range is the client's data-port range",
    setup:
      'limit the FTP client\'s active-mode data ports to 50000-50009 and make it announce the gateway\'s WAN address in PORT (lftp: set ftp:port-range 50000-50009 and ftp:port-ipv4 <WAN address>; FileZilla: limit local ports, and "use the following IP address" for active mode). Passive mode needs no rule at all',
    sharing: `${ONE_AT_A_TIME}: the second device's active transfers fail (425); it can use passive mode`,
  },
  {
    id: 'irc-dcc',
    name: 'IRC DCC',
    trigger: [{ protocol: 'tcp', ports: '6660-6669,6697' }],
    open: [{ protocol: 'tcp', ports: '4000-4009' }],
    idleTimeout: 600,
    remote: 'any',
    note: 'chatting on an IRC server lets peers reach the client on tcp 4000-4009 for DCC chats and file transfers',
    setup:
      "set the IRC client's DCC port range to 4000-4009 and its DCC address to the gateway's WAN address (WeeChat: xfer.network.port_range 4000-4009, xfer.network.own_ip; irssi: dcc_port 4000 4009, dcc_own_ip)",
    sharing: `${ONE_AT_A_TIME}: a DCC offer the second device makes sends the peer to the first one, so give each device its own rule with its own port range and lanHosts`,
  },
  {
    id: 'quicktime',
    name: 'QuickTime streaming',
    trigger: [{ protocol: 'tcp', ports: '554' }],
    open: [{ protocol: 'udp', ports: '6970-6999' }],
    idleTimeout: 300,
    remote: 'contacted',
    note: 'RTSP control on tcp 554; the server sends the media on udp 6970-6999, the ports the player asks for in SETUP',
    setup:
      "set the player's RTSP transport to UDP with the client ports 6970-6999 (QuickTime: Streaming, Transport Setup, UDP on port 6970); over TCP (RTSP interleaved) no rule is needed",
    sharing: `${ONE_AT_A_TIME}: the second device's stream stays silent (use RTSP over TCP there)`,
  },
  {
    id: 'realaudio',
    name: 'RealAudio',
    trigger: [{ protocol: 'tcp', ports: '7070' }],
    open: [{ protocol: 'udp', ports: '6970-6979' }],
    idleTimeout: 300,
    remote: 'contacted',
    note: 'RealPlayer control on tcp 7070; the audio stream arrives on udp 6970-6979 from the server',
    setup: 'RealPlayer: Preferences, Connection, Network Transports, "use specific UDP ports" 6970-6979',
    sharing: `${ONE_AT_A_TIME}: the second device's stream stays silent (let it use TCP transport)`,
  },
  {
    id: 'aim-talk',
    name: 'AIM Talk',
    trigger: [{ protocol: 'tcp', ports: '4099' }],
    open: [{ protocol: 'tcp', ports: '5190' }],
    idleTimeout: 600,
    remote: 'any',
    note: 'AOL Instant Messenger voice chat: the other side calls back on tcp 5190',
    setup: 'nothing to set: the client listens on tcp 5190 for talk sessions',
    sharing: `${ONE_AT_A_TIME}: calls to the second device reach the first`,
  },
  {
    id: 'msn-messenger',
    name: 'MSN Messenger',
    trigger: [{ protocol: 'tcp', ports: '1863' }],
    open: [
      { protocol: 'tcp', ports: '6891-6900' },
      { protocol: 'both', ports: '6901' },
    ],
    idleTimeout: 600,
    remote: 'any',
    note: 'signing in on tcp 1863 enables file transfers (tcp 6891-6900) and voice (tcp and udp 6901)',
    setup: 'nothing to set: the client uses tcp 6891-6900 for files and 6901 for voice',
    sharing: `${ONE_AT_A_TIME}: transfers and calls to the second device fail`,
  },
  {
    id: 'directplay',
    name: 'DirectPlay games',
    trigger: [{ protocol: 'tcp', ports: '47624' }],
    open: [{ protocol: 'both', ports: '2300-2309' }],
    idleTimeout: 900,
    remote: 'any',
    note: 'DirectX 7-9 multiplayer (Age of Empires, MSN Gaming Zone): the lobby on tcp 47624, game data on 2300 upwards',
    setup:
      'nothing to set: DirectPlay takes its ports from 2300 upwards, one or two per game; widen the range only for many sessions on one PC',
    sharing: `${ONE_AT_A_TIME}: the second PC cannot host (it can still join games others host)`,
  },
  {
    id: 'battle-net',
    name: 'Battle.net',
    trigger: [{ protocol: 'tcp', ports: '6112' }],
    open: [{ protocol: 'udp', ports: '6112' }],
    idleTimeout: 900,
    remote: 'any',
    note: 'classic Blizzard games (StarCraft, Diablo II, Warcraft III): hosting a game needs udp 6112 from the players',
    setup: "keep the game's port at 6112 (Warcraft III: Options, Gameplay, Game Port)",
    sharing: `${ONE_AT_A_TIME}: only one PC can host; give a second PC another game port and its own rule`,
  },
  {
    id: 'icq',
    name: 'ICQ',
    trigger: [{ protocol: 'udp', ports: '4000' }],
    open: [{ protocol: 'tcp', ports: '20000-20019' }],
    idleTimeout: 600,
    remote: 'any',
    note: 'classic ICQ clients talk to the server on udp 4000 and receive chats and files on tcp 20000-20019',
    setup: 'ICQ: Preferences, Connections, "use the following TCP listen ports" 20000-20019',
    sharing: `${ONE_AT_A_TIME}: direct chats and files to the second device fail (messages through the server still arrive)`,
  },
  {
    id: 'dialpad',
    name: 'Dialpad',
    trigger: [{ protocol: 'tcp', ports: '7175' }],
    open: [{ protocol: 'tcp', ports: '51200-51201,51210' }],
    idleTimeout: 300,
    remote: 'any',
    note: 'internet telephony: the call setup on tcp 7175, the call on tcp 51200-51201 and 51210',
    setup: 'nothing to set: the ports are fixed by the application',
    sharing: `${ONE_AT_A_TIME}: calls to the second device fail`,
  },
  {
    id: 'cu-seeme',
    name: 'CU-SeeMe',
    trigger: [{ protocol: 'tcp', ports: '7648' }],
    open: [{ protocol: 'udp', ports: '7648-7652,24032' }],
    idleTimeout: 300,
    remote: 'any',
    note: 'video conferencing: the connection on tcp 7648, audio and video on udp 7648-7652 and 24032',
    setup: 'nothing to set: the ports are fixed by the application',
    sharing: `${ONE_AT_A_TIME}: the second device's conference gets no audio or video`,
  },
  {
    id: 'sip-voice',
    name: 'SIP voice',
    trigger: [{ protocol: 'udp', ports: '5060' }],
    open: [{ protocol: 'udp', ports: '10000-10019' }],
    idleTimeout: 120,
    remote: 'contacted',
    note: 'VoIP phones registering on udp 5060 receive the call audio (RTP) on udp 10000-10019 from their provider',
    setup:
      "set the phone's RTP port range to 10000-10019 (two ports per call) and its public address to the gateway's WAN address or STUN; turn a SIP ALG off",
    sharing: `${ONE_AT_A_TIME}: the second phone's calls have no audio; give it another RTP range and its own rule`,
  },
];

/** Normalizes an id or name for lookup: case, spaces and punctuation do not matter. */
function lookupKey(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '');
}

/**
 * Finds a preset by its id or its name, ignoring case, spaces and punctuation.
 * @example findPreset('irc-dcc')?.name // 'IRC DCC'
 */
export function findPreset(idOrName: string): Preset | undefined {
  const key = lookupKey(idOrName);
  if (key === '') return undefined;
  return PRESETS.find((p) => lookupKey(p.id) === key || lookupKey(p.name) === key);
}

/** The rule a preset stands for, as config input (validate it with `validateRule`); `overrides` win. */
export function presetRuleInput(
  preset: Preset,
  overrides: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  return {
    name: preset.name,
    description: preset.note.length <= 256 ? preset.note : `${preset.note.slice(0, 255)}…`,
    trigger: preset.trigger.map((s) => ({ ...s })),
    open: preset.open.map((s) => ({ ...s })),
    idleTimeout: preset.idleTimeout,
    remote: preset.remote,
    ...overrides,
  };
}
