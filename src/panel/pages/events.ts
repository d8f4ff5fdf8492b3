/** The panel's live connection: a signal to refresh, the fragments carry the data. */
import { streamSSE } from 'hono/streaming';
import {
  DEFAULT_FEED_LIMITS,
  type FeedLimits,
  feedSinkOf,
  runLiveFeed,
  sseMessage,
} from '../../service/live-feed.js';
import type { PanelApp, PanelContext } from '../context.js';

/** Registers `/events` on the panel (behind its session check). */
export function eventsStream(app: PanelApp, ctx: PanelContext, limits?: Partial<FeedLimits>): void {
  const feed: FeedLimits = { ...DEFAULT_FEED_LIMITS, ...limits };
  app.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      await runLiveFeed(feedSinkOf(stream, c.env), {
        ...feed,
        subscribe: (listener, onClose) => ctx.service.subscribe(listener, onClose),
        // Several events between two writes are one refresh.
        render: () => sseMessage({ event: 'changed', data: String(ctx.clock()) }),
        onDrop: (why) => ctx.log?.warn('a live panel client was dropped', { why }),
      });
    }),
  );
}
