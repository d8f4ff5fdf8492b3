import { z } from 'zod';
import { parsePrefix } from './address.js';
import { DURATION_GRAMMAR, parseDuration } from './duration.js';
import type { Issue, Result } from './errors.js';
import { isWildcardHost, parseListenAddress } from './listen.js';
import { formatPortList, parsePortList, rangesByProtocol, rangesOverlap } from './ports.js';
import { riskyPortsIn } from './risky-ports.js';
import { ruleNameKey, ruleNameProblem } from './rule-name.js';
import { suggest } from './suggest.js';
import type { ApiSettings, Config, EventSettings, Family, Protocol, Rule } from './types.js';
import { readYaml } from './yaml-document.js';

/** Limits that the validator enforces (the API refuses the same). */
export const LIMITS = {
  ruleName: 64,
  description: 256,
  idleTimeoutMin: 1,
  idleTimeoutMax: 86_400,
  rules: 20_000,
  specsPerSide: 32,
  lanHosts: 256,
} as const;

const IDLE_RANGE = `idleTimeout must be ${LIMITS.idleTimeoutMin}-${LIMITS.idleTimeoutMax} seconds (1s to 1d)`;

/** The `api` section when the config has none. */
export const DEFAULT_API_SETTINGS: ApiSettings = {
  listen: '127.0.0.1:8080',
  tokenFile: '/var/lib/porttrigger/api-token',
};

/** The `events` section when the config has none. */
export const DEFAULT_EVENT_SETTINGS: EventSettings = {
  database: '/var/lib/porttrigger/events.db',
  retentionDays: 30,
  maxEvents: 100_000,
};

// Interface names as the kernel allows them (IFNAMSIZ 16), plus nft's trailing wildcard.
const IFACE = /^[A-Za-z0-9_.-]{1,15}\*?$/;
const PORTS = /^[\d,\- ]{1,512}$/;

const portSpecSchema = z
  .object({
    protocol: z.enum(['tcp', 'udp', 'both'], { error: 'protocol must be tcp, udp or both' }),
    ports: z
      .union([z.string(), z.number().int()])
      .transform((v) => String(v))
      // Piped into a string so that the output side (the API's rule replies) is a plain string schema.
      .pipe(
        z.string().superRefine((text, ctx) => {
          const parsed = PORTS.test(text) ? parsePortList(text) : { error: 'not a port list' };
          if ('error' in parsed) {
            ctx.addIssue({
              code: 'custom',
              params: { code: 'bad_ports' },
              message: `${parsed.error} (use "N", "N-M" or "N-M,K")`,
            });
          }
        }),
      ),
  })
  .strict();

/** The schema of one rule as written in the config file (before cross-field checks). */
export const ruleSchema = z
  .object({
    name: z
      .string()
      .trim()
      // Names that look the same are the same: stored and compared in NFC.
      .normalize('NFC')
      .min(1, 'name must not be empty')
      .max(LIMITS.ruleName, `name must be at most ${LIMITS.ruleName} characters`)
      .superRefine((name, ctx) => {
        const problem = ruleNameProblem(name);
        if (problem) ctx.addIssue({ code: 'custom', params: { code: 'bad_name' }, message: problem });
      }),
    description: z.string().max(LIMITS.description).optional(),
    enabled: z.boolean().default(true),
    family: z.enum(['ipv4', 'ipv6', 'both']).default('both'),
    trigger: z.array(portSpecSchema).min(1, 'at least one trigger port spec').max(LIMITS.specsPerSide),
    open: z.array(portSpecSchema).min(1, 'at least one open port spec').max(LIMITS.specsPerSide),
    idleTimeout: z
      .union([z.number(), z.string()], { error: `idleTimeout must be ${DURATION_GRAMMAR}` })
      // A written duration ("10m", "1d") reads as seconds: the same grammar as the CLI's --timeout.
      .transform((v, ctx) => {
        if (typeof v === 'number') return v;
        const d = parseDuration(v);
        if (d.ok) return d.seconds;
        ctx.addIssue({
          code: 'custom',
          params: { code: 'bad_duration' },
          message: `idleTimeout: ${d.error}`,
        });
        return z.NEVER;
      })
      .pipe(
        z
          .number()
          .int('idleTimeout must be a whole number of seconds')
          .min(LIMITS.idleTimeoutMin, IDLE_RANGE)
          .max(LIMITS.idleTimeoutMax, IDLE_RANGE),
      )
      .default(600),
    lanHosts: z
      .union([
        z.literal('any'),
        z
          .array(
            z.string().superRefine((host, ctx) => {
              const prefix = parsePrefix(host);
              if ('error' in prefix) {
                ctx.addIssue({
                  code: 'custom',
                  params: { code: 'bad_address' },
                  message: `"${host}": ${prefix.error}`,
                });
              }
            }),
          )
          .min(1)
          .max(LIMITS.lanHosts),
      ])
      .default('any'),
    remote: z.enum(['any', 'contacted']).default('any'),
    onExpire: z.enum(['keep', 'close']).default('keep'),
  })
  .strict();

