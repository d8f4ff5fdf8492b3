/**
 * The panel's live connection: a signal to refresh for every page, and for the live table's page the rows that
 * changed, pushed as they happen (a refresh would read the kernel again).
 */
import { streamSSE } from 'hono/streaming';
import {
  DEFAULT_FEED_LIMITS,
  type FeedLimits,
  feedSinkOf,
  runLiveFeed,
  sseMessage,
} from '../../service/live-feed.js';
import type { PanelApp, PanelContext } from '../context.js';
import { liveTableFeed } from './table.js';

/** How often the live table's page gets its whole table again, for what changes without an event. */
const TABLE_SNAPSHOT_EVERY_MS = 10_000;

/** Registers `/events` (`?view=table`: with the live table's swaps) on the panel (behind its session check). */
export function eventsStream(app: PanelApp, ctx: PanelContext, limits?: Partial<FeedLimits>): void {
  const feed: FeedLimits = { ...DEFAULT_FEED_LIMITS, ...limits };
  const table = liveTableFeed(ctx);
  app.get('/events', (c) => {
    const csrf = ctx.csrfOf(c);
    const withTable = c.req.query('view') === 'table';
    // Several events between two writes are one refresh.
    const changed = () => sseMessage({ event: 'changed', data: String(ctx.clock()) });
    const live = (html: string) => (html ? sseMessage({ event: 'live', data: html }) : '');
    return streamSSE(c, async (stream) => {
      await runLiveFeed(feedSinkOf(stream, c.env), {
        ...feed,
        subscribe: (listener, onClose) => ctx.service.subscribe(listener, onClose),
        render: withTable ? async (events) => live(await table.updates(events, csrf)) : changed,
        ...(withTable
          ? {
              // A failed read leaves the page as it is; the next snapshot or event brings it up to date.
              snapshot: () => table.snapshot(csrf).then(live, () => ''),
              snapshotEveryMs: TABLE_SNAPSHOT_EVERY_MS,
            }
          : {}),
        onDrop: (why) => ctx.log?.warn('a live panel client was dropped', { why }),
      });
    });
  });
}
