/** "Find the ports of an application": choose a device, start, watch what is seen, review the proposals. */
import { lanScopeNote } from '../../domain/learn/lan-scope.js';
import type { LearnProposal } from '../../domain/learn/proposals.js';
import type { HostInfo } from '../../domain/neighbours.js';
import type { LearnStatus } from '../../service/service.js';
import { Csrf, Time } from './layout.js';

/** The lengths a session can be started for, in minutes. */
export const LEARN_MINUTES = [1, 5, 10, 30, 60] as const;

/** Props of {@link LearnPage}. */
export interface LearnPageProps {
  readonly status: LearnStatus;
  readonly proposals: readonly LearnProposal[];
  /** What the proposals could not take into account (static forwards of other tools unread). */
  readonly notes: readonly string[];
  /** Known LAN devices (IPv4), from the neighbour table and DHCP leases. */
  readonly devices: readonly HostInfo[];
  readonly csrf: string;
  /** The server's clock, for the count-down. */
  readonly now: number;
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}

function deviceLabel(d: HostInfo): string {
  return [d.address, d.name && `(${d.name})`, d.mac].filter(Boolean).join(' ');
}

function StartForm(props: { readonly devices: readonly HostInfo[]; readonly csrf: string }) {
  return (
    <form method="post" action="/learn/start" class="learn-start">
      <Csrf token={props.csrf} />
      <p>
        porttrigger watches one device while you use the application: its connections out to the internet, and
        the connections from the internet that arrive and find nothing open. From what it sees, it proposes
        the rule. Only these connection facts are kept, in memory, until the next session.
      </p>
      <label for="learn-device">Device</label>
      <select id="learn-device" name="device">
        {props.devices.map((d) => (
          <option value={d.address}>{deviceLabel(d)}</option>
        ))}
        <option value="">Every device on the LAN</option>
        <option value="other">Another address (below)</option>
      </select>
      <label for="learn-address">Another address</label>
      <input id="learn-address" name="address" type="text" inputmode="decimal" placeholder="192.168.1.10" />
      <label for="learn-minutes">Watch for</label>
      <select id="learn-minutes" name="minutes">
        {LEARN_MINUTES.map((m) => (
          <option value={String(m)} selected={m === 5}>
            {m === 1 ? '1 minute' : m === 60 ? '1 hour' : `${m} minutes`}
          </option>
        ))}
      </select>
      <button type="submit">Start watching</button>
    </form>
  );
}

