import type { Config, TriggerTable } from '../../domain/types.js';
import type { Health, WanInterfaceStatus } from '../../service/service.js';
import { Csrf } from './layout.js';
import { StaleNotice } from './live.js';

/** The doctor's findings: the overview and the port check show them (findings.tsx). */
export { type Finding, Findings } from './findings.js';

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

/** The WAN interfaces as the service sees them now: their addresses change with DHCP and PPPoE. */
export function WanNow(props: { readonly wan: readonly WanInterfaceStatus[] }) {
  if (props.wan.length === 0) return <>no WAN interface seen</>;
  return (
    <>
      {props.wan.map((w, i) => (
        <>
          {i > 0 && '; '}
          {w.interface}: {!w.up ? 'down' : w.addresses.length === 0 ? 'no address' : w.addresses.join(', ')}
        </>
      ))}
    </>
  );
}

/** The numbers and states that the overview refreshes live. */
export function OverviewLive(props: {
  readonly config: Config;
  readonly table: TriggerTable;
  readonly health: Health;
  readonly wan: readonly WanInterfaceStatus[];
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
          <dt>WAN address</dt>
          <dd class="wan-now">
            <WanNow wan={props.wan} />
          </dd>
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

/**
 * The global switch. With scripts it answers in place (this card comes back in its new state, htmx swaps it, the
 * keyboard focus stays on the button); without, the form posts and the overview loads again.
 */
export function SwitchCard(props: { readonly enabled: boolean; readonly csrf: string }) {
  const on = props.enabled;
  return (
    <section class="card switch" id="switch" aria-labelledby="switch-title">
      <h2 id="switch-title">Port triggering is {on ? 'on' : 'off'}</h2>
      <p>
        {on
          ? 'Rules that are on open their ports when a device triggers them.'
          : 'No rule opens anything until you switch it on.'}
      </p>
      <form
        method="post"
        action="/switch"
        hx-post="/switch"
        hx-target="#switch"
        hx-swap="outerHTML"
        hx-sync="this:drop"
        data-swap-errors="true"
      >
        <Csrf token={props.csrf} />
        <input type="hidden" name="enabled" value={on ? 'off' : 'on'} />
        <button type="submit" id="global-switch" class={on ? 'danger' : 'primary'}>
          {on ? 'Switch port triggering off' : 'Switch port triggering on'}
        </button>
      </form>
    </section>
  );
}

/** The overview page body. */
export function Overview(props: {
  readonly config: Config;
  readonly table: TriggerTable;
  readonly health: Health;
  readonly wan: readonly WanInterfaceStatus[];
  readonly csrf: string;
  readonly now: number;
}) {
  const { config } = props;
  return (
    <>
      <SwitchCard enabled={config.enabled} csrf={props.csrf} />
      <section aria-labelledby="state-title">
        <h2 id="state-title">State</h2>
        <div id="overview-live" hx-get="/overview/live" hx-trigger="sse:changed, catchup from:body">
          <OverviewLive
            config={config}
            table={props.table}
            health={props.health}
            wan={props.wan}
            now={props.now}
          />
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
