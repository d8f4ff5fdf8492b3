/** The overview page: the state at a glance, its live part, the doctor's findings and the global switch. */
import type { Context } from 'hono';
import { runOperation } from '../../routes/operations.js';
import type { Env, Notice, PageStatus, PanelApp, PanelContext } from '../context.js';
import { NoticeSwap } from '../views/layout.js';
import type { Finding } from '../views/overview.js';
import { Findings, Overview, OverviewLive, SwitchCard } from '../views/overview.js';

/** Registers the overview on the panel (behind its session and CSRF checks). */
export function overviewPage(
  app: PanelApp,
  ctx: PanelContext,
  runDoctor: (() => Promise<readonly Finding[]>) | undefined,
): void {
  const { service, clock } = ctx;
  let findings: { at: number; wan: string; value: Promise<readonly Finding[]> } | undefined;
  const doctor = (): Promise<readonly Finding[]> | undefined => {
    if (!runDoctor) return undefined;
    // The checks run programs: at most once a minute, or at once when the WAN changed (its address is shown).
    const wan = JSON.stringify(service.wan());
    if (!findings || clock() - findings.at > 60_000 || findings.wan !== wan) {
      findings = { at: clock(), wan, value: runDoctor() };
    }
    return findings.value;
  };
  const overview = async (c: Context<Env>, notice: Notice = ctx.notice(c), status: PageStatus = 200) =>
    ctx.page(
      c,
      {
        title: 'Overview',
        page: 'overview',
        csrf: ctx.csrfOf(c),
        notice,
        children: (
          <Overview
            config={service.config}
            table={await service.table()}
            health={service.health()}
            wan={service.wan()}
            csrf={ctx.csrfOf(c)}
            now={clock()}
          />
        ),
      },
      status,
    );

  app.get('/', (c) => overview(c));
  app.get('/overview/live', async (c) =>
    c.html(
      <OverviewLive
        config={service.config}
        table={await service.table()}
        health={service.health()}
        wan={service.wan()}
        now={clock()}
      />,
    ),
  );
  // The checks run programs: the page comes first, the findings follow.
  app.get('/overview/doctor', async (c) => c.html(<Findings findings={await doctor()} />));
  /**
   * The global switch, through the same operation as `POST /api/v1/enable` and `/disable`. From the page's
   * script (htmx) the answer is the switch in its new state and the notice, swapped in place; a plain form gets
   * the overview again.
   */
  app.post('/switch', async (c) => {
    const form = await c.req.parseBody();
    const on = form['enabled'] === 'on';
    let failed: { notice: Notice; status: PageStatus } | undefined;
    try {
      await runOperation(service, on ? 'switchOn' : 'switchOff');
    } catch (error) {
      failed = ctx.failure(error);
    }
    if (!c.req.header('hx-request')) {
      return failed
        ? overview(c, failed.notice, failed.status)
        : c.redirect(`/?done=switched-${on ? 'on' : 'off'}`, 303);
    }
    const notice: Notice = failed?.notice ?? {
      kind: 'ok',
      text: on ? 'Port triggering is on.' : 'Port triggering is off.',
    };
    return c.html(
      `${String(<SwitchCard enabled={service.config.enabled} csrf={ctx.csrfOf(c)} />)}${String(<NoticeSwap notice={notice} />)}`,
      failed?.status ?? 200,
    );
  });
}
