/**
 * The rule form of the panel: form fields to the rule input the API takes (validated by the same schema), a
 * rule back to fields, and issues to the field they belong to.
 */
import type { Issue } from '../domain/errors.js';
import type { PortSpec, Rule } from '../domain/types.js';

/** The form's values as text, as the browser sends them and the form shows them. */
export interface RuleFields {
  readonly name: string;
  readonly description: string;
  readonly enabled: boolean;
  readonly family: string;
  readonly trigger: readonly { protocol: string; ports: string }[];
  readonly open: readonly { protocol: string; ports: string }[];
  readonly idleTimeout: string;
  readonly lanHosts: string;
  readonly remote: string;
  readonly onExpire: string;
}

/** A form with the defaults of the config. */
export const EMPTY_FIELDS: RuleFields = {
  name: '',
  description: '',
  enabled: true,
  family: 'both',
  trigger: [{ protocol: 'tcp', ports: '' }],
  open: [{ protocol: 'tcp', ports: '' }],
  idleTimeout: '600',
  lanHosts: 'any',
  remote: 'any',
  onExpire: 'keep',
};

type FormData = Readonly<Record<string, string | File | (string | File)[]>>;

function text(form: FormData, key: string): string {
  const v = form[key];
  const one = Array.isArray(v) ? v[0] : v;
  return typeof one === 'string' ? one : '';
}

/**
 * The port spec rows of one side, in the order of their numbers. Every row the form sent is read: how many a
 * side may have is the rule schema's to say (`LIMITS.specsPerSide`), with an issue, never by dropping rows.
 */
function specs(form: FormData, side: 'trigger' | 'open'): { protocol: string; ports: string }[] {
  const pattern = new RegExp(`^${side}\\.(\\d{1,4})\\.(?:ports|protocol)$`);
  const numbers = new Set<number>();
  for (const key of Object.keys(form)) {
    const m = pattern.exec(key);
    if (m) numbers.add(Number(m[1]));
  }
  const rows: { protocol: string; ports: string }[] = [];
  for (const i of [...numbers].sort((a, b) => a - b)) {
    const ports = text(form, `${side}.${i}.ports`);
    const protocol = text(form, `${side}.${i}.protocol`);
    if (!protocol && !ports) continue;
    rows.push({ protocol: protocol || 'tcp', ports: ports.trim() });
  }
  return rows;
}

/** Reads the posted form into fields (rows without ports are dropped unless none would be left). */
export function fieldsFromForm(form: FormData): RuleFields {
  const dropEmpty = (rows: { protocol: string; ports: string }[]) => {
    const kept = rows.filter((r) => r.ports !== '');
    return kept.length > 0 ? kept : rows.slice(0, 1);
  };
  return {
    name: text(form, 'name'),
    description: text(form, 'description'),
    enabled: text(form, 'enabled') === 'on',
    family: text(form, 'family') || 'both',
    trigger: dropEmpty(specs(form, 'trigger')),
    open: dropEmpty(specs(form, 'open')),
    idleTimeout: text(form, 'idleTimeout').trim(),
    lanHosts: text(form, 'lanHosts').trim(),
    remote: text(form, 'remote') || 'any',
    onExpire: text(form, 'onExpire') || 'keep',
  };
}

/** The rule input for `validateRule` / `Service.createRule`: the same body a REST client would send. */
export function ruleInput(fields: RuleFields): Record<string, unknown> {
  const timeout = fields.idleTimeout;
  const hosts = fields.lanHosts;
  return {
    name: fields.name,
    ...(fields.description.trim() ? { description: fields.description.trim() } : {}),
    enabled: fields.enabled,
    family: fields.family,
    trigger: fields.trigger.map((s) => ({ protocol: s.protocol, ports: s.ports })),
    open: fields.open.map((s) => ({ protocol: s.protocol, ports: s.ports })),
    // Not a number stays text, so the schema names the field and the value.
    idleTimeout: /^\d+$/.test(timeout) ? Number(timeout) : timeout === '' ? undefined : timeout,
    lanHosts: hosts === '' || hosts.toLowerCase() === 'any' ? 'any' : hosts.split(/[\s,]+/).filter(Boolean),
    remote: fields.remote,
    onExpire: fields.onExpire,
  };
}

/** The fields of an existing rule. */
export function fieldsFromRule(rule: Rule): RuleFields {
  const rows = (list: readonly PortSpec[]) => list.map((s) => ({ protocol: s.protocol, ports: s.ports }));
  return {
    name: rule.name,
    description: rule.description ?? '',
    enabled: rule.enabled,
    family: rule.family,
    trigger: rows(rule.trigger),
    open: rows(rule.open),
    idleTimeout: String(rule.idleTimeout),
    lanHosts: rule.lanHosts === 'any' ? 'any' : rule.lanHosts.join(', '),
    remote: rule.remote,
    onExpire: rule.onExpire,
  };
}

/** The form field an issue belongs to (`open.0.ports`), or '' for the form as a whole. */
export function fieldOf(issue: Issue): string {
  const p = issue.path;
  if (p.length === 0 || p[0] === 'rules') return '';
  if ((p[0] === 'trigger' || p[0] === 'open') && typeof p[1] === 'number') {
    return `${p[0]}.${p[1]}.${p[2] === 'protocol' ? 'protocol' : 'ports'}`;
  }
  if (p[0] === 'lanHosts') return 'lanHosts';
  return String(p[0]);
}

/** Issues grouped by field. */
export function issuesByField(issues: readonly Issue[]): Map<string, Issue[]> {
  const out = new Map<string, Issue[]>();
  for (const issue of issues) {
    const key = fieldOf(issue);
    out.set(key, [...(out.get(key) ?? []), issue]);
  }
  return out;
}
