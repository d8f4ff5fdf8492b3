import { existsSync, readFileSync } from 'node:fs';
import type { PartResult, Row, RunResults } from './lib/results.js';
import type { Summary } from './lib/stats.js';

/** One measured number in its unit, compact. */
export function formatValue(x: number, unit: string): string {
  switch (unit) {
    case 'pkt/s':
      return `${Math.round(x / 1000).toLocaleString('en')} k`;
    case 'decisions/s':
      return `${(x / 1e6).toFixed(2)} M`;
    case 'Mbit/s':
    case 'MB':
      return Math.round(x).toLocaleString('en');
    case 'ms':
      return x < 10 ? x.toFixed(2) : Math.round(x).toLocaleString('en');
    case 'fraction':
      return `${(x * 100).toFixed(1)} %`;
    case '% of one CPU':
      return `${x.toFixed(2)} %`;
    default:
      return x.toPrecision(4);
  }
}

function cell(s: Summary | undefined, unit: string): string {
  if (!s) return 'not measured';
  const range = s.n > 1 ? ` [${formatValue(s.min, unit)}–${formatValue(s.max, unit)}]` : '';
  return `${formatValue(s.median, unit)}${range}`;
}

/** A ratio as written in the tables: three decimals below 10, fewer above. */
export function formatRatio(r: number): string {
  return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(3);
}

function ratioCell(row: Row): string {
  if (row.ratio === undefined) return '—';
  const range = row.ratioRange
    ? ` (${formatRatio(row.ratioRange[0])}–${formatRatio(row.ratioRange[1])})`
    : '';
  return `**${formatRatio(row.ratio)}×**${range}`;
}

function goalCell(row: Row): string {
  if (!row.goal) return '';
  const verdict = row.goal.met === undefined ? 'undecided' : row.goal.met ? 'met' : '**MISSED**';
  return `${row.goal.text}: ${verdict}`;
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|');
}

function groupTable(rows: readonly Row[]): string[] {
  const first = rows[0]!;
  const out = [
    `#### ${first.group}`,
    '',
    `Unit: ${first.unit}. Baseline: ${first.baselineLabel}. Cells: median [min–max]; ratio = measured ÷ baseline (${first.better} is better).`,
    '',
    '| Configuration | Baseline | Measured | n | Ratio | Goal | Note |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const n = `${r.value?.n ?? 0}/${r.baseline?.n ?? 0}`;
    out.push(
      `| ${escapeCell(r.label)} | ${cell(r.baseline, r.unit)} | ${cell(r.value, r.unit)} | ${n} | ${ratioCell(r)} | ${escapeCell(goalCell(r))} | ${escapeCell(r.note ?? '')} |`,
    );
  }
  out.push('');
  return out;
}

function partSection(part: PartResult): string[] {
  const status =
    part.status === 'ok'
      ? 'complete'
      : `${part.status.toUpperCase()}${part.reason ? `: ${part.reason}` : ''}`;
  const out = [
    `## ${part.title}`,
    '',
    `Status: ${status}${part.durationS !== undefined ? ` (${part.durationS} s)` : ''}.`,
    '',
  ];
  const groups = new Map<string, Row[]>();
  for (const r of part.rows) groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
  for (const rows of groups.values()) out.push(...groupTable(rows));
  if (part.findings.length > 0) {
    out.push('**Evidence captured in this run**', '');
    for (const f of part.findings) out.push(`- ${f}`);
    out.push('');
  }
  if (part.method.length > 0) {
    out.push('<details><summary>Method</summary>', '');
    for (const m of part.method) out.push(`- ${m}`);
    out.push('', '</details>', '');
  }
  return out;
}

