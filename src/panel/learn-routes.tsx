/** The routes of "Find the ports of an application": start, live view, stop, proposals. */
import type { Context } from 'hono';
import { parseAddress } from '../domain/address.js';
import { PorttriggerError } from '../domain/errors.js';
import { runOperation } from '../routes/operations.js';
import type { CheckedProposals } from '../service/learn-static-forwards.js';
import type { Service } from '../service/service.js';
import type { Env, Notice, PageStatus, PanelApp, PanelContext } from './context.js';
import { LEARN_MINUTES, LearnLive, LearnPage } from './views/learn.js';

async function proposalsOf(service: Service): Promise<CheckedProposals> {
  try {
    return await service.learn.proposals();
  } catch {
    return { proposals: [], notes: [] }; // no session yet
  }
}

/** Registers the learn pages on the panel (behind its session and CSRF checks). */
export function learnRoutes(app: PanelApp, deps: PanelContext): void {
  const { service } = deps;
  const learnPage = async (c: Context<Env>, notice?: Notice, status: PageStatus = 200) => {
    const hosts = await deps.hostsOf();
    const { proposals, notes } = await proposalsOf(service);
    const devices = [...hosts.values()]
      .filter((h) => parseAddress(h.address)?.family === 'ipv4')
      .sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }));
    return deps.page(
      c,
      {
        title: 'Find the ports of an application',
        page: 'learn',
        csrf: c.get('session').csrf,
        notice,
        children: (
          <LearnPage
            status={service.learn.status()}
            proposals={proposals}
            notes={notes}
            devices={devices}
            csrf={c.get('session').csrf}
            now={deps.clock()}
          />
        ),
      },
      status,
    );
  };

  app.get('/learn', (c) => learnPage(c));
  app.get('/learn/live', (c) => {
    const status = service.learn.status();
    // Ended by itself: the whole page shows the proposals now.
    if (status.state !== 'running') {
      c.header('HX-Redirect', '/learn');
      return c.body(null, 204);
    }
    return c.html(<LearnLive status={status} now={deps.clock()} />);
  });
  app.post('/learn/start', async (c) => {
    const form = await c.req.parseBody();
    const device = typeof form['device'] === 'string' ? form['device'] : '';
    const other = typeof form['address'] === 'string' ? form['address'].trim() : '';
    const host = device === 'other' ? other : device;
    const minutes = Number(form['minutes']);
    const durationS = (LEARN_MINUTES as readonly number[]).includes(minutes) ? minutes * 60 : 300;
    try {
      await runOperation(service, 'startLearning', { body: { ...(host ? { host } : {}), durationS } });
    } catch (error) {
      if (!(error instanceof PorttriggerError)) throw error;
      const detail = error.code === 'INVALID_INPUT' && device === 'other' ? ` ("${other}")` : '';
      const { status } = deps.failure(error);
      return learnPage(c, { kind: 'error', text: `${error.message}${detail}. Nothing started.` }, status);
    }
    return c.redirect('/learn', 303);
  });
  app.post('/learn/stop', async (c) => {
    await service.learn.stop();
    return c.redirect('/learn', 303);
  });
}
