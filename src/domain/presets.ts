/**
 * A catalog of applications that really use port triggering, with the trigger and open ports that router
 * vendors have documented for them for years. Pure data and a lookup: `porttrigger presets` lists it and
 * `porttrigger rules add --preset ID` turns one into a rule.
 */
import type { PortSpec, RemotePolicy } from './types.js';

/** One application of the catalog: enough to build a rule. */
export interface Preset {
  /** Short, stable, kebab-case: what users type after `--preset`. */
  readonly id: string;
  /** The application as people call it; also the name of the rule it creates. */
  readonly name: string;
  readonly trigger: readonly PortSpec[];
  readonly open: readonly PortSpec[];
  /** Seconds without traffic after which the entry closes. */
  readonly idleTimeout: number;
  readonly remote: RemotePolicy;
  /** One line: what the ports are for, and any caveat. */
  readonly note: string;
}

/** The catalog, in the order `porttrigger presets` lists it. */
export const PRESETS: readonly Preset[] = [
  {
    id: 'ftp-active',
    name: 'FTP active mode',
    trigger: [{ protocol: 'tcp', ports: '21' }],
    open: [{ protocol: 'tcp', ports: '20' }],
    idleTimeout: 300,
    remote: 'contacted',
    note: 'control connection on tcp 21, the server opens data connections from tcp 20 (the nf_conntrack_ftp helper is more precise where available)',
  },
  {
    id: 'irc-dcc',
    name: 'IRC DCC',
    trigger: [{ protocol: 'tcp', ports: '6660-6669' }],
    open: [{ protocol: 'tcp', ports: '1024-5000' }],
    idleTimeout: 600,
    remote: 'any',
    note: 'chatting on an IRC server lets peers reach the client for DCC chat and file transfers',
  },
  {
    id: 'quicktime',
    name: 'QuickTime streaming',
    trigger: [{ protocol: 'tcp', ports: '554' }],
    open: [{ protocol: 'udp', ports: '6970-32000' }],
    idleTimeout: 300,
    remote: 'contacted',
    note: 'RTSP control on tcp 554, the media arrives on udp 6970-32000 from the server',
  },
  {
    id: 'realaudio',
    name: 'RealAudio',
    trigger: [{ protocol: 'tcp', ports: '7070' }],
    open: [{ protocol: 'udp', ports: '6970-7170' }],
    idleTimeout: 300,
    remote: 'contacted',
    note: 'RealPlayer control on tcp 7070, the audio stream arrives on udp 6970-7170',
  },
  {
    id: 'aim-talk',
    name: 'AIM Talk',
    trigger: [{ protocol: 'tcp', ports: '4099' }],
    open: [{ protocol: 'tcp', ports: '5190' }],
    idleTimeout: 600,
    remote: 'any',
    note: 'AOL Instant Messenger voice chat: the other side calls back on tcp 5190',
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
  },
  {
    id: 'directplay',
    name: 'DirectPlay games',
    trigger: [{ protocol: 'tcp', ports: '47624' }],
    open: [{ protocol: 'both', ports: '2300-2400' }],
    idleTimeout: 900,
    remote: 'any',
    note: 'DirectX 7-9 multiplayer (Age of Empires, MSN Gaming Zone): the lobby on tcp 47624, game data on 2300-2400',
  },
  {
    id: 'battle-net',
    name: 'Battle.net',
    trigger: [{ protocol: 'tcp', ports: '6112' }],
    open: [{ protocol: 'udp', ports: '6112' }],
    idleTimeout: 900,
    remote: 'any',
    note: 'classic Blizzard games (StarCraft, Diablo II, Warcraft III): hosting a game needs udp 6112 from the players',
  },
  {
    id: 'icq',
    name: 'ICQ',
    trigger: [{ protocol: 'udp', ports: '4000' }],
    open: [{ protocol: 'tcp', ports: '20000-20019' }],
    idleTimeout: 600,
    remote: 'any',
    note: 'classic ICQ clients talk to the server on udp 4000 and receive chats and files on tcp 20000-20019',
  },
  {
    id: 'dialpad',
    name: 'Dialpad',
    trigger: [{ protocol: 'tcp', ports: '7175' }],
    open: [{ protocol: 'tcp', ports: '51200-51201,51210' }],
    idleTimeout: 300,
    remote: 'any',
    note: 'internet telephony: the call setup on tcp 7175, the call on tcp 51200-51201 and 51210',
  },
  {
    id: 'cu-seeme',
    name: 'CU-SeeMe',
    trigger: [{ protocol: 'tcp', ports: '7648' }],
    open: [{ protocol: 'udp', ports: '7648-7652,24032' }],
    idleTimeout: 300,
    remote: 'any',
    note: 'video conferencing: the connection on tcp 7648, audio and video on udp 7648-7652 and 24032',
  },
  {
    id: 'sip-voice',
    name: 'SIP voice',
    trigger: [{ protocol: 'udp', ports: '5060' }],
    open: [{ protocol: 'udp', ports: '10000-20000' }],
    idleTimeout: 120,
    remote: 'contacted',
    note: 'VoIP phones registering on udp 5060 receive the call audio (RTP) on udp 10000-20000 from their provider',
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
