/** The rules page: every rule as a sentence with its switch, edit and delete; and the rule form. */
import type { Issue } from '../../domain/errors.js';
import type { Preset } from '../../domain/presets.js';
import type { Rule } from '../../domain/types.js';
import { issuesByField, type RuleFields } from '../rule-form.js';
import { RULES_PER_PAGE, type RuleListView, ruleListHref } from '../rule-list.js';
import { ruleSentence } from '../sentence.js';
import { elementId } from './element-id.js';
import { Csrf } from './layout.js';

/** The search box of a long list: a plain GET form, so it works without scripts and the address can be kept. */
function RuleSearch(props: { readonly query: string }) {
  return (
    <search>
      <form method="get" action="/rules" class="search">
        <label for="rule-search">Find a rule</label>
        <input
          id="rule-search"
          name="q"
          type="search"
          value={props.query}
          maxlength={100}
          autocomplete="off"
          placeholder="name, description or port"
        />
        <button type="submit">Find</button>
        {props.query !== '' && (
          <a class="button" href="/rules">
            Show all rules
          </a>
        )}
      </form>
    </search>
  );
}

/** Which rules of how many the page shows. */
function RuleCount(props: { readonly view: RuleListView }) {
  const { view } = props;
  const range = `${view.first + 1}–${view.first + view.rules.length}`;
  return (
    <p class="muted" id="rule-count">
      {view.query === ''
        ? `Rules ${range} of ${view.total.toLocaleString('en')}`
        : `Rules ${range} of ${view.matching.toLocaleString('en')} that match “${view.query}” (${view.total.toLocaleString('en')} in all)`}
    </p>
  );
}

/** The links to the pages before and after. */
function RulePages(props: { readonly view: RuleListView }) {
  const { view } = props;
  return (
    <nav class="pages" aria-label="Pages of rules">
      {view.page > 1 && (
        <a class="button" href={ruleListHref(view.query, view.page - 1)} rel="prev">
          Previous page
        </a>
      )}
      <span>
        Page {view.page} of {view.pages}
      </span>
      {view.page < view.pages && (
        <a class="button" href={ruleListHref(view.query, view.page + 1)} rel="next">
          Next page
        </a>
      )}
    </nav>
  );
}

/**
 * The list of rules, a page at a time. A long list (more than a page) gets a search box and the links between
 * pages; a short one looks as it always did.
 */
export function RuleList(props: {
  readonly view: RuleListView;
  readonly csrf: string;
  readonly globalOn: boolean;
}) {
  const { view } = props;
  const long = view.total > RULES_PER_PAGE || view.query !== '';
  return (
    <>
      {!props.globalOn && (
        <p class="banner warn">
          Port triggering is switched off on the Overview page: no rule opens anything now.
        </p>
      )}
      <p>
        <a class="button primary" href="/rules/new">
          Add a rule
        </a>
      </p>
      {long && <RuleSearch query={view.query} />}
      {view.total === 0 ? (
        <p class="empty">No rules yet. Add one, or start from a preset of a common application.</p>
      ) : view.matching === 0 ? (
        <p class="empty">No rule matches “{view.query}”.</p>
      ) : (
        <>
          {long && <RuleCount view={view} />}
          <ul class="rules">
            {view.rules.map((r) => (
              <RuleItem rule={r} csrf={props.csrf} />
            ))}
          </ul>
          {view.pages > 1 && <RulePages view={view} />}
        </>
      )}
    </>
  );
}

/**
 * One rule of the list with its switch. With scripts the switch answers in place (this item comes back in its
 * new state, htmx swaps it); without, the form posts and the list loads again.
 */
export function RuleItem(props: { readonly rule: Rule; readonly csrf: string }) {
  const r = props.rule;
  const path = `/rules/${encodeURIComponent(r.name)}`;
  const action = `${path}/${r.enabled ? 'disable' : 'enable'}`;
  return (
    <li class={r.enabled ? 'rule' : 'rule off'}>
      <h2>
        {r.name} <span class={r.enabled ? 'pill on' : 'pill'}>{r.enabled ? 'on' : 'off'}</span>
      </h2>
      <p>{ruleSentence(r)}</p>
      {r.description && <p class="muted">{r.description}</p>}
      <div class="actions">
        <form
          method="post"
          action={action}
          hx-post={action}
          hx-target="closest li"
          hx-swap="outerHTML"
          hx-sync="this:drop"
          data-swap-errors="true"
        >
          <Csrf token={props.csrf} />
          {/* One id for both states: the keyboard focus stays on the switch when the item is swapped (a
              disabled button would lose it, so a second click while one waits is dropped instead). */}
          <button
            type="submit"
            id={elementId('switch', r.name)}
            aria-label={`${r.enabled ? 'Turn off' : 'Turn on'} ${r.name}`}
          >
            {r.enabled ? 'Turn off' : 'Turn on'}
          </button>
        </form>
        <a class="button" href={`${path}/edit`} aria-label={`Edit ${r.name}`}>
          Edit
        </a>
        <a class="button danger" href={`${path}/delete`} aria-label={`Delete ${r.name}`}>
          Delete
        </a>
      </div>
    </li>
  );
}

