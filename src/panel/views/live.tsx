/** The live trigger table: entries with their device, count-down and release; conflicts and blocked triggers. */
import type { Child } from 'hono/jsx';
import type { HostInfo } from '../../domain/neighbours.js';
import type { BlockedRecord, ConflictRecord, Rule, TriggerEntry, TriggerTable } from '../../domain/types.js';
import type { TriggerEvent } from '../../service/events.js';
import { durationText, portsText } from '../sentence.js';
import { elementId } from './element-id.js';
import { Csrf, Time } from './layout.js';

function Device(props: { readonly address: string; readonly hosts: ReadonlyMap<string, HostInfo> }) {
  const info = props.hosts.get(props.address);
  return (
    <span class="device">
      <span class="addr">{props.address}</span>
      {info?.name && <span class="name"> ({info.name})</span>}
      {info?.mac && <span class="mac muted"> {info.mac}</span>}
    </span>
  );
}

/**
 * Says that the numbers shown are the last ones read, when the router's kernel did not answer in time (a slow or
 * hung nft): nothing at all when the table is fresh.
 */
export function StaleNotice(props: {
  readonly answer: { readonly at: number; readonly stale?: true };
  readonly now: number;
}) {
  if (!props.answer.stale) return null;
  const age = Math.max(0, Math.round((props.now - props.answer.at) / 1_000));
  return (
    <p class="banner warn stale" role="status">
      The router did not answer in time: this is the data from {durationText(age)} ago.
    </p>
  );
}

/** Props of {@link LiveTable}. */
export interface LiveTableProps {
  readonly table: TriggerTable;
  readonly rules: readonly Rule[];
  readonly hosts: ReadonlyMap<string, HostInfo>;
  readonly csrf: string;
  readonly now: number;
}

/** The row of one entry: what the page renders and what the live stream pushes when it opens. */
export function EntryRow(props: {
  readonly entry: TriggerEntry;
  readonly hosts: ReadonlyMap<string, HostInfo>;
  readonly csrf: string;
  readonly now: number;
}) {
  const e = props.entry;
  const id = elementId('entry', e.rule, e.family, e.holder, e.remote);
  const left = Math.max(0, Math.round((e.expiresAt - props.now) / 1_000));
  return (
    <tr id={id} data-holder={e.holder}>
      <td data-label="Rule">{e.rule}</td>
      <td data-label="Device">
        <Device address={e.holder} hosts={props.hosts} />
      </td>
      <td data-label="Remote">{e.remote ?? 'any server'}</td>
      <td data-label="Opened">{e.openedAt !== undefined ? <Time at={e.openedAt} /> : 'unknown'}</td>
      <td data-label="Closes in">
        <span class="countdown" data-expires={String(e.expiresAt)} data-now={String(props.now)}>
          {durationText(left)}
        </span>
      </td>
      <td>
        <form method="post" action="/table/release">
          <Csrf token={props.csrf} />
          <input type="hidden" name="rule" value={e.rule} />
          <input type="hidden" name="holder" value={e.holder} />
          <input type="hidden" name="family" value={e.family} />
          {e.remote && <input type="hidden" name="remote" value={e.remote} />}
          {/* The id keeps the keyboard focus on the button when the table is swapped. */}
          <button type="submit" id={`release-${id}`} aria-label={`Release ${e.rule} from ${e.holder}`}>
            Release
          </button>
        </form>
      </td>
    </tr>
  );
}

/** One conflict: who wanted the rule and who held it at that moment. */
export function ConflictItem(props: {
  readonly conflict: ConflictRecord;
  readonly hosts: ReadonlyMap<string, HostInfo>;
}) {
  const c = props.conflict;
  // The holder of the moment of the conflict, recorded with it; the table now may show another.
  const holder = c.holder;
  return (
    <li class="conflict" id={elementId('conflict', c.rule, c.family, c.contender, c.remote)}>
      <Device address={c.contender} hosts={props.hosts} /> wanted {c.rule}, but{' '}
      {holder ? (
        <>
          <Device address={holder} hosts={props.hosts} /> held it
        </>
      ) : (
        'another device held it'
      )}
      {c.remote ? ` for ${c.remote}` : ''} (<Time at={c.at} />)
    </li>
  );
}

/** One trigger refused because the rule does not allow the device. */
export function BlockedItem(props: {
  readonly blocked: BlockedRecord;
  readonly hosts: ReadonlyMap<string, HostInfo>;
}) {
  const b = props.blocked;
  return (
    <li class="blocked" id={elementId('blocked', b.rule, b.family, b.host)}>
      <Device address={b.host} hosts={props.hosts} /> sent a trigger for {b.rule}, but the rule does not allow
      this device (<Time at={b.at} />)
    </li>
  );
}

const byTime =
  <T,>(at: (x: T) => number) =>
  (x: T, y: T) =>
    at(x) - at(y);

/**
 * The live table. The table, its body and both lists are always there (CSS shows the empty states), so that
 * the live stream can add and remove single rows and items; new ones go last, so the order is oldest first.
 */