/** The live part of a running session: what it sees, refreshed every second. */
export function LearnLive(props: { readonly status: LearnStatus; readonly now: number }) {
  const s = props.status;
  const scopeNote = lanScopeNote(s);
  return (
    <div id="learn-live" hx-get="/learn/live" hx-trigger="every 1s" hx-swap="outerHTML">
      <p role="status">
        Seen so far: <strong>{s.outbound}</strong> outbound {plural(s.outbound, 'connection')},{' '}
        <strong>{s.inbound}</strong> inbound {plural(s.inbound, 'attempt')}
        {s.dropped > 0 ? ` (${s.dropped} more not kept)` : ''}.
        {s.endsAt !== undefined && (
          <>
            {' '}
            Ends by itself in{' '}
            <span class="countdown" data-expires={String(s.endsAt)} data-now={String(props.now)}>
              {Math.max(0, Math.round((s.endsAt - props.now) / 1000))} s
            </span>
            .
          </>
        )}
      </p>
      {scopeNote !== undefined && <p class="banner warn">Note: {scopeNote}.</p>}
      {s.recent.length === 0 ? (
        <p class="empty">Nothing seen yet. Start the application now: a game, a call, a download.</p>
      ) : (
        <table class="learn-seen">
          <caption class="sr-only">Connections seen</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Direction</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col">Port</th>
            </tr>
          </thead>
          <tbody>
            {[...s.recent].reverse().map((c) => (
              <tr>
                <td>
                  <Time at={c.at} />
                </td>
                <td>{c.direction === 'outbound' ? 'out' : 'in, nothing forwarded it'}</td>
                <td>{c.source}</td>
                <td>{c.destination}</td>
                <td>
                  {c.protocol} {c.port}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function Proposals(props: { readonly proposals: readonly LearnProposal[] }) {
  if (props.proposals.length === 0) {
    return (
      <div class="empty">
        <p>No rule to propose.</p>
        <p>Use the application while watching (start a game, join a call), or watch for longer.</p>
      </div>
    );
  }
  return (
    <ol class="proposals">
      {props.proposals.map((p) => (
        <li>
          <h3>
            {p.rule.name} <span class={`confidence ${p.confidence}`}>{p.confidence} confidence</span>
          </h3>
          <p>
            When the device connects to{' '}
            {p.rule.trigger.map((t) => `${t.protocol.toUpperCase()} port ${t.ports}`).join(' or ')}, open{' '}
            {p.rule.open.map((o) => `${o.protocol.toUpperCase()} ports ${o.ports}`).join(' and ')}
            {p.rule.remote === 'contacted' ? ' to the server it contacted' : ' to any host'}, for{' '}
            {p.rule.idleTimeout} s after the last traffic.
          </p>
          <p class="evidence">Seen: {p.evidence}.</p>
          {p.reasons.length > 0 && (
            <ul class="reasons">
              {p.reasons.map((r) => (
                <li>{r}</li>
              ))}
            </ul>
          )}
          <p class="confidence-reason">Confidence {p.confidenceReason}.</p>
          {p.conflicts.map((c) => (
            <p class="banner warn">Clash: {c}.</p>
          ))}
          {p.confidence === 'low' ? (
            // A guess is saved only after saying so: a required tick, then the normal form to edit.
            <form method="get" action="/rules/new" class="low-confidence">
              <input type="hidden" name="learned" value={String(p.id)} />
              <label>
                <input type="checkbox" name="lowConfidence" value="1" required /> I have read why this
                proposal has low confidence and want to edit it into a rule anyway
              </label>
              <button type="submit">Save as rule</button>
            </form>
          ) : (
            <a class="button" href={`/rules/new?learned=${p.id}`}>
              Save as rule
            </a>
          )}
        </li>
      ))}
    </ol>
  );
}

/** The page, in the state of the session. */
export function LearnPage(props: LearnPageProps) {
  const s = props.status;
  if (s.state === 'running') {
    return (
      <div>
        <p>
          Watching {s.host ?? 'every device on the LAN'}. Use the application now; stop when it works or when
          you are done.
        </p>
        <LearnLive status={s} now={props.now} />
        <form method="post" action="/learn/stop">
          <Csrf token={props.csrf} />
          <button type="submit">Stop watching</button>
        </form>
      </div>
    );
  }
  return (
    <div>
      {s.state === 'finished' && (
        <section aria-labelledby="learn-results">
          <h2 id="learn-results">What was found</h2>
          <p>
            Watched {s.host ?? 'every device on the LAN'}
            {s.startedAt !== undefined && (
              <>
                {' '}
                from <Time at={s.startedAt} />
              </>
            )}
            : {s.outbound} outbound {plural(s.outbound, 'connection')}, {s.inbound} inbound{' '}
            {plural(s.inbound, 'attempt')}.{s.endReason === 'time-limit' && ' The time was up.'}
            {s.error && ` ${s.error}.`}
          </p>
          <Proposals proposals={props.proposals} />
          {props.notes.map((n) => (
            <p class="banner warn">Note: {n}.</p>
          ))}
        </section>
      )}
      <section aria-labelledby="learn-new">
        <h2 id="learn-new">{s.state === 'finished' ? 'Watch again' : 'Watch a device'}</h2>
        <StartForm devices={props.devices} csrf={props.csrf} />
      </section>
    </div>
  );
}
