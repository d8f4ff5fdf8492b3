/**
 * Records the learn-mode corpus: each application of test/learn-corpus/apps.ts in each variant (quiet or with
 * background traffic, with or without scans), one learning session each, written to sessions/NAME.json.
 * Needs root, nftables and the Debian packages of scripts/ensure-deps.sh. Run: npm run learn:corpus [NAME...]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppName, Variant } from './apps.js';
import { openCorpusLab, recordSession, sessionName } from './session.js';

const PLAN: readonly (readonly [AppName, Variant])[] = [
  ['ftp-active', { background: false, scan: false }],
  ['ftp-active', { background: true, scan: false }],
  ['ftp-active', { background: false, scan: true }],
  ['ftp-active', { background: true, scan: true }],
  ['ftp-active', { background: true, scan: false, existing: true }],
  ['bittorrent', { background: false, scan: false }],
  ['bittorrent', { background: true, scan: false }],
  ['bittorrent', { background: false, scan: true }],
  ['bittorrent', { background: true, scan: true }],
  ['sip', { background: false, scan: false }],
  ['sip', { background: true, scan: false }],
  ['sip', { background: false, scan: true }],
  ['sip', { background: true, scan: true }],
  ['sip', { background: true, scan: false, existing: true }],
  ['irc-dcc', { background: false, scan: false }],
  ['irc-dcc', { background: true, scan: false }],
  ['irc-dcc', { background: false, scan: true }],
  ['irc-dcc', { background: true, scan: true }],
  ['irc-dcc', { background: false, scan: false, existing: true }],
  ['irc-dcc', { background: true, scan: true, existing: true }],
];

const only = process.argv.slice(2);
const out = join(new URL('.', import.meta.url).pathname, 'sessions');
mkdirSync(out, { recursive: true });
const lab = await openCorpusLab();
try {
  for (const [app, variant] of PLAN) {
    const name = sessionName(app, variant);
    if (only.length > 0 && !only.includes(name)) continue;
    const session = await recordSession(lab, app, variant);
    writeFileSync(join(out, `${name}.json`), `${JSON.stringify(session, null, 2)}\n`);
    console.log(`${name}: ${session.outbound.length} outbound, ${session.inbound.length} inbound`);
  }
} finally {
  if (process.env['PT_DEBUG']) console.log(lab.servers.log.join('\n'));
  await lab.close();
}
