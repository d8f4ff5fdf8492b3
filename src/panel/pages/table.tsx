/**
 * The live trigger table: the page, its fragment, what the event stream pushes for it, and releasing entries
 * through the release operation.
 */
import type { Context } from 'hono';
import type { JSX } from 'hono/jsx/jsx-runtime';
import { runOperation } from '../../routes/operations.js';
import { isWanEvent, type ServiceEvent, type TriggerEvent } from '../../service/events.js';
import type { Env, Notice, PageStatus, PanelApp, PanelContext } from '../context.js';
import { LiveTable, LiveUpdates } from '../views/live.js';

/** The event stream of the live table's page: the panel's stream with the table's swaps. */
export const TABLE_STREAM = '/events?view=table';

/** The live table's part of the panel's event stream: its whole state, and the rows each batch of events changes. */
export interface LiveTableFeed {
  /** The live table as the page shows it. */
  whole(csrf: string): Promise<JSX.Element>;
  /** The whole live table as one out-of-band swap (the page's first state, and the periodic refresh). */
  snapshot(csrf: string): Promise<string>;
  /** The rows and items that `events` add or remove, as out-of-band swaps (the WAN's events change none). */
  updates(events: readonly ServiceEvent[], csrf: string): Promise<string>;
}

/** The live table of the trigger table as the panel shows it, on its own and as pushed swaps. */
export function liveTableFeed(ctx: PanelContext): LiveTableFeed {
  const { service, clock } = ctx;
  const whole = async (csrf: string) => (
    <LiveTable
      table={await service.table()}
      rules={service.config.rules}
      hosts={await ctx.hostsOf()}
      csrf={csrf}
      now={clock()}
    />
  );
  return {
    whole,
    snapshot: async (csrf) =>
      String(
        <div id="live-table" hx-swap-oob="innerHTML">
          {await whole(csrf)}
        </div>,
      ),
    updates: async (events, csrf) => {
      const entries = events.filter((e): e is TriggerEvent => !isWanEvent(e));
      if (entries.length === 0) return '';
      return String(
        <LiveUpdates events={entries} hosts={await ctx.hostsKnown()} csrf={csrf} now={clock()} />,
      );
    },
  };
}

/** Registers the live table on the panel (behind its session and CSRF checks). */
export function tablePage(app: PanelApp, ctx: PanelContext): void {
  const { service } = ctx;
  const feed = liveTableFeed(ctx);
  const liveTable = (c: Context<Env>) => feed.whole(ctx.csrfOf(c));
  // The page's own stream pushes the table's changes as they happen (pages/events.ts); without scripts the
  // page is whole as served.
  const page = async (c: Context<Env>, notice: Notice = ctx.notice(c), status: PageStatus = 200) =>
    ctx.page(
      c,
      {
        title: 'Live trigger table',
        page: 'table',
        csrf: ctx.csrfOf(c),
        notice,
        stream: TABLE_STREAM,
        children: (
          <>
            <div id="live-table">{await liveTable(c)}</div>
            <div id="live-updates" sse-swap="live" hx-swap="none" hidden />
          </>
        ),
      },
      status,
    );

  // No fragment of the table alone: the page's stream pushes its snapshot and rows, and the API has `GET /table`.
  app.get('/table', (c) => page(c));
  app.post('/table/release', async (c) => {
    const form = await c.req.parseBody();
    // Empty fields are absent: the release body of the API, checked by its schema.
    const body = Object.fromEntries(
      ['rule', 'holder', 'remote', 'family']
        .map((k) => [k, form[k]] as const)
        .filter(([, v]) => typeof v === 'string' && v !== ''),
    );
    try {
      await runOperation(service, 'release', { body });
    } catch (error) {
      const { notice, status } = ctx.failure(error);
      return page(c, notice, status);
    }
    return c.redirect('/table?done=released', 303);
  });
}
