/** The live trigger table: the page, its live fragment, and releasing entries through the release operation. */
import type { Context } from 'hono';
import { runOperation } from '../../routes/operations.js';
import type { Env, Notice, PageStatus, PanelApp, PanelContext } from '../context.js';
import { LiveTable } from '../views/live.js';

/** Registers the live table on the panel (behind its session and CSRF checks). */
export function tablePage(app: PanelApp, ctx: PanelContext): void {
  const { service, clock } = ctx;
  const liveTable = async (c: Context<Env>) => (
    <LiveTable
      table={await service.table()}
      rules={service.config.rules}
      hosts={await ctx.hostsOf()}
      csrf={ctx.csrfOf(c)}
      now={clock()}
    />
  );
  const page = async (c: Context<Env>, notice: Notice = ctx.notice(c), status: PageStatus = 200) =>
    ctx.page(
      c,
      {
        title: 'Live trigger table',
        page: 'table',
        csrf: ctx.csrfOf(c),
        notice,
        children: (
          <div id="live-table" hx-get="/table/live" hx-trigger="sse:changed, every 10s, catchup from:body">
            {await liveTable(c)}
          </div>
        ),
      },
      status,
    );

  app.get('/table', (c) => page(c));
  app.get('/table/live', async (c) => c.html(await liveTable(c)));
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