const configSchema = z
  .object({
    interfaces: z
      .object({
        lan: z.array(z.string()).min(1, 'at least one LAN interface'),
        wan: z.array(z.string()).min(1, 'at least one WAN interface'),
      })
      .strict(),
    mode: z.enum(['companion', 'standalone']).default('companion'),
    enabled: z.boolean().default(true),
    ipv6: z.boolean().default(true),
    // Rules are parsed one by one below, so that a bad rule does not hide the problems of the others.
    rules: z.array(z.unknown()).max(LIMITS.rules).default([]),
    api: z
      .object({
        listen: z.string().default(DEFAULT_API_SETTINGS.listen),
        tokenFile: z.string().default(DEFAULT_API_SETTINGS.tokenFile),
      })
      .strict()
      .optional(),
    events: z
      .object({
        database: z.string().default(DEFAULT_EVENT_SETTINGS.database),
        retentionDays: z.number().int().min(1).max(3650).default(DEFAULT_EVENT_SETTINGS.retentionDays),
        maxEvents: z.number().int().min(100).max(10_000_000).default(DEFAULT_EVENT_SETTINGS.maxEvents),
      })
      .strict()
      .optional(),
  })
  .strict();

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const key of path)
    v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

/** The keys a config document may have at `path` (an object of the schema), for "did you mean". */
function knownKeysAt(path: readonly (string | number)[]): readonly string[] {
  const keys = (o: { shape: object }) => Object.keys(o.shape);
  const [a, , c] = path;
  if (path.length === 0) return keys(configSchema);
  if (a === 'interfaces' && path.length === 1) return keys(configSchema.shape.interfaces);
  if (a === 'api' && path.length === 1) return keys(configSchema.shape.api.unwrap());
  if (a === 'events' && path.length === 1) return keys(configSchema.shape.events.unwrap());
  if (a === 'rules' && path.length === 2) return keys(ruleSchema);
  if (a === 'rules' && (c === 'trigger' || c === 'open') && path.length === 4) return keys(portSpecSchema);
  return [];
}

/** Finds the line of an entry of the document being validated, when it came from a file. */
export type LineLocator = (path: readonly (string | number)[]) => number | undefined;

const INTERFACES_EXAMPLE = 'interfaces: { lan: [br-lan], wan: [eth0] }';

/** Turns zod's issues into ours: path, a stable code, a plain message; `prefix` places them in the document. */
export function fromZodIssues(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  prefix: (string | number)[] = [],
  lineOf?: LineLocator,
): Issue[] {
  return issues.flatMap((i): Issue[] => {
    const missing = i.code === 'invalid_type' && valueAt(input, i.path) === undefined;
    const path = [...prefix, ...i.path.filter((p): p is string | number => typeof p !== 'symbol')];
    switch (i.code) {
      case 'unrecognized_keys':
        // One issue per key, each with its line when the input came from a file.
        return i.keys.map((key) => {
          const hint = suggest(key, knownKeysAt(path));
          const line = lineOf?.([...path, key]);
          return {
            path,
            code: 'unknown_key',
            message: `${line !== undefined ? `line ${line}: ` : ''}unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}`,
          };
        });
      case 'invalid_type':
        return [
          {
            path,
            code: missing ? 'required' : 'invalid_type',
            message: missing
              ? path.length === 1 && path[0] === 'interfaces'
                ? `is required: the gateway's LAN and WAN interfaces, e.g. ${INTERFACES_EXAMPLE}`
                : 'is required'
              : i.message.startsWith('Invalid input')
                ? `expected ${i.expected}`
                : i.message,
          },
        ];
      case 'too_small':
      case 'too_big':
        return [{ path, code: 'out_of_range', message: i.message }];
      case 'invalid_value':
        return [{ path, code: 'invalid_value', message: i.message }];
      case 'custom':
        return [{ path, code: String(i.params?.['code'] ?? 'invalid'), message: i.message }];
      default:
        return [{ path, code: 'invalid', message: i.message }];
    }
  });
}