/** The confirmation before a rule is deleted. */
export function DeleteConfirm(props: { readonly rule: Rule; readonly csrf: string }) {
  return (
    <form method="post" action={`/rules/${encodeURIComponent(props.rule.name)}/delete`} class="card">
      <Csrf token={props.csrf} />
      <p>
        Delete the rule <strong>{props.rule.name}</strong>? Its open ports close now and it is removed from
        the config file.
      </p>
      <p class="muted">{ruleSentence(props.rule)}</p>
      <div class="actions">
        <button type="submit" class="danger">
          Delete {props.rule.name}
        </button>
        <a class="button" href="/rules">
          Cancel
        </a>
      </div>
    </form>
  );
}

function Problems(props: { readonly id: string; readonly issues: readonly Issue[] | undefined }) {
  if (!props.issues || props.issues.length === 0) return null;
  return (
    <ul class="problems" id={props.id}>
      {props.issues.map((i) => (
        <li>{i.message}</li>
      ))}
    </ul>
  );
}

function fieldId(key: string): string {
  return `f-${key.replace(/\./g, '-')}`;
}

function Options(props: { readonly value: string; readonly options: readonly [string, string][] }) {
  return (
    <>
      {props.options.map(([value, label]) => (
        <option value={value} selected={value === props.value}>
          {label}
        </option>
      ))}
    </>
  );
}

const PROTOCOLS: readonly [string, string][] = [
  ['tcp', 'TCP'],
  ['udp', 'UDP'],
  ['both', 'TCP and UDP'],
];

/** Props of {@link RuleForm}. */
export interface RuleFormProps {
  readonly fields: RuleFields;
  readonly action: string;
  readonly csrf: string;
  readonly issues: readonly Issue[];
  readonly warnings: readonly Issue[];
  /** Shown on the add form. */
  readonly presets?: readonly Preset[];
  readonly presetId?: string;
}

function SpecRows(props: {
  readonly side: 'trigger' | 'open';
  readonly rows: RuleFields['trigger'];
  readonly problems: Map<string, Issue[]>;
}) {
  const title = props.side === 'trigger' ? 'Trigger ports' : 'Open ports';
  const hint =
    props.side === 'trigger'
      ? 'Outgoing traffic from a LAN device to one of these ports opens the rule.'
      : 'These ports are forwarded to the device while the rule is open. Ranges: 7000-7010; lists: 7000,7005.';
  const sideProblems = props.problems.get(props.side);
  return (
    <fieldset>
      <legend>{title}</legend>
      <p class="hint">{hint}</p>
      <Problems id={`${fieldId(props.side)}-problems`} issues={sideProblems} />
      {props.rows.map((row, i) => {
        const key = `${props.side}.${i}`;
        const portsIssues = props.problems.get(`${key}.ports`);
        const protoIssues = props.problems.get(`${key}.protocol`);
        return (
          <div class="spec">
            <div class="field">
              <label for={fieldId(`${key}.protocol`)}>{`${title} ${i + 1}: protocol`}</label>
              <select
                id={fieldId(`${key}.protocol`)}
                name={`${key}.protocol`}
                aria-invalid={protoIssues ? 'true' : undefined}
                aria-describedby={protoIssues ? `${fieldId(`${key}.protocol`)}-problems` : undefined}
              >
                <Options value={row.protocol} options={PROTOCOLS} />
              </select>
              <Problems id={`${fieldId(`${key}.protocol`)}-problems`} issues={protoIssues} />
            </div>
            <div class="field">
              <label for={fieldId(`${key}.ports`)}>{`${title} ${i + 1}: ports`}</label>
              <input
                id={fieldId(`${key}.ports`)}
                name={`${key}.ports`}
                value={row.ports}
                inputmode="text"
                autocomplete="off"
                aria-invalid={portsIssues ? 'true' : undefined}
                aria-describedby={portsIssues ? `${fieldId(`${key}.ports`)}-problems` : undefined}
              />
              <Problems id={`${fieldId(`${key}.ports`)}-problems`} issues={portsIssues} />
            </div>
          </div>
        );
      })}
      <button type="submit" name="_add" value={props.side} formnovalidate>
        {props.side === 'trigger' ? 'Add trigger ports' : 'Add open ports'}
      </button>
    </fieldset>
  );
}

