/** The port check page. */
import type { Issue } from '../../domain/errors.js';
import type { HostInfo } from '../../domain/neighbours.js';
import type { Config } from '../../domain/types.js';
import type { PortCheck } from '../../service/port-check.js';
import { portsText } from '../sentence.js';
import { CheckFindings } from './findings.js';
import { Time } from './layout.js';
import { StaleNotice } from './live.js';

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
          <CheckFindings />
        </section>
      )}
    </>
  );
}