/** Families a rule applies to under a config. */
export function ruleFamilies(rule: Pick<Rule, 'family'>, ipv6: boolean): Family[] {
  const all: Family[] = rule.family === 'both' ? ['ipv4', 'ipv6'] : [rule.family];
  return all.filter((f) => f === 'ipv4' || ipv6);
}

/** How many commonly attacked ports a warning names before it counts the rest. */
const RISKY_SHOWN = 3;
/** An open range this wide forwards (nearly) everything: the host is a DMZ host, not a port trigger. */
const DMZ_PORTS = 60_000;

/** Whether a rule can ever fire: some of its `lanHosts` must be of a family the rule applies to. */
function checkLanHostFamilies(rule: Rule, index: number, issues: Issue[], warnings: Issue[]): void {
  if (rule.lanHosts === 'any') return;
  const families = ruleFamilies(rule, true);
  const hosts = rule.lanHosts.map((text, j) => {
    const prefix = parsePrefix(text);
    return { text, j, family: 'error' in prefix ? undefined : prefix.family };
  });
  const other = hosts.filter((h) => h.family !== undefined && !families.includes(h.family));
  if (other.length === 0) return;
  const only = rule.family === 'ipv4' ? 'IPv4' : 'IPv6';
  if (other.length === hosts.length) {
    issues.push({
      path: ['rules', index, 'lanHosts'],
      code: 'never_fires',
      message: `the rule is ${only} only (family: ${rule.family}) but every lanHosts entry is ${only === 'IPv4' ? 'IPv6' : 'IPv4'}: it can never fire. Set family: both, or list ${only} hosts`,
    });
    return;
  }
  for (const h of other) {
    warnings.push({
      path: ['rules', index, 'lanHosts', h.j],
      code: 'lan_host_other_family',
      message: `"${h.text}" is not ${only}, and the rule is ${only} only (family: ${rule.family}): it never triggers from there`,
    });
  }
}

function checkRule(rule: Rule, index: number, warnings: Issue[]): void {
  rule.open.forEach((spec, j) => {
    const parsed = parsePortList(spec.ports);
    if ('error' in parsed) return;
    const path = ['rules', index, 'open', j, 'ports'];
    const count = parsed.ranges.reduce((n, r) => n + r.to - r.from + 1, 0);
    if (count >= DMZ_PORTS) {
      // One short warning instead of every risky port of the range, one by one.
      warnings.push({
        path,
        code: 'open_all_ports',
        message: `opens ${count === 65_535 ? 'every' : `${count} of the 65535`} ${spec.protocol === 'both' ? 'tcp and udp' : spec.protocol} port${count === 65_535 ? ' (1-65535)' : 's'}: the LAN host is exposed like a DMZ host, its every service reachable from the internet. Open only the ports the application uses`,
      });
      return;
    }
    const risky = riskyPortsIn(spec.protocol, parsed.ranges);
    if (risky.length > 0) {
      const shown = risky.slice(0, RISKY_SHOWN).map((h) => `${h.protocol} ${h.ports} (${h.risk})`);
      const more = risky.length - shown.length;
      warnings.push({
        path,
        code: 'risky_port',
        message: `opens commonly attacked ports: ${shown.join('; ')}${
          more > 0
            ? `; and ${more} more (${risky
                .slice(RISKY_SHOWN)
                .map((h) => `${h.protocol} ${h.ports}`)
                .join(', ')})`
            : ''
        }. Open them only if that service is meant to be reached from the internet`,
      });
    }
    const low = parsed.ranges.filter((r) => r.from < 1024);
    if (low.length > 0) {
      const shown = formatPortList(low.map((r) => ({ from: r.from, to: Math.min(r.to, 1023) })));
      warnings.push({
        path,
        code: 'privileged_port',
        message: `opens ports below 1024 (${spec.protocol} ${shown}), which are usually services of the gateway or well-known daemons`,
      });
    }
  });
}

