/** The port check page: the form, and the answer of the check operation (its query schema is the API's). */

import type { Child } from 'hono/jsx';
import { InvalidInputError } from '../../domain/errors.js';
import { runOperation } from '../../routes/operations.js';
import type { PanelApp, PanelContext } from '../context.js';
import { PortCheckPage } from '../views/check.js';

/** Registers the port check on the panel (behind its session check). */
export function checkPage(app: PanelApp, ctx: PanelContext): void {
  const { service } = ctx;
  app.get('/check', async (c) => {
    const port = c.req.query('port') ?? '';
    const protocol = c.req.query('protocol') ?? 'tcp';
    const props = { port, protocol, config: service.config, hosts: await ctx.hostsOf() };
    const show = (children: Child, status: 200 | 400 = 200) =>
      ctx.page(c, { title: 'Port check', page: 'check', csrf: ctx.csrfOf(c), children }, status);
    if (port === '') return show(<PortCheckPage {...props} issues={[]} />);
    try {
      const result = await runOperation(service, 'checkPort', { query: { port, protocol } });
      return show(<PortCheckPage {...props} issues={[]} result={result} now={ctx.clock()} />);
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return show(<PortCheckPage {...props} issues={error.issues} />, 400);
    }
  });
}
