/** The live trigger table: entries with their device, count-down and release; conflicts and blocked triggers. */
import type { HostInfo } from '../../domain/neighbours.js';
import type { Rule, TriggerTable } from '../../domain/types.js';
import { durationText, portsText } from '../sentence.js';
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

/** The fragment that the page swaps in on every change. */
export function LiveTable(props: LiveTableProps) {
  const { table, hosts } = props;
  const enabled = props.rules.filter((r) => r.enabled);
  return (
    <div>
      <h2>Open now</h2>
      <StaleNotice answer={table} now={props.now} />
      {table.entries.length === 0 ? (
        <div class="empty">
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
      ) : (
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
          <tbody>
            {table.entries.map((e) => {
              const left = Math.max(0, Math.round((e.expiresAt - props.now) / 1_000));
              return (
                <tr data-holder={e.holder}>
                  <td data-label="Rule">{e.rule}</td>
                  <td data-label="Device">
                    <Device address={e.holder} hosts={hosts} />
                  </td>
                  <td data-label="Remote">{e.remote ?? 'any server'}</td>
                  <td data-label="Opened">
                    {e.openedAt !== undefined ? <Time at={e.openedAt} /> : 'unknown'}
                  </td>
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
                      <button type="submit" aria-label={`Release ${e.rule} from ${e.holder}`}>
                        Release
                      </button>
                    </form>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <h2>Conflicts in the last minute</h2>
      {table.conflicts.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <ul class="records">
          {table.conflicts.map((c) => {
            // The holder of the moment of the conflict, recorded with it; the table now may show another.
            const holder = c.holder;
            return (
              <li class="conflict">
                <Device address={c.contender} hosts={hosts} /> wanted {c.rule}, but{' '}
                {holder ? (
                  <>
                    <Device address={holder} hosts={hosts} /> held it
                  </>
                ) : (
                  'another device held it'
                )}
                {c.remote ? ` for ${c.remote}` : ''} (<Time at={c.at} />)
              </li>
            );
          })}
        </ul>
      )}
      <h2>Blocked in the last minute</h2>
      {table.blocked.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <ul class="records">
          {table.blocked.map((b) => (
            <li class="blocked">
              <Device address={b.host} hosts={hosts} /> sent a trigger for {b.rule}, but the rule does not
              allow this device (<Time at={b.at} />)
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
