/**
 * The history page and its live list: the filters of the form become the query of the events operation (the
 * API's schema and time parsing); the form's times have no zone and mean UTC.
 */
import type { Context } from 'hono';
import { InvalidInputError, type Issue, PorttriggerError } from '../../domain/errors.js';
import { runOperation } from '../../routes/operations.js';
import type { PublishedEvent } from '../../service/events.js';
import type { Env, PanelApp, PanelContext } from '../context.js';
import { type HistoryFilter, HistoryList, HistoryPage } from '../views/history.js';

const HISTORY_PAGE = 50;

/** A `datetime-local` value (no zone) as the UTC time it stands for; a time with a zone stays as it is. */
function utc(time: string): string {
  return /(Z|[+-]\d\d:?\d\d)$/i.test(time) ? time : `${time}Z`;
}

interface History {
  readonly filter: HistoryFilter;
  readonly issues: readonly Issue[];
  readonly events: readonly PublishedEvent[];
  readonly next: string | undefined;
  readonly cursor: string | undefined;
}

async function historyOf(ctx: PanelContext, c: Context<Env>): Promise<History> {
  const raw = c.req.query();
  const filter: HistoryFilter = {
    rule: raw['rule'] ?? '',
    host: raw['host'] ?? '',
    type: raw['type'] ?? '',
    since: raw['since'] ?? '',
    until: raw['until'] ?? '',
  };
  const cursor = raw['cursor'] || undefined;
  const query: Record<string, string> = { limit: String(HISTORY_PAGE) };
  for (const [key, value] of Object.entries(filter)) {
    if (value !== '') query[key] = key === 'since' || key === 'until' ? utc(value) : value;
  }
  if (cursor !== undefined) query['cursor'] = cursor;
  try {
    const page = await runOperation(ctx.service, 'listEvents', { query });
    const params = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== ''));
    if (page.nextCursor !== undefined) params.set('cursor', page.nextCursor);
    return {
      filter,
      issues: [],
      events: page.events as readonly PublishedEvent[],
      next: page.nextCursor !== undefined ? `/history?${params}` : undefined,
      cursor,
    };
  } catch (error) {
    if (!(error instanceof PorttriggerError)) throw error;
    const issues =
      error instanceof InvalidInputError
        ? error.issues
        : [{ path: [], code: error.code, message: error.message }];
    return { filter, issues, events: [], next: undefined, cursor };
  }
}

/** Registers the history on the panel (behind its session check). */
export function historyPage(app: PanelApp, ctx: PanelContext): void {
  app.get('/history', async (c) => {
    const h = await historyOf(ctx, c);
    const listUrl = `/history/list?${new URL(c.req.url).searchParams}`;
    return ctx.page(
      c,
      {
        title: 'History',
        page: 'history',
        csrf: ctx.csrfOf(c),
        children: (
          <HistoryPage
            filter={h.filter}
            rules={ctx.service.config.rules.map((r) => r.name)}
            issues={h.issues}
            listUrl={listUrl}
            live={h.cursor === undefined}
          >
            <HistoryList events={h.events} next={h.next} />
          </HistoryPage>
        ),
      },
      h.issues.length > 0 ? 400 : 200,
    );
  });
  app.get('/history/list', async (c) => {
    const h = await historyOf(ctx, c);
    return c.html(<HistoryList events={h.events} next={h.next} />);
  });
}
