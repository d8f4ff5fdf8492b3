import { DURATION_GRAMMAR, parseDuration } from '../../domain/duration.js';
import { describeWanEvent, EVENT_TYPES, hostsOfEvent, isEventType } from '../../service/events.js';
import type { ApiEvent, EventQuery, StreamQuery } from '../api-client.js';
import { createApiClient } from '../api-client.js';
import { booleanOption, stringOption } from '../args.js';
import { invalidArgument } from '../argument-values.js';
import type { Command } from '../context.js';
import { formatTime, renderTable } from '../format.js';
import { printJson } from '../output.js';

/**
 * Parses `--since`/`--until`: an ISO date, or a duration back from `now` in the one duration grammar (`90`,
 * `15m`, `2h`, `1d`, `1h30m`). Returns milliseconds since the epoch.
 * @example parseMoment('15m', Date.parse('2025-01-01T00:15:00Z')) // Date.parse('2025-01-01T00:00:00Z')
 */
export function parseMoment(text: string, now: number, flag = '--since'): number {
  const t = text.trim();
  const d = parseDuration(t);
  if (d.ok) return now - d.seconds * 1000;
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const at = Date.parse(t);
    if (!Number.isNaN(at)) return at;
  }
  throw invalidArgument(
    flag,
    text,
    `expected an ISO date (2025-06-01T10:00:00Z) or a duration: ${DURATION_GRAMMAR}`,
  );
}

function describeEvent(e: ApiEvent): string {
  const to = 'remote' in e && e.remote ? ` for ${e.remote}` : '';
  switch (e.type) {
    case 'opened':
      return `${e.host} holds it${to}`;
    case 'closed':
      return `${e.host} no longer holds it${to}: ${e.reason}`;
    case 'conflict':
      return `${e.contender} refused, held by ${e.holder ?? '?'}${to}`;
    case 'blocked':
      return `${e.host} is not in lanHosts`;
    case 'wan-changed':
    case 'wan-down':
    case 'wan-up':
      return describeWanEvent(e);
  }
}

/** One event as a table row: time, type, rule, family, what happened (`-` where the gateway's events have none). */
export function eventRow(e: ApiEvent): string[] {
  return [
    formatTime(e.at),
    e.type,
    'rule' in e ? e.rule : '-',
    'family' in e ? e.family : '-',
    describeEvent(e),
  ];
}

const HEADERS = ['TIME', 'TYPE', 'RULE', 'FAMILY', 'WHAT'];

/** `porttrigger events`: the event history, and with `--follow` the live stream. */
export const eventsCommand: Command = {
  spec: {
    name: 'events',
    summary: 'show the event history (entries, conflicts, WAN changes); --follow streams live',
    usage: [
      'events [--since ISO|DURATION] [--until ...] [--rule R] [--type T] [--host H] [--limit N] [--follow] [--json]',
    ],
    options: {
      since: {
        type: 'string',
        value: 'WHEN',
        description: 'from this ISO date or duration ago (90, 15m, 2h, 1d)',
      },
      until: { type: 'string', value: 'WHEN', description: 'up to this ISO date or duration ago' },
      rule: { type: 'string', value: 'RULE', description: 'only events of this rule' },
      type: { type: 'string', value: 'TYPE', description: `only one of ${EVENT_TYPES.join(', ')}` },
      host: { type: 'string', value: 'ADDRESS', description: 'only events of this LAN host' },
      limit: { type: 'string', value: 'N', description: 'at most N events of history (default 100)' },
      follow: {
        type: 'boolean',
        short: 'f',
        description: 'after the history, print new events until Ctrl-C',
      },
    },
    positionals: { min: 0, max: 0 },
    json: true,
    details: 'With --json and --follow, events are printed one JSON object per line.',
  },
  async run(args, ctx) {
    const now = Date.now();
    const type = stringOption(args, 'type');
    if (type !== undefined && !isEventType(type)) {
      throw invalidArgument('--type', type, `expected one of ${EVENT_TYPES.join(', ')}`);
    }
    const limitText = stringOption(args, 'limit');
    const limit = limitText === undefined ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1) {
      throw invalidArgument('--limit', limitText ?? '', 'expected a positive whole number');
    }
    const since = stringOption(args, 'since');
    const until = stringOption(args, 'until');
    const filter: StreamQuery = {
      ...(stringOption(args, 'rule') !== undefined ? { rule: stringOption(args, 'rule')! } : {}),
      ...(type !== undefined ? { type } : {}),
      ...(stringOption(args, 'host') !== undefined ? { host: stringOption(args, 'host')! } : {}),
    };
    const query: EventQuery = {
      ...filter,
      ...(since !== undefined ? { since: new Date(parseMoment(since, now)).toISOString() } : {}),
      ...(until !== undefined ? { until: new Date(parseMoment(until, now, '--until')).toISOString() } : {}),
    };
    const json = booleanOption(args, 'json');
    const follow = booleanOption(args, 'follow');
    const tty = ctx.stdout.isTTY === true;
    const api = await createApiClient(args, ctx);

    const history: ApiEvent[] = [];
    let cursor: string | number | undefined;
    do {
      const page = await api.listEvents({
        ...query,
        limit: Math.min(limit - history.length, 1000),
        ...(cursor !== undefined ? { cursor } : {}),
      });
      history.push(...page.events);
      cursor = page.nextCursor;
    } while (cursor !== undefined && history.length < limit);
    history.sort((a, b) => Number(new Date(a.at)) - Number(new Date(b.at)));

    if (json && !follow) printJson(ctx, history);
    else if (json) for (const e of history) ctx.stdout.write(`${JSON.stringify(e)}\n`);
    else if (history.length > 0 || !follow) {
      ctx.stdout.write(
        history.length === 0 ? 'No events.\n' : renderTable(HEADERS, history.map(eventRow), { tty }),
      );
    }
    if (!follow) return;

    const seen = new Set(history.map((e) => e.id).filter((id) => id !== undefined));
    const aborter = new AbortController();
    const offs = (['SIGINT', 'SIGTERM'] as const).map((s) => ctx.onSignal(s, () => aborter.abort()));
    if (!json && tty) ctx.stderr.write('Following new events (Ctrl-C to stop)…\n');
    try {
      await api.streamEvents(
        filter,
        (e) => {
          if (e.id !== undefined && seen.has(e.id)) return;
          if (filter.rule !== undefined && (!('rule' in e) || e.rule !== filter.rule)) return;
          if (filter.type !== undefined && e.type !== filter.type) return;
          if (filter.host !== undefined && !hostsOfEvent(e).includes(filter.host)) return;
          ctx.stdout.write(json ? `${JSON.stringify(e)}\n` : `${eventRow(e).join(tty ? '  ' : '\t')}\n`);
        },
        aborter.signal,
      );
    } finally {
      for (const off of offs) off();
    }
  },
};
