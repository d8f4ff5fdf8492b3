/**
 * The doctor's findings as the panel shows them: on the overview, and under a port check's answer (a host
 * firewall that drops DNAT-ed connections closes a port that porttrigger opened; docs/firewalls.md).
 */

/** A finding of the doctor, as the composition root hands it over. */
export interface Finding {
  readonly id: string;
  readonly title: string;
  readonly status: 'ok' | 'warn' | 'fail';
  readonly detail: string;
  readonly hint?: string;
}

/**
 * The doctor's findings in plain words: what is in the way, and the WAN address the gateway has now (it changes
 * with DHCP and PPPoE) and the host firewall's verdict even when they are fine.
 */
export function Findings(props: { readonly findings: readonly Finding[] | undefined }) {
  if (props.findings === undefined) return <p class="muted">The system checks are not available here.</p>;
  const problems = props.findings.filter((f) => f.status !== 'ok');
  const known = props.findings.filter(
    (f) => f.status === 'ok' && (f.id === 'wan-address' || f.id === 'forward-policy'),
  );
  return (
    <>
      {known.map((f) => (
        <p>
          <strong>{f.title}:</strong> {f.detail}
        </p>
      ))}
      {problems.length === 0 ? (
        <p>The system checks found nothing in the way.</p>
      ) : (
        <ul class="findings">
          {problems.map((f) => (
            <li class={f.status}>
              <strong>{f.title}:</strong> {f.detail}
              {f.hint && <span class="hint"> What to do: {f.hint}</span>}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

/** Under a port check's answer: the doctor's findings (a host firewall that drops DNAT-ed connections first). */
export function CheckFindings() {
  return (
    <section aria-labelledby="check-doctor-title">
      <h3 id="check-doctor-title">What else decides whether it arrives</h3>
      <div id="check-doctor" hx-get="/overview/doctor" hx-trigger="load">
        <p class="muted">Checking the system…</p>
      </div>
    </section>
  );
}
