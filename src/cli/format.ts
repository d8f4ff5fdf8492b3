import type { Issue } from '../domain/errors.js';
import { formatPath } from '../domain/errors.js';
import type { PortSpec, Rule, TriggerTable } from '../domain/types.js';

/** Marks for a check result, the same in every command. */
export const MARKS = { ok: '✔', warn: '⚠', fail: '✘' } as const;

/**
 * A duration for people: `5s`, `1m 05s`, `2h 03m`, `3d 04h`; negative durations count as zero.
 * @example formatDuration(65_000) // '1m 05s'
 */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/** A moment in local time, `YYYY-MM-DD HH:MM:SS`, from milliseconds or an ISO string. */
export function formatTime(at: number | string): string {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return String(at);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * Rows under headers. On a terminal the columns are aligned with spaces; otherwise they are separated by tabs,
 * one record per line, for `cut` and `awk`.
 */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  options: { readonly tty: boolean },
): string {
  if (!options.tty) return [headers, ...rows].map((r) => `${r.join('\t')}\n`).join('');
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    `${r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()}\n`;
  return [line(headers), ...rows.map(line)].join('');
}

/** Port specs as one short text: `tcp 6970, udp 7000-7010`; `both` is written `tcp+udp`. */
export function formatPortSpecs(specs: readonly PortSpec[]): string {
  return specs.map((s) => `${s.protocol === 'both' ? 'tcp+udp' : s.protocol} ${s.ports}`).join(', ');
}

/** Every issue on its own line with its path: `  ✘ rules[2].open[0].ports: ... (bad_ports)`. */
export function formatIssues(issues: readonly Issue[], kind: 'error' | 'warning'): string {
  const mark = kind === 'error' ? MARKS.fail : MARKS.warn;
  return issues
    .map((i) => `  ${mark} ${formatPath(i.path) || '(top level)'}: ${i.message} (${i.code})\n`)
    .join('');
}

/** The line that says an answer is the last table read because a fresh read was slow; empty when fresh. */
export function staleNote(answer: { readonly at: number; readonly stale?: true }, now: number): string {
  return answer.stale
    ? `Note: the kernel did not answer in time; this is the table read ${formatDuration(Math.max(0, now - answer.at))} ago.\n`
    : '';
}

/**
 * Formats the trigger table the way `porttrigger status` prints it, entries first, then recent conflicts;
 * `readAt` (default now) dates the note of a stale table.
 */
export function formatTriggerTable(
  table: TriggerTable,
  options: { readonly tty: boolean; readonly readAt?: number },
): string {
  const now = table.at;
  const parts: string[] = [staleNote(table, options.readAt ?? Date.now())];
  if (table.entries.length === 0) {
    parts.push('No active entries: every open port is closed.\n');
  } else {
    parts.push(`Active entries (${table.entries.length}):\n`);
    const rows = table.entries.map((e) => [
      e.rule,
      e.family,
      e.holder,
      e.remote ?? 'any',
      e.openedAt === undefined ? '-' : `${formatDuration(now - e.openedAt)} ago`,
      formatDuration(e.expiresAt - now),
    ]);
    parts.push(renderTable(['RULE', 'FAMILY', 'HOLDER', 'REMOTE', 'OPENED', 'EXPIRES IN'], rows, options));
  }
  if (table.conflicts.length > 0) {
    parts.push(`\nRecent conflicts (${table.conflicts.length}):\n`);
    const rows = [...table.conflicts]
      .sort((a, b) => b.at - a.at)
      .map((c) => [
        c.rule,
        c.family,
        c.contender,
        // The kernel reads the holder back at read time: a contender that holds the rule now was not its holder.
        c.holder === undefined || c.holder === c.contender ? '-' : c.holder,
        c.remote ?? 'any',
        `${formatDuration(now - c.at)} ago`,
      ]);
    parts.push(renderTable(['RULE', 'FAMILY', 'CONTENDER', 'HOLDER', 'REMOTE', 'WHEN'], rows, options));
  }
  if (table.blocked.length > 0) {
    parts.push(`\nRecently blocked (${table.blocked.length}):\n`);
    const rows = [...table.blocked]
      .sort((a, b) => b.at - a.at)
      .map((b) => [b.rule, b.family, b.host, `${formatDuration(now - b.at)} ago`]);
    parts.push(renderTable(['RULE', 'FAMILY', 'HOST', 'WHEN'], rows, options));
  }
  return parts.join('');
}

/** Rules as `porttrigger rules list` prints them. */
export function formatRules(rules: readonly Rule[], options: { readonly tty: boolean }): string {
  if (rules.length === 0) return 'No rules.\n';
  const rows = rules.map((r) => [
    r.name,
    r.enabled ? 'yes' : 'no',
    formatPortSpecs(r.trigger),
    formatPortSpecs(r.open),
    formatDuration(r.idleTimeout * 1000),
    r.remote,
    r.lanHosts === 'any' ? 'any' : r.lanHosts.join(','),
  ]);
  return renderTable(['NAME', 'ENABLED', 'TRIGGER', 'OPEN', 'IDLE', 'REMOTE', 'LAN HOSTS'], rows, options);
}