function goalsTable(parts: readonly PartResult[]): string[] {
  const rows = parts.flatMap((p) => p.rows.filter((r) => r.goal).map((r) => ({ p, r })));
  if (rows.length === 0) return [];
  const out = [
    '## Goals',
    '',
    '| Part | Figure | Goal | Measured (the figure judged) | Verdict |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const { p, r } of rows) {
    const suffix = r.unit === 'fraction' || r.unit.startsWith('%') ? '' : ` ${r.unit}`;
    // The verdict's own figure where it is not the median (a p99, a maximum, a total), so the two agree.
    const judged = r.goal!.compared ?? (r.value ? { statistic: 'median', value: r.value.median } : undefined);
    const measured = judged
      ? `${formatValue(judged.value, r.unit)}${suffix} (${judged.statistic})`
      : 'not measured';
    const verdict = r.goal!.met === undefined ? 'undecided' : r.goal!.met ? 'met' : '**missed**';
    const ratio = r.ratio !== undefined ? ` (${formatRatio(r.ratio)}× baseline)` : '';
    out.push(
      `| ${p.id.toUpperCase()} | ${escapeCell(`${r.group.replace(/^B\d /, '')}: ${r.label}`)} | ${escapeCell(r.goal!.text)} | ${escapeCell(measured + ratio)} | ${verdict} |`,
    );
  }
  out.push('');
  return out;
}

/** The rows the README quotes, by id, and how to say what each compares. */
const HEADLINES: readonly { id: string; says: string }[] = [
  {
    id: 'pt-1:udpCapW2L',
    says: 'router capacity for 64-byte UDP WAN→LAN through an open port, porttrigger with 1 rule ÷ masquerade + static DNAT',
  },
  {
    id: 'gap-0',
    says: 'inbound packets delivered when sent immediately after the trigger, porttrigger ÷ static DNAT',
  },
  {
    id: 'time-to-open',
    says: 'time from request to the first delivered inbound packet, miniupnpd (upnpc) ÷ porttrigger (trigger)',
  },
];

function headlines(parts: readonly PartResult[]): string[] {
  const rows = parts.flatMap((p) => p.rows);
  const out: string[] = [];
  for (const h of HEADLINES) {
    const r = rows.find((x) => x.id === h.id);
    if (r?.ratio === undefined) continue;
    const range = r.ratioRange
      ? ` (per-round ${formatRatio(r.ratioRange[0])}–${formatRatio(r.ratioRange[1])})`
      : '';
    out.push(`- **${formatRatio(r.ratio)}×**${range}: ${h.says}.`);
  }
  return out.length > 0 ? ['## Headline ratios', '', ...out, ''] : [];
}

/** RESULTS.md for a run: machine, versions, method, one table per figure, goals, captured evidence. */
export function renderResults(results: RunResults, analysisFile: string): string {
  const { meta, parts } = results;
  const lines = [
    '# porttrigger benchmarks',
    '',
    `Generated by \`npm run bench${meta.mode === 'quick' ? ' -- --quick' : ''}\` on ${meta.startedAt} (finished ${meta.finishedAt ?? '?'}). Every figure is a ratio against a baseline measured in the same run; absolute numbers are listed for reference only and hold for this machine alone.`,
    '',
    '| Machine | |',
    '| --- | --- |',
    ...Object.entries(meta.machine).map(([k, v]) => `| ${k} | ${escapeCell(v)} |`),
    ...Object.entries(meta.versions).map(([k, v]) => `| ${k} | ${escapeCell(v)} |`),
    `| load average (1/5/15 min) at start | ${meta.loadBefore.join(' / ')} |`,
    `| load average at end | ${meta.loadAfter?.join(' / ') ?? '?'} |`,
    '',
  ];
  if (meta.busyNeighbours && meta.busyNeighbours.length > 0) {
    lines.push(
      `Other processes used CPU while this run measured (the machine is shared; interleaved rounds and ratios limit, but do not remove, their effect): ${meta.busyNeighbours.map(escapeCell).join('; ')}.`,
      '',
    );
  }
  for (const note of meta.notes) lines.push(`- ${note}`);
  if (meta.notes.length > 0) lines.push('');
  lines.push(...headlines(parts), ...goalsTable(parts));
  for (const part of parts) lines.push(...partSection(part));
  if (existsSync(analysisFile)) lines.push(readFileSync(analysisFile, 'utf8').trim(), '');
  return `${lines.join('\n')}\n`;
}
