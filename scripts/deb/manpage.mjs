// Prints porttrigger(8) in roff, made from the CLI's own help: `porttrigger --help` gives the synopsis, the
// command list and the global options, `porttrigger COMMAND --help` each command's section. Nothing is
// written twice, so the man page says what the program says.
//   node scripts/deb/manpage.mjs DIST_CLI_MAIN VERSION
import { execFileSync } from 'node:child_process';

const [main, version] = process.argv.slice(2);
if (!main || !version) {
  console.error('usage: manpage.mjs DIST_CLI_MAIN VERSION');
  process.exit(2);
}
const help = (...args) => execFileSync(process.execPath, [main, ...args, '--help'], { encoding: 'utf8' });

/** Escapes text for roff: backslashes, and a leading dot or quote that would start a request. */
const roff = (text) => text.replace(/\\/g, '\\e').replace(/-/g, '\\-').replace(/^([.'])/, '\\&$1');

/** Splits help text into its title line and sections ("Usage:", "Options:", … and the closing notes). */
function sections(text) {
  const [title, ...rest] = text.trimEnd().split('\n');
  const parts = [];
  let current = { name: '', lines: [] };
  for (const line of rest) {
    const heading = /^([A-Z][A-Za-z ]*):$/.exec(line);
    if (heading) {
      parts.push(current);
      current = { name: heading[1], lines: [] };
    } else if (line.trim() === '' && current.name !== '') {
      parts.push(current);
      current = { name: '', lines: [] };
    } else {
      current.lines.push(line);
    }
  }
  parts.push(current);
  return { title: title.trim(), parts: parts.filter((p) => p.lines.some((l) => l.trim())) };
}

/** "  -c, --config FILE   text" → a tagged paragraph; other lines stay text. */
function optionList(lines) {
  return lines
    .map((line) => {
      const option = /^\s+(-\S.*?)\s{2,}(.*)$/.exec(line);
      return option ? `.TP\n.B ${roff(option[1].trim())}\n${roff(option[2])}` : roff(line.trim());
    })
    .join('\n');
}

const top = sections(help());
const commands = (top.parts.find((p) => p.name === 'Commands')?.lines ?? [])
  .map((line) => /^\s+(\S+)\s{2,}(.*)$/.exec(line))
  .filter(Boolean)
  .map((m) => ({ name: m[1], summary: m[2] }));

const out = [
  `.TH PORTTRIGGER 8 "" "porttrigger ${roff(version)}" "System Administration"`,
  '.SH NAME',
  `porttrigger \\- ${roff(top.title.replace(/^porttrigger:\s*/, ''))}`,
  '.SH SYNOPSIS',
  ...(top.parts.find((p) => p.name === 'Usage')?.lines ?? []).map((l) => `.nf\n${roff(l.trim())}\n.fi`),
  '.SH DESCRIPTION',
  'porttrigger opens ports to a LAN host for a while after that host connects out on a trigger port.',
  'nftables does the packet work; the service keeps the rules, the REST API, the web panel and the event history.',
  'The service runs under systemd as \\fBporttrigger.service\\fR and reads \\fI/etc/porttrigger/config.yaml\\fR.',
  '.SH COMMANDS',
];
for (const { name, summary } of commands) {
  const own = sections(help(name));
  out.push(`.SS ${roff(name)}`, roff(summary));
  for (const part of own.parts) {
    if (part.name === 'Global options') continue;
    if (part.name === 'Usage') out.push(...part.lines.map((l) => `.nf\n${roff(l.trim())}\n.fi`));
    else if (part.name === 'Options') out.push(optionList(part.lines));
    else out.push('.PP', part.name ? `${roff(part.name)}:` : '', ...part.lines.map((l) => roff(l.trim())).map((l) => `${l}\n.br`));
  }
}
const global = top.parts.find((p) => p.name === 'Global options');
if (global) out.push('.SH OPTIONS', optionList(global.lines));
const closing = top.parts.filter((p) => p.name === '').flatMap((p) => p.lines);
if (closing.length > 0) out.push('.SH EXIT STATUS', roff(closing.map((l) => l.trim()).join(' ')));
out.push(
  '.SH FILES',
  '.TP\n.I /etc/porttrigger/config.yaml\nthe rules and settings (a conffile); \\fBsystemctl reload porttrigger\\fR applies it',
  '.TP\n.I /var/lib/porttrigger\nthe API token and the event history',
  '.SH SEE ALSO',
  '.BR nft (8),',
  '.BR conntrack (8),',
  '.BR systemctl (1),',
  '/usr/share/doc/porttrigger/',
);
process.stdout.write(`${out.filter((l) => l !== '').join('\n')}\n`);