export function LiveTable(props: LiveTableProps) {
  const { table, hosts } = props;
  const enabled = props.rules.filter((r) => r.enabled);
  const entries = [...table.entries].sort(byTime((e) => e.openedAt ?? e.expiresAt));
  return (
    <div class="live">
      <h2>Open now</h2>
      <StaleNotice answer={table} now={props.now} />
      <div class="empty nothing-open">
        <p>Nothing is open now.</p>
        {enabled.length === 0 ? (
          <p>
            No rule is on. <a href="/rules">Add or turn on a rule</a>.
          </p>
        ) : (
          <ul>
            {enabled.slice(0, 5).map((r) => (
              <li>
                Start the application on your device: its traffic to {portsText(r.trigger)} opens{' '}
                {portsText(r.open)} (rule {r.name}).
              </li>
            ))}
          </ul>
        )}
      </div>
      <table class="entries">
        <caption class="sr-only">Active entries</caption>
        <thead>
          <tr>
            <th scope="col">Rule</th>
            <th scope="col">Device</th>
            <th scope="col">Remote</th>
            <th scope="col">Opened</th>
            <th scope="col">Closes in</th>
            <th scope="col">
              <span class="sr-only">Action</span>
            </th>
          </tr>
        </thead>
        <tbody id="entries-rows" data-upsert="true">
          {entries.map((e) => (
            <EntryRow entry={e} hosts={hosts} csrf={props.csrf} now={props.now} />
          ))}
        </tbody>
      </table>
      <h2>Conflicts in the last minute</h2>
      <div class="record-list">
        <p class="muted none">None.</p>
        <ul class="records" id="conflicts" data-upsert="true">
          {[...table.conflicts].sort(byTime((c) => c.at)).map((c) => (
            <ConflictItem conflict={c} hosts={hosts} />
          ))}
        </ul>
      </div>
      <h2>Blocked in the last minute</h2>
      <div class="record-list">
        <p class="muted none">None.</p>
        <ul class="records" id="blocked" data-upsert="true">
          {[...table.blocked].sort(byTime((b) => b.at)).map((b) => (
            <BlockedItem blocked={b} hosts={hosts} />
          ))}
        </ul>
      </div>
    </div>
  );
}

/**
 * One out-of-band swap in a <template> of its own: the browser parses each with a fresh context (a <tbody> after a
 * <tr> would be dropped), and htmx applies templates in document order, so the swaps keep the events' order.
 */
function Oob(props: { readonly children: Child }) {
  return <template>{props.children}</template>;
}

/** A removal of the element with this id, out of band (nothing happens when the page does not have it). */
function Remove(props: { readonly id: string }) {
  return (
    <Oob>
      <div id={props.id} hx-swap-oob="delete" />
    </Oob>
  );
}

/** The swaps of one event. */
function EventSwaps(props: {
  readonly event: TriggerEvent;
  readonly hosts: ReadonlyMap<string, HostInfo>;
  readonly csrf: string;
  readonly now: number;
}) {
  const { event, hosts } = props;
  if (event.type === 'closed') {
    return <Remove id={elementId('entry', event.rule, event.family, event.host, event.remote)} />;
  }
  if (event.type === 'opened') {
    const entry: TriggerEntry = {
      rule: event.rule,
      family: event.family,
      holder: event.host,
      ...(event.remote !== undefined ? { remote: event.remote } : {}),
      openedAt: event.at,
      expiresAt: event.expiresAt,
    };
    return (
      <Oob>
        <tbody hx-swap-oob="beforeend:#entries-rows">
          <EntryRow entry={entry} hosts={hosts} csrf={props.csrf} now={props.now} />
        </tbody>
      </Oob>
    );
  }
  if (event.type === 'conflict') {
    return (
      <Oob>
        <ul hx-swap-oob="beforeend:#conflicts">
          <ConflictItem conflict={event} hosts={hosts} />
        </ul>
      </Oob>
    );
  }
  return (
    <Oob>
      <ul hx-swap-oob="beforeend:#blocked">
        <BlockedItem blocked={event} hosts={hosts} />
      </ul>
    </Oob>
  );
}

/**
 * What the live stream pushes for events, as htmx out-of-band swaps, in the order of the events: an opened
 * entry's row is appended, a conflict or blocked trigger is added to its list, a closed entry's row is removed.
 * The lists are marked `data-upsert`: panel.js first removes an element of the same id, so a push that repeats
 * what the page shows already (the page and its stream overlap by a moment) changes nothing.
 */
export function LiveUpdates(props: {
  readonly events: readonly TriggerEvent[];
  readonly hosts: ReadonlyMap<string, HostInfo>;
  readonly csrf: string;
  readonly now: number;
}) {
  return (
    <>
      {props.events.map((event) => (
        <EventSwaps event={event} hosts={props.hosts} csrf={props.csrf} now={props.now} />
      ))}
    </>
  );
}
