/**
 * The web panel: server-rendered pages (hono/jsx) with htmx for the live parts, on the same origin as the REST
 * API. It calls the service in-process like the REST routes do, and validates rules with the same schema, so
 * a form shows the same problems a REST client gets. Sessions, CSRF, Host and Origin checks live here.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { secureHeaders } from 'hono/secure-headers';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { canonicalAddress } from '../domain/address.js';
import { fromZodIssues, validateConfig, validateRule } from '../domain/config.js';
import { InvalidInputError, type Issue, PorttriggerError } from '../domain/errors.js';
import type { LearnProposal } from '../domain/learn/proposals.js';
import type { HostDirectory, HostInfo } from '../domain/neighbours.js';
import { findPreset, PRESETS, presetRuleInput } from '../domain/presets.js';
import type { Family } from '../domain/types.js';
import { issuesForRule, withRuleAdded, withRuleReplaced } from '../service/config-edit.js';
import {
  DEFAULT_FEED_LIMITS,
  type FeedLimits,
  feedSinkOf,
  runLiveFeed,
  sseMessage,
} from '../service/live-feed.js';
import type { Service } from '../service/service.js';
import { type Asset, loadAssets } from './assets.js';
import { learnRoutes } from './learn-routes.js';
import { hostAllowed, sameOrigin } from './origin.js';
import { EMPTY_FIELDS, fieldsFromForm, fieldsFromRule, type RuleFields, ruleInput } from './rule-form.js';
import {
  LoginLimiter,
  type LoginLimiterOptions,
  type Session,
  type SessionOptions,
  SessionStore,
  sameSecret,
} from './sessions.js';
import { Layout, type LayoutProps } from './views/layout.js';
import { LiveTable } from './views/live.js';
import {
  type Finding,
  Findings,
  type HistoryFilter,
  HistoryList,
  HistoryPage,
  Overview,
  OverviewLive,
  PortCheckPage,
  SignIn,
} from './views/pages.js';
import { DeleteConfirm, RuleForm, RuleList } from './views/rules.js';

export type { Finding } from './views/pages.js';

/** The part of a logger the panel uses (the service's logger fits). */
export interface PanelLogger {
  debug?(message: string, fields?: Readonly<Record<string, unknown>>): void;
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** What the panel needs; the composition root hands it over. */
export interface PanelDeps {
  readonly service: Service;
  /** Whether a presented token is the API token (constant time). */
  readonly verifyToken: (presented: string) => boolean;
  /** The Host headers answered: this machine's addresses and its configured names. */
  readonly allowedHosts: { readonly addresses: readonly string[]; readonly names: readonly string[] };
  /** Host names and MACs of LAN devices. */
  readonly hosts?: HostDirectory;
  /** The doctor's findings about this machine. */
  readonly doctor?: () => Promise<readonly Finding[]>;
  readonly logger?: PanelLogger;
  readonly sessions?: SessionOptions;
  readonly logins?: LoginLimiterOptions;
  /** The bounds of the live stream: heartbeat, backlog and write timeout of a client (default: DEFAULT_FEED_LIMITS). */
  readonly feed?: Partial<FeedLimits>;
  readonly clock?: () => number;
  /** The static files (default: read from the packages). */
  readonly assets?: ReadonlyMap<string, Asset>;
}

/** Name of the session cookie. */
export const SESSION_COOKIE = 'porttrigger_session';

const CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'"],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  baseUri: ["'none'"],
  frameAncestors: ["'none'"],
};

const NOTICES: Readonly<Record<string, string>> = {
  saved: 'The rule is saved and applied.',
  deleted: 'The rule is deleted.',
  enabled: 'The rule is on.',
  disabled: 'The rule is off.',
  released: 'Released: the ports are closed for that device.',
  'switched-on': 'Port triggering is on.',
  'switched-off': 'Port triggering is off.',
};

type Env = { Variables: { session: Session } };

function clientOf(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? 'unknown';
}

function isSecure(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:';
}

