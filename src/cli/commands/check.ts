import type { CheckResult } from '../api-client.js';
import { createApiClient } from '../api-client.js';
import { invalidArgument } from '../argument-values.js';
import type { Command } from '../context.js';
import { formatDuration, MARKS, staleNote } from '../format.js';
import { printJson } from '../output.js';

/**
 * Parses `PORT[/PROTO]` (`7000`, `7000/udp`).
 * @example parsePortArg('7000/udp') // { port: 7000, protocol: 'udp' }
 */
export function parsePortArg(text: string): { port: number; protocol?: 'tcp' | 'udp' } {
  const m = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(text.trim());
  const port = Number(m?.[1]);
  if (!m || port < 1 || port > 65535) {
    throw invalidArgument('check', text, 'expected PORT or PORT/PROTO (a port 1-65535, tcp or udp)');
  }
  return m[2] ? { port, protocol: m[2].toLowerCase() as 'tcp' | 'udp' } : { port };
}

/** Port check answers in words: open or closed, for which rule, to which host. `now` dates the expiries. */
export function formatCheck(results: readonly CheckResult[], now: number): string {
  const lines: string[] = [];
  const stale = results.find((r) => r.stale);
  if (stale) lines.push(staleNote(stale, now).trimEnd());
  for (const r of results) {
    const what = `${r.protocol} ${r.port}`;
    if (r.matches.length === 0) {
      lines.push(`${MARKS.fail} ${what} is closed: no rule opens it.`);
      continue;
    }
    lines.push(r.open ? `${MARKS.ok} ${what} is open now:` : `${MARKS.fail} ${what} is closed now:`);
    for (const m of r.matches) {
      if (!m.enabled) {
        lines.push(`    rule "${m.rule}" opens it, but the rule is disabled`);
      } else if (m.entries.length === 0) {
        lines.push(`    rule "${m.rule}" opens it, but no LAN host has triggered it`);
      }
      for (const e of m.enabled ? m.entries : []) {
        const from = e.remote ? `from ${e.remote} only` : 'from anywhere';
        lines.push(
          `    rule "${m.rule}" forwards it to ${e.holder} (${e.family}, ${from}), expires in ${formatDuration(e.expiresAt - now)}`,
        );
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `porttrigger check PORT[/PROTO]`: is this port open right now, for which rule, to which host. */
export const checkCommand: Command = {
  spec: {
    name: 'check',
    summary: 'is a port open right now, for which rule, to which host',
    usage: ['check PORT[/PROTO] [--json]'],
    options: {},
    positionals: { min: 1, max: 1 },
    json: true,
    details:
      'Without /PROTO both tcp and udp are checked. Exit code 0 either way.\nExample: porttrigger check 7000/udp',
  },
  async run(args, ctx) {
    const { port, protocol } = parsePortArg(args.positionals[0]!);
    const api = await createApiClient(args, ctx);
    const protocols = protocol ? [protocol] : (['tcp', 'udp'] as const);
    const results = await Promise.all(protocols.map((p) => api.check(port, p)));
    if (args.values['json'] === true) printJson(ctx, protocol ? results[0] : results);
    else ctx.stdout.write(formatCheck(results, Date.now()));
  },
};
