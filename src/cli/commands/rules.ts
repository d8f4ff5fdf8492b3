import { validateRule } from '../../domain/config.js';
import { formatDurationSeconds } from '../../domain/duration.js';
import { InvalidInputError, PorttriggerError } from '../../domain/errors.js';
import { findPreset, PRESETS, presetRuleInput } from '../../domain/presets.js';
import { reconnectNotice } from '../../domain/reconnect.js';
import type { PortSpec, Rule } from '../../domain/types.js';
import { type ApiClient, createApiClient } from '../api-client.js';
import type { ParsedArgs } from '../args.js';
import { booleanOption, stringOption, stringOptions } from '../args.js';
import { durationArgument, invalidArgument } from '../argument-values.js';
import type { CliContext, Command } from '../context.js';
import { ReportedFailure, UsageError } from '../exit-codes.js';
import { formatIssues, formatPortSpecs, formatRules, MARKS } from '../format.js';
import { issueJson, printJson } from '../output.js';

/** The subcommands of `rules`, in the order help lists them. */
export const RULES_SUBCOMMANDS = ['list', 'show', 'add', 'edit', 'remove', 'enable', 'disable'] as const;
const SUBCOMMANDS = RULES_SUBCOMMANDS;
type Subcommand = (typeof SUBCOMMANDS)[number];

/**
 * Parses a port spec argument `PROTO:PORTS` (`tcp:6970`, `udp:7000-7010,7020`, `both:6901`).
 * @example parsePortSpecArg('udp:7000-7010', '--open') // { protocol: 'udp', ports: '7000-7010' }
 */
export function parsePortSpecArg(text: string, flag: string): PortSpec {
  const m = /^(tcp|udp|both|tcp\+udp):(.+)$/i.exec(text.trim());
  if (!m) {
    throw invalidArgument(flag, text, 'expected PROTO:PORTS, e.g. tcp:6970 or udp:7000-7010');
  }
  const proto = m[1]!.toLowerCase();
  return { protocol: proto === 'tcp+udp' ? 'both' : (proto as PortSpec['protocol']), ports: m[2]!.trim() };
}

/** The rule fields the flags give (`--name`, `--trigger`, `--timeout`, ...): what `add` sets and `edit` changes. */
export function ruleFieldsFromArgs(args: ParsedArgs): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const name = stringOption(args, 'name');
  if (name !== undefined) fields['name'] = name;
  const trigger = stringOptions(args, 'trigger').map((t) => parsePortSpecArg(t, '--trigger'));
  const open = stringOptions(args, 'open').map((t) => parsePortSpecArg(t, '--open'));
  if (trigger.length > 0) fields['trigger'] = trigger;
  if (open.length > 0) fields['open'] = open;
  const timeout = stringOption(args, 'timeout');
  if (timeout !== undefined) fields['idleTimeout'] = durationArgument('--timeout', timeout);
  for (const [flag, key] of [
    ['remote', 'remote'],
    ['on-expire', 'onExpire'],
    ['family', 'family'],
    ['description', 'description'],
  ] as const) {
    const v = stringOption(args, flag);
    if (v !== undefined) fields[key] = v;
  }
  const lanHosts = stringOption(args, 'lan-hosts');
  if (lanHosts !== undefined) {
    fields['lanHosts'] =
      lanHosts.trim() === 'any'
        ? 'any'
        : lanHosts
            .split(',')
            .map((h) => h.trim())
            .filter(Boolean);
  }
  if (booleanOption(args, 'disabled')) fields['enabled'] = false;
  return fields;
}

/** The rule input the flags of `rules add` describe: a preset with overrides, or a rule from scratch. */
export function ruleInputFromArgs(args: ParsedArgs): Record<string, unknown> {
  const presetName = stringOption(args, 'preset');
  const fields = ruleFieldsFromArgs(args);
  if (presetName === undefined) {
    const missing = ['name', 'trigger', 'open'].filter((k) => fields[k] === undefined);
    if (missing.length > 0) {
      throw new UsageError(
        `rules add: ${missing.map((m) => `--${m}`).join(', ')} required (or --preset ID, see \`porttrigger presets\`)`,
        'rules',
      );
    }
    return fields;
  }
  const preset = findPreset(presetName);
  if (!preset) {
    throw new PorttriggerError(
      'PRESET_NOT_FOUND',
      `no preset "${presetName}"; known: ${PRESETS.map((p) => p.id).join(', ')}`,
    );
  }
  return presetRuleInput(preset, fields);
}

