/**
 * What every page module of the panel shares: the service and the clock, the page frame, the notice of a
 * finished action, and failures turned into a notice with the status the API answers for the same error.
 */
import type { Context, Hono } from 'hono';
import { InvalidInputError, PorttriggerError } from '../domain/errors.js';
import type { HostDirectory, HostInfo } from '../domain/neighbours.js';
import { errorResponse } from '../routes/errors.js';
import type { AllowedHosts } from '../routes/host-check.js';
import type { TokenGate } from '../routes/token-gate.js';
import type { FeedLimits } from '../service/live-feed.js';
import type { Service } from '../service/service.js';
import type { Asset } from './assets.js';
import type { Session, SessionOptions } from './sessions.js';
import { Layout, type LayoutProps } from './views/layout.js';
import type { Finding } from './views/overview.js';

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
  /** The one check of the API token, shared with the API (its limiter counts both doors). */
  readonly gate: TokenGate;
  /** The Host headers answered: this machine's addresses and its configured names. */
  readonly allowedHosts: AllowedHosts;
  /** Host names and MACs of LAN devices. */
  readonly hosts?: HostDirectory;
  /** The doctor's findings about this machine. */
  readonly doctor?: () => Promise<readonly Finding[]>;
  readonly logger?: PanelLogger;
  readonly sessions?: SessionOptions;
  /** The bounds of the live stream: heartbeat, backlog and write timeout of a client (default: DEFAULT_FEED_LIMITS). */
  readonly feed?: Partial<FeedLimits>;
  readonly clock?: () => number;
  /** The static files (default: read from the packages). */
  readonly assets?: ReadonlyMap<string, Asset>;
}

/** The variables of a request: the session, once the security checks found one. */
export type Env = { Variables: { session: Session } };

/** The panel as hono sees it. */
export type PanelApp = Hono<Env>;

/** A notice above the page. */
export type Notice = LayoutProps['notice'];

/** Statuses a page answers with: the API's for the same error, or 200. */
export type PageStatus = 200 | ReturnType<typeof errorResponse>['status'] | 429;

const NOTICES: Readonly<Record<string, string>> = {
  saved: 'The rule is saved and applied.',
  'saved-idle':
    'The rule is saved and applied. Nothing is using it right now: an application that was already connected must reconnect (for example rejoin its server) before the rule takes effect.',
  deleted: 'The rule is deleted.',
  enabled: 'The rule is on.',
  disabled: 'The rule is off.',
  released: 'Released: the ports are closed for that device.',
  'switched-on': 'Port triggering is on.',
  'switched-off': 'Port triggering is off.',
};

/** What the page modules of the panel share. */
export interface PanelContext {
  readonly service: Service;
  readonly clock: () => number;
  readonly log: PanelLogger | undefined;
  /** Host names and MACs of LAN devices (none when the directory fails). */
  hostsOf(): Promise<ReadonlyMap<string, HostInfo>>;
  /**
   * The last answer of the host directory at once, asking it again in the background (a pushed row must not
   * wait for a lookup); the first call waits for one.
   */
  hostsKnown(): Promise<ReadonlyMap<string, HostInfo>>;
  /** The whole page in the frame. */
  page(c: Context, props: LayoutProps, status?: PageStatus): Response | Promise<Response>;
  /** The session's CSRF token. */
  csrfOf(c: Context<Env>): string;
  /** The notice of `?done=…` after a redirect. */
  notice(c: Context): Notice;
  /** A failed operation as a notice and the status the API answers for it; other errors are rethrown. */
  failure(error: unknown): { notice: Notice; status: PageStatus };
}

/** Builds the shared part from the panel's dependencies. */
export function panelContext(deps: PanelDeps): PanelContext {
  const hostsOf = async (): Promise<ReadonlyMap<string, HostInfo>> => {
    const hosts = deps.hosts ? await deps.hosts().catch(() => new Map()) : new Map();
    lastHosts = hosts;
    return hosts;
  };
  let lastHosts: ReadonlyMap<string, HostInfo> | undefined;
  return {
    service: deps.service,
    clock: deps.clock ?? Date.now,
    log: deps.logger,
    hostsOf,
    hostsKnown: async () => {
      if (lastHosts === undefined) return hostsOf();
      // The directory caches its answers: most calls cost nothing, and none waits here.
      void hostsOf();
      return lastHosts;
    },
    page: (c, props, status = 200) => c.html(`<!doctype html>${String(<Layout {...props} />)}`, status),
    csrfOf: (c) => c.get('session').csrf,
    notice: (c) => {
      const text = NOTICES[c.req.query('done') ?? ''];
      return text ? { kind: 'ok', text } : undefined;
    },
    failure: (error) => {
      if (!(error instanceof PorttriggerError)) throw error;
      // Invalid input names each problem, as the API's `issues` do.
      const detail =
        error instanceof InvalidInputError && error.issues.length > 0
          ? `: ${error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')}`
          : '';
      const text = `${error.message}${detail}. Nothing changed.`.replace(/\.\. Nothing/, '. Nothing');
      return { notice: { kind: 'error', text }, status: errorResponse(error).status };
    },
  };
}