function specsValid(rule: Rule): boolean {
  return [...rule.trigger, ...rule.open].every(
    (s) => PORTS.test(s.ports) && !('error' in parsePortList(s.ports)),
  );
}

/** Names must be unique, in NFC and regardless of case; checked on every rule that has a name, valid or not. */
function checkNames(rules: readonly unknown[], issues: Issue[]): void {
  const seen = new Map<string, number>();
  rules.forEach((raw, i) => {
    const name = (raw as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || name.trim() === '') return;
    const key = ruleNameKey(name);
    const first = seen.get(key);
    if (first !== undefined) {
      const same = (rules[first] as { name: string }).name.trim() === name.trim();
      issues.push({
        path: ['rules', i, 'name'],
        code: 'duplicate_name',
        message: `"${name}" is also the name of rules[${first}]${same ? '' : ' (names are compared in Unicode NFC, regardless of case)'}`,
      });
    } else {
      seen.set(key, i);
    }
  });
}

/** Cross-rule checks: no two enabled rules opening the same port for the same protocol and family. */
function checkRules(config: Config, issues: Issue[], warnings: Issue[]): void {
  for (const [i, rule] of config.rules.entries()) {
    checkRule(rule, i, warnings);
    checkLanHostFamilies(rule, i, issues, warnings);
    if (!config.ipv6 && rule.family === 'ipv6') {
      issues.push({
        path: ['rules', i, 'family'],
        code: 'never_fires',
        message: 'the rule is IPv6 only but the config has ipv6: false: it can never fire',
      });
    }
  }
  const checked = config.rules.map((rule, i) => ({ rule, i })).filter(({ rule }) => specsValid(rule));
  for (const { rule, i } of checked) {
    const open = rangesByProtocol(rule.open);
    const trigger = rangesByProtocol(rule.trigger);
    for (const proto of ['tcp', 'udp'] as Protocol[]) {
      if (rangesOverlap(open[proto], trigger[proto])) {
        warnings.push({
          path: ['rules', i, 'open'],
          code: 'open_includes_trigger',
          message: `open ${proto} ports include the rule's own trigger ports: replies from the remote may be forwarded as new inbound connections`,
        });
      }
    }
  }
  const enabled = checked.filter(({ rule }) => rule.enabled);
  // One sweep over sorted ranges per family and protocol, so that thousands of rules validate in linear time.
  const clashes = new Map<number, { other: number; protocols: Set<Protocol> }>();
  for (const family of ['ipv4', 'ipv6'] as Family[]) {
    for (const protocol of ['tcp', 'udp'] as Protocol[]) {
      const ranges = enabled
        .filter(({ rule }) => ruleFamilies(rule, true).includes(family))
        .flatMap(({ rule, i }) => rangesByProtocol(rule.open)[protocol].map((r) => ({ ...r, i })))
        .sort((a, b) => a.from - b.from || a.i - b.i);
      let reach: { to: number; i: number } | undefined;
      for (const r of ranges) {
        if (reach && r.from <= reach.to && reach.i !== r.i) {
          const [first, later] = reach.i < r.i ? [reach.i, r.i] : [r.i, reach.i];
          const clash = clashes.get(later) ?? { other: first, protocols: new Set<Protocol>() };
          clash.protocols.add(protocol);
          clashes.set(later, clash);
        }
        if (!reach || r.to > reach.to) reach = { to: r.to, i: r.i };
      }
    }
  }
  for (const [i, { other, protocols }] of [...clashes].sort((a, b) => a[0] - b[0])) {
    issues.push({
      path: ['rules', i, 'open'],
      code: 'open_overlap',
      message: `open ${[...protocols].join(' and ')} ports overlap those of enabled rule "${config.rules[other]!.name}" (rules[${other}]) for the same family`,
    });
  }
}

