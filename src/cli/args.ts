import { parseArgs } from 'node:util';
import { suggest } from '../domain/suggest.js';
import { UsageError } from './exit-codes.js';

/** One option of a command, as `node:util` parseArgs takes it plus what `--help` prints. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** May be given more than once (values are collected in order). */
  readonly multiple?: boolean;
  /** The placeholder `--help` prints after the option, e.g. `FILE`. */
  readonly value?: string;
  readonly description: string;
}

/** The command line of one command: what it takes and how `--help` describes it. */
export interface CommandSpec {
  readonly name: string;
  /** One line for the top-level command list. */
  readonly summary: string;
  /** Usage lines without the program name, e.g. `validate FILE`. */
  readonly usage: readonly string[];
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** How many positional arguments the command takes. */
  readonly positionals: { readonly min: number; readonly max: number };
  /** Free text after the options, e.g. examples. */
  readonly details?: string;
  /** True for commands that print data and so take `--json`. */
  readonly json?: boolean;
  /** The words the first positional argument may be (`rules list`, `presets show`), for shell completion. */
  readonly subcommands?: readonly string[];
}

/** Option values by name and positional arguments, as parsed for one command. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | readonly string[] | undefined>>;
  readonly positionals: readonly string[];
}

/** What a command line asks for: help, the version, or a command with its arguments. */
export type CommandLine =
  | { readonly kind: 'help'; readonly command?: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly command: string; readonly args: ParsedArgs };

/** Options every command takes. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  help: { type: 'boolean', short: 'h', description: 'show help for the command' },
  config: {
    type: 'string',
    short: 'c',
    value: 'FILE',
    description: 'config file (default $PORTTRIGGER_CONFIG, else /etc/porttrigger/config.yaml)',
  },
  api: {
    type: 'string',
    value: 'URL',
    description: 'service API (default from the config, else http://127.0.0.1:8080)',
  },
  'token-file': { type: 'string', value: 'FILE', description: 'API token file (default from the config)' },
};

const JSON_OPTION: OptionSpec = { type: 'boolean', description: 'print JSON instead of text' };

/** The options a command accepts: its own, `--json` where it prints data, and the global ones. */
export function optionsOf(spec: CommandSpec): Record<string, OptionSpec> {
  return { ...spec.options, ...(spec.json ? { json: JSON_OPTION } : {}), ...GLOBAL_OPTIONS };
}

// Global options that take a value: their value is never the command name.
const VALUE_OPTIONS = new Set(
  Object.entries(GLOBAL_OPTIONS).flatMap(([name, o]) =>
    o.type === 'string' ? [`--${name}`, ...(o.short ? [`-${o.short}`] : [])] : [],
  ),
);

function findCommand(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') return -1;
    if (!token.startsWith('-') || token === '-') return i;
    if (VALUE_OPTIONS.has(token)) i++;
  }
  return -1;
}

/** The closest name to a typo (re-exported: the command line uses it for commands and options). */
export { suggest };

function parseError(error: unknown, spec: CommandSpec): UsageError {
  const message = error instanceof Error ? error.message : String(error);
  // parseArgs says e.g. "Unknown option '--jsno'. To specify a positional argument starting with a '-', ...".
  const first = message.split('. ')[0] ?? message;
  const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(message)?.[1];
  const hint = unknown?.startsWith('--')
    ? suggest(unknown.slice(2), Object.keys(optionsOf(spec)))
    : undefined;
  return new UsageError(
    `${spec.name}: ${first.replace(/\.$/, '')}${hint ? ` (did you mean --${hint}?)` : ''}`,
    spec.name,
  );
}

/**
 * Parses a command line (without the program name) against the command specs: the first word that is not an
 * option names the command; options may come before or after it. Throws {@link UsageError}.
 * @example parseCommandLine(['validate', 'gw.yaml', '--json'], specs)
 */
