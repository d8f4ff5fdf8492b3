/** The history page and its list. */
import type { Issue } from '../../domain/errors.js';
import { describeWanEvent, EVENT_TYPES, type PublishedEvent } from '../../service/events.js';
import { Time } from './layout.js';

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
    case 'wan-changed':
    case 'wan-down':
    case 'wan-up':
      return describeWanEvent(e);
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