function checkListen(listen: string, issues: Issue[], warnings: Issue[]): void {
  const path = ['api', 'listen'];
  const parsed = parseListenAddress(listen);
  if ('error' in parsed) issues.push({ path, code: 'bad_listen', message: parsed.error });
  else if (isWildcardHost(parsed.host)) {
    warnings.push({
      path,
      code: 'api_listen_all',
      message: `"${listen}" serves the API and the panel on every address, the WAN included: listen on 127.0.0.1 or a LAN address`,
    });
  }
}

/**
 * Validates a parsed config document. Never throws: all problems at once, errors apart from warnings.
 * @example validateConfig({ interfaces: { lan: ['br-lan'], wan: ['eth0'] }, rules: [] })
 */
export function validateConfig(input: unknown, lineOf?: LineLocator): Result<Config> {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const issues = fromZodIssues(parsed.error.issues, input, [], lineOf);
    // The rules' own problems are reported at once too, unless the rules themselves are what is wrong.
    const rules = (input as { rules?: unknown } | null)?.rules;
    if (Array.isArray(rules) && !issues.some((i) => i.path[0] === 'rules')) {
      rules.forEach((raw, i) => {
        const r = ruleSchema.safeParse(raw);
        if (!r.success) issues.push(...fromZodIssues(r.error.issues, raw, ['rules', i], lineOf));
      });
    }
    return { ok: false, issues, warnings: [] };
  }
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  const rules: Rule[] = [];
  parsed.data.rules.forEach((raw, i) => {
    const r = ruleSchema.safeParse(raw);
    if (r.success) rules.push(r.data as Rule);
    else issues.push(...fromZodIssues(r.error.issues, raw, ['rules', i], lineOf));
  });
  const config = { ...parsed.data, rules } as Config;
  checkNames(parsed.data.rules, issues);
  for (const side of ['lan', 'wan'] as const) {
    config.interfaces[side].forEach((name, i) => {
      if (!IFACE.test(name)) {
        issues.push({
          path: ['interfaces', side, i],
          code: 'bad_interface',
          message: `"${name}" is not an interface name (1-15 of A-Z a-z 0-9 _ . -, optionally ending in *)`,
        });
      }
    });
  }
  const both = config.interfaces.lan.filter((n) => config.interfaces.wan.includes(n));
  for (const name of both) {
    issues.push({
      path: ['interfaces'],
      code: 'interface_both_sides',
      message: `"${name}" is listed as both LAN and WAN`,
    });
  }
  if (config.api) checkListen(config.api.listen, issues, warnings);
  // Indexes of the rules that parsed, so that semantic issues point at the right place in the document.
  const index = parsed.data.rules.flatMap((raw, i) => (ruleSchema.safeParse(raw).success ? [i] : []));
  const local: Issue[] = [];
  const localWarnings: Issue[] = [];
  checkRules(config, local, localWarnings);
  const remap = (x: Issue): Issue =>
    x.path[0] === 'rules' && typeof x.path[1] === 'number'
      ? { ...x, path: ['rules', index[x.path[1]] ?? x.path[1], ...x.path.slice(2)] }
      : x;
  issues.push(...local.map(remap));
  warnings.push(...localWarnings.map(remap));
  return issues.length > 0 ? { ok: false, issues, warnings } : { ok: true, value: config, warnings };
}

/** Validates one rule on its own (for the API); cross-rule checks happen when it joins a config. */
export function validateRule(input: unknown): Result<Rule> {
  const parsed = ruleSchema.safeParse(input);
  if (!parsed.success) return { ok: false, issues: fromZodIssues(parsed.error.issues, input), warnings: [] };
  const rule = parsed.data as Rule;
  const warnings: Issue[] = [];
  const issues: Issue[] = [];
  checkRule(rule, 0, warnings);
  checkLanHostFamilies(rule, 0, issues, warnings);
  const relative = (x: Issue): Issue => ({ ...x, path: x.path.slice(2) });
  if (issues.length > 0) return { ok: false, issues: issues.map(relative), warnings: warnings.map(relative) };
  return { ok: true, value: rule, warnings: warnings.map(relative) };
}