function nameArg(args: ParsedArgs, sub: Subcommand): string {
  const name = args.positionals[1];
  if (name === undefined) throw new UsageError(`rules ${sub}: the rule name is missing`, 'rules');
  return name;
}

/** One rule, field by field, as `rules show` prints it. */
export function formatRule(rule: Rule): string {
  const rows: [string, string][] = [
    ['name', rule.name],
    ...(rule.description !== undefined ? [['description', rule.description] as [string, string]] : []),
    ['enabled', rule.enabled ? 'yes' : 'no'],
    ['family', rule.family],
    ['trigger', formatPortSpecs(rule.trigger)],
    ['open', formatPortSpecs(rule.open)],
    ['idle timeout', `${formatDurationSeconds(rule.idleTimeout)} (${rule.idleTimeout} s)`],
    ['lan hosts', rule.lanHosts === 'any' ? 'any' : rule.lanHosts.join(', ')],
    ['remote', rule.remote],
    ['on expire', rule.onExpire],
  ];
  return rows.map(([k, v]) => `${`${k}:`.padEnd(14)}${v}\n`).join('');
}

async function editRule(
  api: ApiClient,
  name: string,
  args: ParsedArgs,
  ctx: CliContext,
  json: boolean,
): Promise<void> {
  const fields = ruleFieldsFromArgs(args);
  if (Object.keys(fields).length === 0) {
    throw new UsageError('rules edit: nothing to change (give --timeout, --open, --name, ...)', 'rules');
  }
  const current = await api.getRule(name);
  const input = { ...current, ...fields };
  const checked = validateRule(input);
  if (!checked.ok) {
    if (!json) {
      ctx.stderr.write(`${MARKS.fail} the edited rule is invalid:\n`);
      ctx.stderr.write(formatIssues(checked.issues, 'error'));
      throw new ReportedFailure('INVALID_INPUT', 'the edited rule is invalid');
    }
    throw new InvalidInputError('the edited rule is invalid', checked.issues);
  }
  if (!json) ctx.stderr.write(formatIssues(checked.warnings, 'warning'));
  const rule = (await api.replaceRule(name, input)) ?? checked.value;
  if (json) printJson(ctx, rule);
  else
    ctx.stdout.write(
      `${MARKS.ok} changed rule "${name}"${rule.name !== name ? ` (now "${rule.name}")` : ''}\n`,
    );
}