export function parseCommandLine(argv: readonly string[], specs: readonly CommandSpec[]): CommandLine {
  const at = findCommand(argv);
  if (at < 0) {
    if (argv.includes('--version') || argv.includes('-V')) return { kind: 'version' };
    const rest = argv.filter((a) => a !== '--help' && a !== '-h');
    if (rest.length === 0) return { kind: 'help' };
    throw new UsageError(`unexpected ${rest.join(' ')}: a command is missing`);
  }
  const name = argv[at]!;
  if (name === 'help') {
    const topic = argv[at + 1];
    return topic === undefined ? { kind: 'help' } : { kind: 'help', command: checkName(topic, specs).name };
  }
  const spec = checkName(name, specs);
  const args = [...argv.slice(0, at), ...argv.slice(at + 1)];
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(optionsOf(spec)).map(([key, o]) => [
          key,
          { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw parseError(error, spec);
  }
  if (parsed.values['help'] === true) return { kind: 'help', command: spec.name };
  const { min, max } = spec.positionals;
  const count = parsed.positionals.length;
  if (count < min) {
    throw new UsageError(`${spec.name}: missing argument (usage: porttrigger ${spec.usage[0]})`, spec.name);
  }
  if (count > max) {
    const extra = parsed.positionals.slice(max).join(' ');
    throw new UsageError(`${spec.name}: unexpected argument ${JSON.stringify(extra)}`, spec.name);
  }
  return {
    kind: 'run',
    command: spec.name,
    args: { values: parsed.values as ParsedArgs['values'], positionals: parsed.positionals },
  };
}

function checkName(name: string, specs: readonly CommandSpec[]): CommandSpec {
  const spec = specs.find((s) => s.name === name);
  if (spec) return spec;
  const hint = suggest(
    name,
    specs.map((s) => s.name),
  );
  throw new UsageError(`unknown command "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}`);
}

/** A string option, or undefined when absent. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Every value of a repeatable string option, in order. */
export function stringOptions(args: ParsedArgs, name: string): readonly string[] {
  const v = args.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** True when a boolean option was given. */
export function booleanOption(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

function optionLine(name: string, o: OptionSpec): [string, string] {
  const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
  return [flag, `${o.description}${o.multiple ? ' (repeatable)' : ''}`];
}

function columns(rows: readonly [string, string][]): string {
  const width = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`).join('\n');
}

/** The `--help` text of one command. */
export function formatCommandHelp(spec: CommandSpec): string {
  const own = Object.entries({ ...spec.options, ...(spec.json ? { json: JSON_OPTION } : {}) });
  const parts = [
    `${spec.summary}\n`,
    `Usage:\n${spec.usage.map((u) => `  porttrigger ${u}`).join('\n')}\n`,
    ...(own.length > 0 ? [`Options:\n${columns(own.map(([n, o]) => optionLine(n, o)))}\n`] : []),
    `Global options:\n${columns(Object.entries(GLOBAL_OPTIONS).map(([n, o]) => optionLine(n, o)))}\n`,
    ...(spec.details ? [`${spec.details.trimEnd()}\n`] : []),
  ];
  return parts.join('\n');
}

/** The top-level `--help` text: every command with its summary. */
export function formatTopHelp(specs: readonly CommandSpec[]): string {
  return [
    'porttrigger: port triggering for Linux gateways (nftables does the packet work).\n',
    'Usage:\n  porttrigger COMMAND [ARGS] [OPTIONS]\n  porttrigger COMMAND --help\n',
    `Commands:\n${columns(specs.map((s) => [s.name, s.summary]))}\n`,
    `Global options:\n${columns([
      ...Object.entries(GLOBAL_OPTIONS).map(([n, o]) => optionLine(n, o)),
      ['-V, --version', 'print the version'],
    ])}\n`,
    'Exit codes: 0 ok, 1 failure, 2 usage error, 3 invalid config or input, 4 service unreachable or\nunauthorized, 5 nft or kernel failure.\n',
  ].join('\n');
}
