/** The routes of "Find the ports of an application": start, live view, stop, proposals. */
import type { Context, Hono } from 'hono';
import { parseAddress } from '../domain/address.js';
import { PorttriggerError } from '../domain/errors.js';
import type { HostInfo } from '../domain/neighbours.js';
import type { CheckedProposals } from '../service/learn-static-forwards.js';
import type { Service } from '../service/service.js';
import type { Session } from './sessions.js';
import type { LayoutProps } from './views/layout.js';
import { LEARN_MINUTES, LearnLive, LearnPage } from './views/learn.js';

type Env = { Variables: { session: Session } };

/** What the learn routes borrow from the panel. */
export interface LearnRouteDeps {
  readonly service: Service;
  readonly clock: () => number;
  readonly hostsOf: () => Promise<ReadonlyMap<string, HostInfo>>;
  readonly page: (
    c: Context,
    props: LayoutProps,
    status?: 200 | 400 | 409 | 502 | 503,
  ) => Response | Promise<Response>;
}

async function proposalsOf(service: Service): Promise<CheckedProposals> {
  try {
    return await service.learn.proposals();
  } catch {
    return { proposals: [], notes: [] }; // no session yet
  }
}

/** Registers the learn pages on the panel (behind its session and CSRF checks). */
export function learnRoutes(app: Hono<Env>, deps: LearnRouteDeps): void {
  const { service } = deps;
  const learnPage = async (
    c: Context<Env>,
    notice?: LayoutProps['notice'],
    status: 200 | 400 | 409 | 502 | 503 = 200,
  ) => {
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
      await service.learn.start({ ...(host ? { host } : {}), durationS });
    } catch (error) {
      if (!(error instanceof PorttriggerError)) throw error;
      const detail = error.code === 'INVALID_INPUT' && device === 'other' ? ` ("${other}")` : '';
      const status = error.code === 'INVALID_INPUT' ? 400 : error.code === 'LEARN_ACTIVE' ? 409 : 503;
      return learnPage(c, { kind: 'error', text: `${error.message}${detail}. Nothing started.` }, status);
    }
    return c.redirect('/learn', 303);
  });
  app.post('/learn/stop', async (c) => {
    await service.learn.stop();
    return c.redirect('/learn', 303);
  });
}