const checkQuery = z.object({
  port: z.coerce
    .number({ message: 'port must be a number' })
    .int('port must be a whole number')
    .min(1, 'port must be 1-65535')
    .max(65_535, 'port must be 1-65535'),
  protocol: z.enum(['tcp', 'udp']),
});

const historyQuery = z.object({
  rule: z.string().max(64).optional(),
  host: z
    .string()
    .refine((h) => canonicalAddress(h) !== undefined, 'is not an IPv4 or IPv6 address')
    .optional(),
  type: z.enum(['opened', 'closed', 'conflict', 'blocked']).optional(),
  since: z
    .string()
    .refine((t) => Number.isFinite(Date.parse(`${t}Z`)), 'is not a time')
    .optional(),
  until: z
    .string()
    .refine((t) => Number.isFinite(Date.parse(`${t}Z`)), 'is not a time')
    .optional(),
  cursor: z.coerce.number().int().min(0).optional(),
});

const HISTORY_PAGE = 50;

/**
 * Builds the panel. Mount it at `/` next to the API (the API keeps `/api/v1`).
 * @example const panel = createPanel({ service, verifyToken, allowedHosts: { addresses: ['127.0.0.1'], names: [] } })
 */
export function createPanel(deps: PanelDeps): Hono<Env> {
  const { service } = deps;
  const clock = deps.clock ?? Date.now;
  const sessions = new SessionStore({ clock, ...deps.sessions });
  const logins = new LoginLimiter({ clock, ...deps.logins });
  const assets = deps.assets ?? loadAssets();
  const feed: FeedLimits = { ...DEFAULT_FEED_LIMITS, ...deps.feed };
  const log = deps.logger;
  const hostsOf = async (): Promise<ReadonlyMap<string, HostInfo>> =>
    deps.hosts ? await deps.hosts().catch(() => new Map()) : new Map();
  let findings: { at: number; value: Promise<readonly Finding[]> } | undefined;
  const doctor = (): Promise<readonly Finding[]> | undefined => {
    if (!deps.doctor) return undefined;
    // The checks run programs: at most once a minute.
    if (!findings || clock() - findings.at > 60_000) findings = { at: clock(), value: deps.doctor() };
    return findings.value;
  };

  const app = new Hono<Env>();

  const page = (
    c: Context,
    props: LayoutProps,
    status: 200 | 400 | 404 | 409 | 429 | 500 | 502 | 503 = 200,
  ) => c.html(`<!doctype html>${String(<Layout {...props} />)}`, status);

  app.use('*', async (c, next) => {
    const started = clock();
    await next();
    log?.debug?.('panel request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: clock() - started,
    });
  });
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: CSP,
      // Not no-referrer: with it, browsers send `Origin: null` on form posts and the Origin check fails.
      referrerPolicy: 'same-origin',
      xFrameOptions: 'DENY',
      xContentTypeOptions: 'nosniff',
      crossOriginResourcePolicy: 'same-origin',
      crossOriginOpenerPolicy: 'same-origin',
      strictTransportSecurity: false,
    }),
  );
  // DNS rebinding: a foreign name that resolves to this machine gets nothing, not even the sign-in page.
  app.use('*', async (c, next) => {
    if (!hostAllowed(c.req.header('host'), deps.allowedHosts)) {
      log?.warn('panel request with a foreign Host refused', {
        host: c.req.header('host'),
        client: clientOf(c),
      });
      return c.text('This address is not one of this machine: refused (Host header).', 421);
    }
    return next();
  });
  app.use('*', bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.text('The request is too large.', 413) }));
  // Every state-changing request must come from our own pages.
  app.use('*', async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    if (!sameOrigin(c.req.url, c.req.header('host'), c.req.header('origin'), c.req.header('referer'))) {
      log?.warn('panel request from a foreign origin refused', {
        origin: c.req.header('origin'),
        client: clientOf(c),
      });
      return c.text('This request did not come from the panel: refused (Origin).', 403);
    }
    return next();
  });

  app.get('/assets/:file', (c) => {
    const asset = assets.get(c.req.param('file'));
    if (!asset) return c.text('Not found', 404);
    return c.body(asset.body, 200, { 'Content-Type': asset.type, 'Cache-Control': 'no-cache' });
  });

  app.get('/sign-in', (c) => page(c, { title: 'Sign in', children: <SignIn /> }));
  app.post('/sign-in', async (c) => {
    const client = clientOf(c);
    const wait = logins.retryAfter(client);
    if (wait > 0) {
      log?.warn('panel sign-in refused: too many failed attempts', { client, retryAfterSeconds: wait });
      c.header('Retry-After', String(wait));
      return page(
        c,
        {
          title: 'Sign in',
          children: <SignIn error={`Too many failed attempts. Try again in ${wait} s.`} />,
        },
        429,
      );
    }
    const form = await c.req.parseBody();
    const token = typeof form['token'] === 'string' ? form['token'].trim() : '';
    if (!token || !deps.verifyToken(token)) {
      logins.fail(client);
      log?.warn('panel sign-in failed', { client });
      return page(c, { title: 'Sign in', children: <SignIn error="That is not the API token." /> }, 400);
    }
    logins.succeed(client);
    const session = sessions.create();
    log?.info('panel sign-in', { client });
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: isSecure(c),
      path: '/',
    });
    return c.redirect('/', 303);
  });

  const requireSession: MiddlewareHandler<Env> = async (c, next) => {
    const session = sessions.use(getCookie(c, SESSION_COOKIE));
    if (!session) {
      if (c.req.method === 'GET' && !c.req.header('hx-request') && c.req.path !== '/events') {
        return c.redirect('/sign-in', 303);
      }
      return c.text('Sign in first.', 401);
    }
    c.set('session', session);
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const header = c.req.header('x-csrf-token');
      const form = header === undefined ? await c.req.parseBody() : {};
      const presented = header ?? (typeof form['_csrf'] === 'string' ? form['_csrf'] : '');
      if (!sameSecret(session.csrf, presented)) {
        log?.warn('panel request with a wrong CSRF token refused', { client: clientOf(c), path: c.req.path });
        return c.text('The form is out of date or did not come from the panel: refused (CSRF).', 403);
      }
    }
    return next();
  };
  app.use('*', requireSession);

  const csrfOf = (c: Context<Env>) => c.get('session').csrf;
  type Notice = LayoutProps['notice'];
  const notice = (c: Context): Notice => {
    const text = NOTICES[c.req.query('done') ?? ''];
    return text ? { kind: 'ok', text } : undefined;
  };
  const failure = (error: unknown) => {
    if (error instanceof PorttriggerError) {
      return {
        kind: 'error' as const,
        text: `${error.message}. Nothing changed.`.replace(/\.\. Nothing/, '. Nothing'),
      };
    }
    throw error;
  };

  app.post('/sign-out', (c) => {
    sessions.end(c.get('session').id);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/sign-in', 303);
  });

  // ---- overview ----
  const overview = async (c: Context<Env>, n: Notice = notice(c), status: 200 | 502 = 200) =>
    page(
      c,
      {
        title: 'Overview',
        page: 'overview',
        csrf: csrfOf(c),
        notice: n,
        children: (
          <Overview
            config={service.config}
            table={await service.table()}
            health={service.health()}
            csrf={csrfOf(c)}
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
        now={clock()}
      />,
    ),
  );
  // The checks run programs: the page comes first, the findings follow.
  app.get('/overview/doctor', async (c) => c.html(<Findings findings={await doctor()} />));
  app.post('/switch', async (c) => {
    const form = await c.req.parseBody();
    const on = form['enabled'] === 'on';
    try {
      await service.setEnabled(on);
    } catch (error) {
      return overview(c, failure(error), 502);
    }
    return c.redirect(`/?done=switched-${on ? 'on' : 'off'}`, 303);
  });

  // ---- rules ----
  const rulesPage = (c: Context<Env>, n: Notice = notice(c), status: 200 | 502 = 200) =>
    page(
      c,
      {
        title: 'Rules',
        page: 'rules',
        csrf: csrfOf(c),
        notice: n,
        children: (
          <RuleList rules={service.config.rules} csrf={csrfOf(c)} globalOn={service.config.enabled} />
        ),
      },
      status,
    );
  app.get('/rules', (c) => rulesPage(c));
  learnRoutes(app, { service, clock, hostsOf, page });

  const formPage = (
    c: Context<Env>,
    options: {
      fields: RuleFields;
      action: string;
      issues?: readonly Issue[];
      warnings?: readonly Issue[];
      editing?: string;
      presetId?: string;
      error?: { kind: 'error'; text: string };
    },
    status: 200 | 400 | 502 = 200,
  ) =>
    page(
      c,
      {
        title: options.editing ? `Edit ${options.editing}` : 'Add a rule',
        page: 'rules',
        csrf: csrfOf(c),
        notice: options.error,
        children: (
          <RuleForm
            fields={options.fields}
            action={options.action}
            csrf={csrfOf(c)}
            issues={options.issues ?? []}
            warnings={options.warnings ?? []}
            {...(options.editing ? {} : { presets: PRESETS })}
            {...(options.presetId ? { presetId: options.presetId } : {})}
          />
        ),
      },
      status,
    );

  app.get('/rules/new', async (c) => {
    // A proposal of learn mode: the normal form, filled in, to edit before saving.
    const learned = c.req.query('learned');
    if (learned !== undefined) {
      let proposals: readonly LearnProposal[] = [];
      try {
        ({ proposals } = await service.learn.proposals());
      } catch {
        // no session yet: an empty form
      }
      const proposal = proposals.find((p) => String(p.id) === learned);
      const checked = proposal ? validateRule(proposal.rule) : undefined;
      const fields = checked?.ok ? fieldsFromRule(checked.value) : EMPTY_FIELDS;
      return formPage(c, { fields, action: '/rules/new' });
    }
    const preset = findPreset(c.req.query('preset') ?? '');
    if (!preset) return formPage(c, { fields: EMPTY_FIELDS, action: '/rules/new' });
    const checked = validateRule(presetRuleInput(preset));
    const fields = checked.ok ? fieldsFromRule(checked.value) : EMPTY_FIELDS;
    return formPage(c, { fields, action: '/rules/new', presetId: preset.id });
  });

  /** Validates, shows warnings before saving, then saves through the service like `POST /api/v1/rules`. */
  const submitRule = async (c: Context<Env>, editing: string | undefined) => {
    const form = await c.req.parseBody({ all: true });
    const action = editing ? `/rules/${encodeURIComponent(editing)}/edit` : '/rules/new';
    let fields = fieldsFromForm(form);
    const add = form['_add'];
    if (add === 'trigger' || add === 'open') {
      fields = { ...fields, [add]: [...fields[add], { protocol: 'tcp', ports: '' }] };
      return formPage(c, { fields, action, ...(editing ? { editing } : {}) });
    }
    const input = ruleInput(fields);
    const checked = validateRule(input);
    const base = { fields, action, ...(editing ? { editing } : {}) };
    if (!checked.ok) return formPage(c, { ...base, issues: checked.issues }, 400);
    // The whole config as it would be: its problems and warnings, relative to this rule.
    let warnings: readonly Issue[] = checked.warnings;
    try {
      const next = editing
        ? withRuleReplaced(service.config, editing, checked.value)
        : withRuleAdded(service.config, checked.value);
      const index = next.rules.findIndex((r) => r.name === checked.value.name);
      const whole = validateConfig(next);
      if (!whole.ok) return formPage(c, { ...base, issues: issuesForRule(whole.issues, index) }, 400);
      warnings = issuesForRule(whole.warnings, index);
    } catch (error) {
      if (error instanceof PorttriggerError && error.code === 'RULE_EXISTS') {
        return formPage(
          c,
          { ...base, issues: [{ path: ['name'], code: 'duplicate', message: error.message }] },
          400,
        );
      }
      throw error;
    }
    if (warnings.length > 0 && form['_confirm'] !== 'yes') return formPage(c, { ...base, warnings });
    try {
      if (editing) await service.replaceRule(editing, input);
      else await service.createRule(input);
    } catch (error) {
      if (error instanceof InvalidInputError) return formPage(c, { ...base, issues: error.issues }, 400);
      return formPage(c, { ...base, error: failure(error) }, 502);
    }
    return c.redirect('/rules?done=saved', 303);
  };
  app.post('/rules/new', (c) => submitRule(c, undefined));

  const ruleOr404 = (c: Context<Env>) => {
    const name = c.req.param('name') ?? '';
    return service.config.rules.find((r) => r.name === name);
  };
  const missing = (c: Context<Env>) =>
    page(
      c,
      {
        title: 'No such rule',
        page: 'rules',
        csrf: csrfOf(c),
        children: (
          <p>
            <a href="/rules">Back to the rules</a>
          </p>
        ),
      },
      404,
    );

  app.get('/rules/:name/edit', (c) => {
    const rule = ruleOr404(c);
    if (!rule) return missing(c);
    return formPage(c, {
      fields: fieldsFromRule(rule),
      action: `/rules/${encodeURIComponent(rule.name)}/edit`,
      editing: rule.name,
    });
  });
  app.post('/rules/:name/edit', (c) => {
    const rule = ruleOr404(c);
    return rule ? submitRule(c, rule.name) : missing(c);
  });
  app.get('/rules/:name/delete', (c) => {
    const rule = ruleOr404(c);
    if (!rule) return missing(c);
    return page(c, {
      title: `Delete ${rule.name}`,
      page: 'rules',
      csrf: csrfOf(c),
      children: <DeleteConfirm rule={rule} csrf={csrfOf(c)} />,
    });
  });
  app.post('/rules/:name/delete', async (c) => {
    const rule = ruleOr404(c);
    if (!rule) return missing(c);
    try {
      await service.deleteRule(rule.name);
    } catch (error) {
      return rulesPage(c, failure(error), 502);
    }
    return c.redirect('/rules?done=deleted', 303);
  });
  for (const state of ['enable', 'disable'] as const) {
    app.post(`/rules/:name/${state}`, async (c) => {
      const rule = ruleOr404(c);
      if (!rule) return missing(c);
      try {
        await service.setRuleEnabled(rule.name, state === 'enable');
      } catch (error) {
        return rulesPage(c, failure(error), 502);
      }
      return c.redirect(`/rules?done=${state}d`, 303);
    });
  }

  // ---- live table ----
  const liveTable = async (c: Context<Env>) => (
    <LiveTable
      table={await service.table()}
      rules={service.config.rules}
      hosts={await hostsOf()}
      csrf={csrfOf(c)}
      now={clock()}
    />
  );
  const tablePage = async (c: Context<Env>, n: Notice = notice(c), status: 200 | 502 = 200) =>
    page(
      c,
      {
        title: 'Live trigger table',
        page: 'table',
        csrf: csrfOf(c),
        notice: n,
        children: (
          <div id="live-table" hx-get="/table/live" hx-trigger="sse:changed, every 10s, catchup from:body">
            {await liveTable(c)}
          </div>
        ),
      },
      status,
    );
  app.get('/table', (c) => tablePage(c));
  app.get('/table/live', async (c) => c.html(await liveTable(c)));
  app.post('/table/release', async (c) => {
    const form = await c.req.parseBody();
    const text = (k: string) =>
      typeof form[k] === 'string' && form[k] !== '' ? (form[k] as string) : undefined;
    const rule = text('rule');
    if (!rule) return tablePage(c, { kind: 'error', text: 'Which rule to release is missing.' }, 502);
    const holder = text('holder');
    const remote = text('remote');
    const family = text('family');
    try {
      await service.release({
        rule,
        ...(holder ? { holder } : {}),
        ...(remote ? { remote } : {}),
        ...(family === 'ipv4' || family === 'ipv6' ? { family: family as Family } : {}),
      });
    } catch (error) {
      return tablePage(c, failure(error), 502);
    }
    return c.redirect('/table?done=released', 303);
  });

  // ---- port check ----
  app.get('/check', async (c) => {
    const port = c.req.query('port') ?? '';
    const protocol = c.req.query('protocol') ?? 'tcp';
    const props = { port, protocol, config: service.config, hosts: await hostsOf() };
    if (port === '') {
      return page(c, {
        title: 'Port check',
        page: 'check',
        csrf: csrfOf(c),
        children: <PortCheckPage {...props} issues={[]} />,
      });
    }
    const parsed = checkQuery.safeParse({ port, protocol });
    if (!parsed.success) {
      const issues = fromZodIssues(parsed.error.issues, { port, protocol });
      return page(
        c,
        {
          title: 'Port check',
          page: 'check',
          csrf: csrfOf(c),
          children: <PortCheckPage {...props} issues={issues} />,
        },
        400,
      );
    }
    const result = await service.checkPort(parsed.data.port, parsed.data.protocol);
    return page(c, {
      title: 'Port check',
      page: 'check',
      csrf: csrfOf(c),
      children: <PortCheckPage {...props} issues={[]} result={result} now={clock()} />,
    });
  });

  // ---- history ----
  const historyOf = (c: Context<Env>) => {
    const raw = c.req.query();
    const filter: HistoryFilter = {
      rule: raw['rule'] ?? '',
      host: raw['host'] ?? '',
      type: raw['type'] ?? '',
      since: raw['since'] ?? '',
      until: raw['until'] ?? '',
    };
    const present = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== ''));
    const parsed = historyQuery.safeParse(present);
    if (!parsed.success)
      return {
        filter,
        issues: fromZodIssues(parsed.error.issues, present),
        events: [],
        next: undefined,
        cursor: undefined,
      };
    const q = parsed.data;
    const query = {
      ...(q.rule ? { rule: q.rule } : {}),
      ...(q.host ? { host: canonicalAddress(q.host)! } : {}),
      ...(q.type ? { type: q.type } : {}),
      ...(q.since ? { since: Date.parse(`${q.since}Z`) } : {}),
      ...(q.until ? { until: Date.parse(`${q.until}Z`) } : {}),
      ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      limit: HISTORY_PAGE,
    };
    let result: {
      events: readonly Parameters<typeof HistoryList>[0]['events'][number][];
      nextCursor?: number;
    };
    try {
      result = service.queryEvents(query);
    } catch (error) {
      if (!(error instanceof PorttriggerError)) throw error;
      return {
        filter,
        issues: [{ path: [], code: error.code, message: error.message }],
        events: [],
        next: undefined,
        cursor: undefined,
      };
    }
    const params = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== ''));
    if (result.nextCursor !== undefined) params.set('cursor', String(result.nextCursor));
    return {
      filter,
      issues: [] as Issue[],
      events: result.events,
      next: result.nextCursor !== undefined ? `/history?${params}` : undefined,
      cursor: q.cursor,
    };
  };
  app.get('/history', (c) => {
    const h = historyOf(c);
    const listUrl = `/history/list?${new URL(c.req.url).searchParams}`;
    return page(
      c,
      {
        title: 'History',
        page: 'history',
        csrf: csrfOf(c),
        children: (
          <HistoryPage
            filter={h.filter}
            rules={service.config.rules.map((r) => r.name)}
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
  app.get('/history/list', (c) => {
    const h = historyOf(c);
    return c.html(<HistoryList events={h.events} next={h.next} />);
  });

  // ---- live events: a signal to refresh, the fragments carry the data ----
  app.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      await runLiveFeed(feedSinkOf(stream, c.env), {
        ...feed,
        subscribe: (listener, onClose) => service.subscribe(listener, onClose),
        // Several events between two writes are one refresh.
        render: () => sseMessage({ event: 'changed', data: String(clock()) }),
        onDrop: (why) => log?.warn('a live panel client was dropped', { why }),
      });
    }),
  );

  app.notFound((c) => c.text('Not found', 404));
  app.onError((error, c) => {
    log?.error('panel request failed', { path: c.req.path, error });
    return c.text('Something went wrong; the service log has the details.', 500);
  });
  return app;
}