/** Parses YAML text and validates it; every YAML problem (syntax, duplicate keys, aliases) is an issue too. */
export function parseConfigText(text: string): Result<Config> {
  const read = readYaml(text);
  if (!read.ok) return read;
  if (read.value === null || read.value === undefined) {
    return {
      ok: false,
      issues: [
        {
          path: [],
          code: 'empty',
          message: `the config is empty: it needs at least the interfaces, e.g. ${INTERFACES_EXAMPLE} (see examples/gateway.yaml)`,
        },
      ],
      warnings: read.warnings,
    };
  }
  // Unknown keys are found by their line: a misspelt key is easier to spot in the file than by its path.
  const result = validateConfig(read.value, read.lineOf);
  return read.warnings.length > 0 ? { ...result, warnings: [...read.warnings, ...result.warnings] } : result;
}

/** What one rule says on its own: issues and warnings with paths under `rules[0]`, per `ipv6` setting. */
interface OwnChecks {
  readonly issues: readonly Issue[];
  readonly warnings: readonly Issue[];
  /** `open_includes_trigger`: reported after every rule's own warnings, as {@link validateConfig} does. */
  readonly late: readonly Issue[];
  readonly open?: Record<Protocol, readonly { from: number; to: number }[]>;
}

// Rules are immutable values: what one says on its own is computed once per object and setting.
const ownChecks = new WeakMap<Rule, { ipv6: boolean; checks: OwnChecks }>();

function ownChecksOf(rule: Rule, ipv6: boolean): OwnChecks {
  const known = ownChecks.get(rule);
  if (known && known.ipv6 === ipv6) return known.checks;
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  // The same checks as checkRules, for this rule alone.
  checkRules({ ...BARE_CONFIG, ipv6, rules: [rule] }, issues, warnings);
  const checks: OwnChecks = {
    issues,
    warnings: warnings.filter((w) => w.code !== 'open_includes_trigger'),
    late: warnings.filter((w) => w.code === 'open_includes_trigger'),
    ...(specsValid(rule) ? { open: rangesByProtocol(rule.open) } : {}),
  };
  ownChecks.set(rule, { ipv6, checks });
  return checks;
}

const BARE_CONFIG: Config = {
  interfaces: { lan: [], wan: [] },
  mode: 'standalone',
  enabled: true,
  ipv6: true,
  rules: [],
};

function at(issue: Issue, index: number): Issue {
  return { ...issue, path: ['rules', index, ...issue.path.slice(2)] };
}

/**
 * Validates a config that differs from a valid one by one change: rule `changed` added, replaced or enabled
 * (undefined: a rule deleted or disabled, or the global switch, which cannot make a valid config invalid). The
 * result is {@link validateConfig}'s, computed from what the changed rule says and what the others said before:
 * its open ports are compared with each enabled rule's, not every pair; a clash is worded by the whole check.
 * @example validateConfigChange(withRuleAdded(config, rule), config.rules.length)
 */
export function validateConfigChange(config: Config, changed: number | undefined): Result<Config> {
  const rule = changed === undefined ? undefined : config.rules[changed];
  if (rule) {
    const own = ownChecksOf(rule, config.ipv6);
    if (own.issues.length > 0) return validateConfig(config);
    if (rule.enabled && own.open) {
      const families = ruleFamilies(rule, true);
      for (const [i, other] of config.rules.entries()) {
        if (i === changed || !other.enabled) continue;
        const theirs = ownChecksOf(other, config.ipv6).open;
        if (!theirs || !ruleFamilies(other, true).some((f) => families.includes(f))) continue;
        if (rangesOverlap(own.open.tcp, theirs.tcp) || rangesOverlap(own.open.udp, theirs.udp)) {
          return validateConfig(config);
        }
      }
    }
  }
  const warnings: Issue[] = [];
  if (config.api) checkListen(config.api.listen, [], warnings);
  const late: Issue[] = [];
  for (const [i, r] of config.rules.entries()) {
    const own = ownChecksOf(r, config.ipv6);
    warnings.push(...own.warnings.map((w) => at(w, i)));
    late.push(...own.late.map((w) => at(w, i)));
  }
  return { ok: true, value: config, warnings: [...warnings, ...late] };
}