/** `porttrigger rules list|show|add|edit|remove|enable|disable`: the rules of the running service, through its API. */
export const rulesCommand: Command = {
  spec: {
    name: 'rules',
    summary: 'list, show, add, edit, remove, enable or disable rules of the running service',
    subcommands: RULES_SUBCOMMANDS,
    usage: [
      'rules list [--json]',
      'rules show NAME [--json]',
      'rules add --name NAME --trigger PROTO:PORTS --open PROTO:PORTS [--timeout DURATION] [options]',
      'rules add --preset ID [--name NAME] [--timeout DURATION] [options]',
      'rules edit NAME [--name NEW] [--trigger ...] [--open ...] [--timeout DURATION] [options]',
      'rules remove NAME',
      'rules enable NAME',
      'rules disable NAME',
    ],
    options: {
      name: { type: 'string', value: 'NAME', description: 'rule name' },
      preset: { type: 'string', value: 'ID', description: 'start from a preset (see `porttrigger presets`)' },
      trigger: {
        type: 'string',
        multiple: true,
        value: 'PROTO:PORTS',
        description: 'trigger ports, e.g. tcp:6970',
      },
      open: {
        type: 'string',
        multiple: true,
        value: 'PROTO:PORTS',
        description: 'open ports, e.g. udp:7000-7010',
      },
      timeout: {
        type: 'string',
        value: 'DURATION',
        description: 'idle timeout (default 600 seconds; 90, 10m, 1h30m, 1d)',
      },
      remote: { type: 'string', value: 'any|contacted', description: 'who may reach the open ports' },
      'on-expire': { type: 'string', value: 'keep|close', description: 'established connections at expiry' },
      'lan-hosts': { type: 'string', value: 'A,B', description: 'addresses or CIDRs allowed to trigger' },
      family: { type: 'string', value: 'ipv4|ipv6|both', description: 'IP families (default both)' },
      description: { type: 'string', value: 'TEXT', description: 'a note for people' },
      disabled: { type: 'boolean', description: 'add the rule disabled' },
    },
    positionals: { min: 1, max: 2 },
    json: true,
    details:
      'PROTO is tcp, udp or both; PORTS is "N", "N-M" or a comma list. --trigger and --open repeat.\n' +
      'Examples:\n' +
      '  porttrigger rules add --name "Game callback" --trigger tcp:6970 --open udp:7000-7010 --timeout 600\n' +
      '  porttrigger rules add --preset irc-dcc --lan-hosts 192.168.1.10\n' +
      '  porttrigger rules edit "Game callback" --timeout 1h --lan-hosts 192.168.1.10\n' +
      '  porttrigger rules disable "Game callback"\n' +
      '`rules edit` changes only what its flags give (--trigger and --open replace that side) and keeps the rest.',
  },
  async run(args, ctx) {
    const sub = args.positionals[0] as Subcommand;
    if (!SUBCOMMANDS.includes(sub)) {
      throw new UsageError(`rules: unknown subcommand "${sub}" (one of ${SUBCOMMANDS.join(', ')})`, 'rules');
    }
    if (sub === 'list' || sub === 'add') {
      if (args.positionals.length > 1) {
        throw new UsageError(`rules ${sub}: unexpected argument "${args.positionals[1]}"`, 'rules');
      }
    }
    const json = booleanOption(args, 'json');
    if (sub === 'add') {
      const input = ruleInputFromArgs(args);
      const checked = validateRule(input);
      if (!checked.ok) {
        if (json) printJson(ctx, { added: false, issues: checked.issues.map(issueJson) });
        else {
          ctx.stderr.write(`${MARKS.fail} the rule is invalid:\n`);
          ctx.stderr.write(formatIssues(checked.issues, 'error'));
        }
        throw new ReportedFailure('INVALID_INPUT', 'the rule is invalid');
      }
      if (!json) ctx.stderr.write(formatIssues(checked.warnings, 'warning'));
      const api = await createApiClient(args, ctx);
      const rule = await api.addRule(checked.value);
      if (json) printJson(ctx, rule);
      else {
        const r = rule?.trigger ? rule : checked.value;
        ctx.stdout.write(
          `${MARKS.ok} added rule "${r.name}": trigger ${formatPortSpecs(r.trigger)} → open ${formatPortSpecs(r.open)}, ` +
            `idle ${r.idleTimeout}s, remote ${r.remote}${r.enabled ? '' : ' (disabled)'}\n`,
        );
        await sayIfIdle(api, ctx, r);
      }
      return;
    }
    const api = await createApiClient(args, ctx);
    if (sub === 'list') {
      const rules = await api.listRules();
      if (json) printJson(ctx, rules);
      else ctx.stdout.write(formatRules(rules, { tty: ctx.stdout.isTTY === true }));
      return;
    }
    const name = nameArg(args, sub);
    if (sub === 'show') {
      const rule = await api.getRule(name);
      if (json) printJson(ctx, rule);
      else ctx.stdout.write(formatRule(rule));
      return;
    }
    if (sub === 'edit') {
      await editRule(api, name, args, ctx, json);
      return;
    }
    if (sub === 'remove') await api.removeRule(name);
    else await api.setRuleEnabled(name, sub === 'enable');
    const done = { remove: 'removed', enable: 'enabled', disable: 'disabled' }[sub];
    if (json) printJson(ctx, { rule: name, [done]: true });
    else {
      ctx.stdout.write(`${MARKS.ok} ${done} rule "${name}"\n`);
      if (sub === 'enable') await sayIfIdle(api, ctx, { name, enabled: true });
    }
  },
};

/**
 * After a rule took effect: says when nothing live took it, so an application already connected must
 * reconnect (docs/semantics.md, 5). A table that cannot be read says nothing more.
 */
export async function sayIfIdle(
  api: Awaited<ReturnType<typeof createApiClient>>,
  ctx: CliContext,
  rule: { readonly name: string; readonly enabled: boolean },
): Promise<void> {
  const table = await api.readTable().catch(() => undefined);
  const notice = table ? reconnectNotice(rule, table) : undefined;
  if (notice) ctx.stdout.write(`${notice}\n`);
}
