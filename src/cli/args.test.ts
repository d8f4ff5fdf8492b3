import { describe, expect, it } from 'vitest';
import type { CommandSpec } from './args.js';
import { formatCommandHelp, formatTopHelp, parseCommandLine, stringOptions, suggest } from './args.js';
import { UsageError } from './exit-codes.js';

const SPECS: CommandSpec[] = [
  {
    name: 'validate',
    summary: 'check a config',
    usage: ['validate FILE'],
    options: {},
    positionals: { min: 1, max: 1 },
    json: true,
  },
  {
    name: 'rules',
    summary: 'rules',
    usage: ['rules list'],
    options: {
      trigger: { type: 'string', multiple: true, value: 'PROTO:PORTS', description: 'trigger ports' },
      disabled: { type: 'boolean', description: 'add disabled' },
    },
    positionals: { min: 1, max: 2 },
  },
];

function usageMessage(argv: string[]): string {
  try {
    parseCommandLine(argv, SPECS);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('parseCommandLine', () => {
  it.each([
    [[], { kind: 'help' }],
    [['--help'], { kind: 'help' }],
    [['-h'], { kind: 'help' }],
    [['--version'], { kind: 'version' }],
    [['help'], { kind: 'help' }],
    [['help', 'rules'], { kind: 'help', command: 'rules' }],
    [['validate', '--help'], { kind: 'help', command: 'validate' }],
    [['rules', 'list', '-h'], { kind: 'help', command: 'rules' }],
  ])('%j asks for %j', (argv, expected) => {
    expect(parseCommandLine(argv, SPECS)).toEqual(expected);
  });

  it('takes options before and after the command, global ones with their values', () => {
    const line = parseCommandLine(
      [
        '--api',
        'http://x:1',
        'rules',
        'add',
        '--trigger',
        'tcp:1',
        '--trigger=udp:2',
        '--disabled',
        '-c',
        'f.yaml',
      ],
      SPECS,
    );
    expect(line.kind).toBe('run');
    if (line.kind !== 'run') return;
    expect(line.command).toBe('rules');
    expect(line.args.positionals).toEqual(['add']);
    expect(line.args.values['api']).toBe('http://x:1');
    expect(line.args.values['config']).toBe('f.yaml');
    expect(line.args.values['disabled']).toBe(true);
    expect(stringOptions(line.args, 'trigger')).toEqual(['tcp:1', 'udp:2']);
  });

  it('accepts --json only on commands that print data', () => {
    expect(parseCommandLine(['validate', 'f', '--json'], SPECS)).toMatchObject({
      kind: 'run',
      args: { values: { json: true } },
    });
    expect(usageMessage(['rules', 'list', '--json'])).toMatch(/Unknown option '--json'/);
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['valdate', 'f'], /did you mean "validate"/],
    [['validate'], /missing argument \(usage: porttrigger validate FILE\)/],
    [['validate', 'a', 'b'], /unexpected argument "b"/],
    [['validate', 'f', '--jsno'], /did you mean --json/],
    [['rules', 'add', '--trigger'], /argument missing/],
    [['--api', 'http://x'], /a command is missing/],
  ])('refuses %j', (argv, message) => {
    expect(usageMessage(argv)).toMatch(message);
  });
});

describe('suggest', () => {
  it('suggests close names only', () => {
    expect(suggest('stauts', ['status', 'rules'])).toBe('status');
    expect(suggest('xyz', ['status', 'rules'])).toBeUndefined();
  });
});

describe('help', () => {
  it('lists every command with its summary and the exit codes', () => {
    const text = formatTopHelp(SPECS);
    expect(text).toContain('validate  check a config');
    expect(text).toMatch(/Exit codes: 0 ok, 1 failure, 2 usage error, 3 invalid config/);
  });

  it('shows usage, own options with --json, and the global options', () => {
    const text = formatCommandHelp(SPECS[1]!);
    expect(text).toContain('porttrigger rules list');
    expect(text).toContain('--trigger PROTO:PORTS');
    expect(text).toContain('(repeatable)');
    expect(text).toContain('--token-file FILE');
    expect(formatCommandHelp(SPECS[0]!)).toContain('--json');
  });
});
