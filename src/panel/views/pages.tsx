/** Sign-in, overview, port check and history: the smaller pages of the panel. */
import type { Issue } from '../../domain/errors.js';
import type { HostInfo } from '../../domain/neighbours.js';
import type { Config, TriggerTable } from '../../domain/types.js';
import { EVENT_TYPES, type PublishedEvent } from '../../service/events.js';
import type { PortCheck } from '../../service/port-check.js';
import type { Health } from '../../service/service.js';
import { portsText } from '../sentence.js';
import { Csrf, Time } from './layout.js';
import { StaleNotice } from './live.js';

/** A finding of the doctor, as the composition root hands it over. */
export interface Finding {
  readonly id: string;
  readonly title: string;
  readonly status: 'ok' | 'warn' | 'fail';
  readonly detail: string;
  readonly hint?: string;
}

/** The sign-in form. */
export function SignIn(props: { readonly error?: string }) {
  return (
    <form method="post" action="/sign-in" class="card narrow">
      {props.error && (
        <p class="banner error" role="alert" id="token-problem">
          {props.error}
        </p>
      )}
      <div class="field">
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          required
          aria-describedby={props.error ? 'token-problem token-hint' : 'token-hint'}
        />
        <p class="hint" id="token-hint">
          The token is in the service's token file (api.tokenFile; the lab prints it).
        </p>
      </div>
      <button type="submit" class="primary">
        Sign in
      </button>
    </form>
  );
}

/** The numbers and states that the overview refreshes live. */
export function OverviewLive(props: {
  readonly config: Config;
  readonly table: TriggerTable;
  readonly health: Health;
  readonly now: number;
}) {
  const { config, table, health } = props;
  const on = config.rules.filter((r) => r.enabled).length;
  return (
    <>
      <StaleNotice answer={table} now={props.now} />
      <dl class="stats">
        <div>
          <dt>Rules</dt>
          <dd>
            {config.rules.length} ({on} on)
          </dd>
        </div>
        <div>
          <dt>Open now</dt>
          <dd>{table.entries.length}</dd>
        </div>
        <div>
          <dt>Conflicts (last minute)</dt>
          <dd>{table.conflicts.length}</dd>
        </div>
        <div>
          <dt>Blocked (last minute)</dt>
          <dd>{table.blocked.length}</dd>
        </div>
        <div>
          <dt>Datapath</dt>
          <dd class={health.datapath.status}>
            {health.datapath.status === 'ok' ? 'working' : `failing: ${health.datapath.error ?? 'unknown'}`}
          </dd>
        </div>
        <div>
          <dt>Event history</dt>
          <dd class={health.eventStore.status}>
            {health.eventStore.status === 'ok'
              ? 'working'
              : `failing: ${health.eventStore.error ?? 'unknown'}`}
          </dd>
        </div>
      </dl>
    </>
  );
}

/** The overview page body. */
export function Overview(props: {
  readonly config: Config;
  readonly table: TriggerTable;
  readonly health: Health;
  readonly csrf: string;
  readonly now: number;
}) {
  const { config } = props;
  return (
    <>
      <section class="card switch" aria-labelledby="switch-title">
        <h2 id="switch-title">Port triggering is {config.enabled ? 'on' : 'off'}</h2>
        <p>
          {config.enabled
            ? 'Rules that are on open their ports when a device triggers them.'
            : 'No rule opens anything until you switch it on.'}
        </p>
        <form method="post" action="/switch">
          <Csrf token={props.csrf} />
          <input type="hidden" name="enabled" value={config.enabled ? 'off' : 'on'} />
          <button type="submit" class={config.enabled ? 'danger' : 'primary'}>
            {config.enabled ? 'Switch port triggering off' : 'Switch port triggering on'}
          </button>
        </form>
      </section>
      <section aria-labelledby="state-title">
        <h2 id="state-title">State</h2>
        <div id="overview-live" hx-get="/overview/live" hx-trigger="sse:changed, catchup from:body">
          <OverviewLive config={config} table={props.table} health={props.health} now={props.now} />
        </div>
        <dl class="stats">
          <div>
            <dt>Mode</dt>
            <dd>
              {config.mode === 'standalone'
                ? 'standalone (porttrigger also masquerades and firewalls)'
                : 'companion (next to another firewall)'}
            </dd>
          </div>
          <div>
            <dt>LAN interfaces</dt>
            <dd>{config.interfaces.lan.join(', ')}</dd>
          </div>
          <div>
            <dt>WAN interfaces</dt>
            <dd>{config.interfaces.wan.join(', ')}</dd>
          </div>
          <div>
            <dt>IPv6</dt>
            <dd>{config.ipv6 ? 'on' : 'off'}</dd>
          </div>
        </dl>
      </section>
      <section aria-labelledby="doctor-title">
        <h2 id="doctor-title">What could stop ports from opening</h2>
        <div id="doctor" hx-get="/overview/doctor" hx-trigger="load">
          <p class="muted">Checking the system…</p>
        </div>
      </section>
    </>
  );
}

