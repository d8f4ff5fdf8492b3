/**
 * The web panel: server-rendered pages (hono/jsx) with htmx for the live parts, on the same origin as the REST
 * API. A face like the CLI: its pages call the route table's operations and the service in-process and show
 * their issues. The security in front of them is security.tsx; each page is a module of pages/.
 */
import { Hono } from 'hono';
import { loadAssets } from './assets.js';
import { type Env, type PanelDeps, panelContext } from './context.js';
import { learnRoutes } from './learn-routes.js';
import { checkPage } from './pages/check.js';
import { eventsStream } from './pages/events.js';
import { historyPage } from './pages/history.js';
import { overviewPage } from './pages/overview.js';
import { rulePages } from './pages/rules.js';
import { tablePage } from './pages/table.js';
import { guardRequests, requireSignIn } from './security.js';

export type { PanelDeps, PanelLogger } from './context.js';
export { SESSION_COOKIE } from './security.js';
export type { Finding } from './views/overview.js';

/**
 * Builds the panel. Mount it at `/` next to the API (the API keeps `/api/v1`).
 * @example const panel = createPanel({ service, gate, allowedHosts: { addresses: ['127.0.0.1'], names: [] } })
 */
export function createPanel(deps: PanelDeps): Hono<Env> {
  const ctx = panelContext(deps);
  const assets = deps.assets ?? loadAssets();
  const app = new Hono<Env>();

  guardRequests(app, deps, ctx);
  app.get('/assets/:file', (c) => {
    const asset = assets.get(c.req.param('file'));
    if (!asset) return c.text('Not found', 404);
    return c.body(asset.body, 200, { 'Content-Type': asset.type, 'Cache-Control': 'no-cache' });
  });
  requireSignIn(app, deps, ctx);

  overviewPage(app, ctx, deps.doctor);
  rulePages(app, ctx);
  learnRoutes(app, ctx);
  tablePage(app, ctx);
  checkPage(app, ctx);
  historyPage(app, ctx);
  eventsStream(app, ctx, deps.feed);

  app.notFound((c) => c.text('Not found', 404));
  app.onError((error, c) => {
    ctx.log?.error('panel request failed', { path: c.req.path, error });
    return c.text('Something went wrong; the service log has the details.', 500);
  });
  return app;
}