/** The add and edit form: every field of a rule, problems next to their fields, warnings before saving. */
export function RuleForm(props: RuleFormProps) {
  const f = props.fields;
  const problems = issuesByField(props.issues);
  const general = problems.get('');
  const field = (key: string) => ({
    id: fieldId(key),
    name: key,
    'aria-invalid': problems.has(key) ? 'true' : undefined,
    'aria-describedby': problems.has(key) ? `${fieldId(key)}-problems` : undefined,
  });
  return (
    <>
      {props.presets && (
        <form method="get" action="/rules/new" class="card preset">
          <label for="preset">Start from a preset</label>
          <select id="preset" name="preset">
            <option value="">(none: an empty rule)</option>
            {props.presets.map((p) => (
              <option value={p.id} selected={p.id === props.presetId}>
                {p.name}
              </option>
            ))}
          </select>
          <button type="submit">Fill in</button>
        </form>
      )}
      <form method="post" action={props.action} class="card rule-form" novalidate>
        <input type="hidden" name="_csrf" value={props.csrf} />
        {props.issues.length > 0 && (
          <div class="banner error" role="alert" id="form-problems">
            <p>
              Nothing was saved:{' '}
              {props.issues.length === 1 ? 'one problem' : `${props.issues.length} problems`} to fix (marked
              next to each field).
            </p>
            <Problems id="f-general-problems" issues={general} />
          </div>
        )}
        {props.warnings.length > 0 && props.issues.length === 0 && (
          <div class="banner warn" role="alert">
            <p>Check these before saving:</p>
            <ul>
              {props.warnings.map((w) => (
                <li>{w.message}</li>
              ))}
            </ul>
            <button type="submit" name="_confirm" value="yes" class="primary">
              Save anyway
            </button>
          </div>
        )}
        <div class="field">
          <label for="f-name">Name</label>
          <input {...field('name')} value={f.name} required maxlength={64} autocomplete="off" />
          <Problems id="f-name-problems" issues={problems.get('name')} />
        </div>
        <div class="field">
          <label for="f-description">Description (optional)</label>
          <input {...field('description')} value={f.description} maxlength={256} autocomplete="off" />
          <Problems id="f-description-problems" issues={problems.get('description')} />
        </div>
        <div class="field check">
          <input type="checkbox" {...field('enabled')} checked={f.enabled} />
          <label for="f-enabled">Rule is on</label>
        </div>
        <SpecRows side="trigger" rows={f.trigger} problems={problems} />
        <SpecRows side="open" rows={f.open} problems={problems} />
        <div class="field">
          <label for="f-idleTimeout">
            Close after this long without traffic (seconds, or 10m, 1h30m, 1d)
          </label>
          <input {...field('idleTimeout')} value={f.idleTimeout} autocomplete="off" />
          <Problems id="f-idleTimeout-problems" issues={problems.get('idleTimeout')} />
        </div>
        <div class="field">
          <label for="f-lanHosts">LAN devices allowed to open it</label>
          <input {...field('lanHosts')} value={f.lanHosts} autocomplete="off" />
          <p class="hint">
            "any", or addresses and networks separated by commas (192.168.1.10, 192.168.1.0/24).
          </p>
          <Problems id="f-lanHosts-problems" issues={problems.get('lanHosts')} />
        </div>
        <div class="field">
          <label for="f-remote">Who may connect to the open ports</label>
          <select {...field('remote')}>
            <Options
              value={f.remote}
              options={[
                ['any', 'Any server on the internet'],
                ['contacted', 'Only the server the device contacted'],
              ]}
            />
          </select>
          <Problems id="f-remote-problems" issues={problems.get('remote')} />
        </div>
        <div class="field">
          <label for="f-onExpire">When the rule closes</label>
          <select {...field('onExpire')}>
            <Options
              value={f.onExpire}
              options={[
                ['keep', 'Keep connections already open'],
                ['close', 'Cut connections already open'],
              ]}
            />
          </select>
          <Problems id="f-onExpire-problems" issues={problems.get('onExpire')} />
        </div>
        <div class="field">
          <label for="f-family">Address family</label>
          <select {...field('family')}>
            <Options
              value={f.family}
              options={[
                ['both', 'IPv4 and IPv6'],
                ['ipv4', 'IPv4 only'],
                ['ipv6', 'IPv6 only'],
              ]}
            />
          </select>
          <Problems id="f-family-problems" issues={problems.get('family')} />
        </div>
        <div class="actions">
          <button type="submit" class="primary">
            Save rule
          </button>
          <a class="button" href="/rules">
            Cancel
          </a>
        </div>
      </form>
    </>
  );
}