/** The doctor's findings in plain words: only what is in the way. */
export function Findings(props: { readonly findings: readonly Finding[] | undefined }) {
  if (props.findings === undefined) return <p class="muted">The system checks are not available here.</p>;
  const problems = props.findings.filter((f) => f.status !== 'ok');
  if (problems.length === 0) return <p>The system checks found nothing in the way.</p>;
  return (
    <ul class="findings">
      {problems.map((f) => (
        <li class={f.status}>
          <strong>{f.title}:</strong> {f.detail}
          {f.hint && <span class="hint"> What to do: {f.hint}</span>}
        </li>
      ))}
    </ul>
  );
}

/** The port check form and its answer. */
export function PortCheckPage(props: {
  readonly port: string;
  readonly protocol: string;
  readonly issues: readonly Issue[];
  readonly result?: PortCheck;
  readonly config: Config;
  readonly hosts: ReadonlyMap<string, HostInfo>;
  /** Dates a stale answer (default: the answer's own time). */
  readonly now?: number;
}) {
  const problem = (field: string) => props.issues.filter((i) => i.path[0] === field);
  const portIssues = problem('port');
  const r = props.result;
  const name = (address: string) => {
    const n = props.hosts.get(address)?.name;
    return n ? `${address} (${n})` : address;
  };
  return (
    <>
      <form method="get" action="/check" class="card inline" novalidate>
        <div class="field">
          <label for="check-port">Port</label>
          <input
            id="check-port"
            name="port"
            value={props.port}
            inputmode="numeric"
            aria-invalid={portIssues.length ? 'true' : undefined}
            aria-describedby={portIssues.length ? 'check-port-problems' : undefined}
          />
          {portIssues.length > 0 && (
            <ul class="problems" id="check-port-problems">
              {portIssues.map((i) => (
                <li>{i.message}</li>
              ))}
            </ul>
          )}
        </div>
        <div class="field">
          <label for="check-protocol">Protocol</label>
          <select id="check-protocol" name="protocol">
            <option value="tcp" selected={props.protocol !== 'udp'}>
              TCP
            </option>
            <option value="udp" selected={props.protocol === 'udp'}>
              UDP
            </option>
          </select>
        </div>
        <button type="submit" class="primary">
          Check
        </button>
      </form>
      {r && (
        <section class="card answer" aria-live="polite">
          <StaleNotice answer={r} now={props.now ?? r.at} />
          <h2>
            {r.protocol.toUpperCase()} {r.port} is {r.open ? 'open now' : 'closed'}
          </h2>
          {r.matches.length === 0 && (
            <p>
              No rule opens it. <a href="/rules/new">Add a rule</a> whose open ports include {r.port}.
            </p>
          )}
          <ul>
            {r.matches.map((m) => {
              const rule = props.config.rules.find((x) => x.name === m.rule);
              if (m.entries.length > 0 && m.enabled) {
                return (
                  <>
                    {m.entries.map((e) => (
                      <li>
                        Open for rule {m.rule} to {name(e.holder)}
                        {e.remote ? `, from ${e.remote} only` : ''} until <Time at={e.expiresAt} /> unless
                        traffic keeps it open.
                      </li>
                    ))}
                  </>
                );
              }
              if (!m.enabled) {
                return (
                  <li>
                    Rule {m.rule} would open it, but{' '}
                    {props.config.enabled ? 'the rule is off' : 'port triggering is off'}.
                  </li>
                );
              }
              return (
                <li>
                  Rule {m.rule} opens it when a LAN device sends{' '}
                  {rule ? portsText(rule.trigger) : 'its trigger'}.
                </li>
              );
            })}
          </ul>
          <p class="muted">
            This is what porttrigger forwards. If the router itself sits behind another NAT (carrier-grade
            NAT), no inbound connection can reach it whatever porttrigger does.
          </p>
        </section>
      )}
    </>
  );
}

function describeEvent(e: PublishedEvent): string {
  switch (e.type) {
    case 'opened':
      return `${e.rule} opened to ${e.host}${e.remote ? ` for ${e.remote}` : ''}${e.adopted ? ' (kept from before a restart)' : ''}`;
    case 'closed':
      return `${e.rule} closed for ${e.host}: ${e.reason.replace('-', ' ')}`;
    case 'conflict':
      return `${e.contender} wanted ${e.rule}, but ${e.holder ?? 'another device'} held it`;
    case 'blocked':
      return `${e.host} was not allowed to open ${e.rule}`;
  }
}

/** Filters of the history page, as text. */
export interface HistoryFilter {
  readonly rule: string;
  readonly host: string;
  readonly type: string;
  readonly since: string;
  readonly until: string;
}

/** The history list fragment. */
export function HistoryList(props: {
  readonly events: readonly PublishedEvent[];
  readonly next?: string | undefined;
}) {
  return (
    <div>
      {props.events.length === 0 ? (
        <p class="empty">No events match.</p>
      ) : (
        <table class="history">
          <caption class="sr-only">Events, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">What happened</th>
            </tr>
          </thead>
          <tbody>
            {props.events.map((e) => (
              <tr>
                <td data-label="When">
                  <Time at={e.at} />
                </td>
                <td data-label="Event">
                  <span class={`pill ${e.type}`}>{e.type}</span>
                </td>
                <td data-label="What">{describeEvent(e)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.next && (
        <p>
          <a class="button" href={props.next}>
            Older events
          </a>
        </p>
      )}
    </div>
  );
}

/** The history page: filters, then the list (refreshed live on the first page). */
export function HistoryPage(props: {
  readonly filter: HistoryFilter;
  readonly rules: readonly string[];
  readonly issues: readonly Issue[];
  readonly listUrl: string;
  readonly live: boolean;
  readonly children: unknown;
}) {
  const f = props.filter;
  return (
    <>
      <form method="get" action="/history" class="card filters" novalidate>
        <div class="field">
          <label for="h-rule">Rule</label>
          <select id="h-rule" name="rule">
            <option value="">All rules</option>
            {props.rules.map((r) => (
              <option value={r} selected={r === f.rule}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="h-host">Device address</label>
          <input id="h-host" name="host" value={f.host} autocomplete="off" />
        </div>
        <div class="field">
          <label for="h-type">Type</label>
          <select id="h-type" name="type">
            <option value="">All types</option>
            {EVENT_TYPES.map((t) => (
              <option value={t} selected={t === f.type}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="h-since">From (UTC)</label>
          <input id="h-since" name="since" type="datetime-local" value={f.since} />
        </div>
        <div class="field">
          <label for="h-until">To (UTC)</label>
          <input id="h-until" name="until" type="datetime-local" value={f.until} />
        </div>
        <button type="submit" class="primary">
          Show
        </button>
      </form>
      {props.issues.length > 0 && (
        <ul class="problems" role="alert">
          {props.issues.map((i) => (
            <li>
              {i.path.join('.')}: {i.message}
            </li>
          ))}
        </ul>
      )}
      <div
        id="history-list"
        {...(props.live ? { 'hx-get': props.listUrl, 'hx-trigger': 'sse:changed, catchup from:body' } : {})}
      >
        {props.children}
      </div>
    </>
  );
}
