import { describe, expect, it } from 'vitest';
import { DAEMON_USAGE, parseDaemonArgs } from './daemon-args.js';

describe('the daemon command line', () => {
  it.each([['--help'], ['-h'], ['--config', 'x.yaml', '--help']])('%j asks for the usage', (...argv) => {
    expect(parseDaemonArgs(argv)).toEqual({ kind: 'help' });
    expect(DAEMON_USAGE).toMatch(/^usage: node dist\/main\/daemon\.js --config FILE/);
  });

  it.each([
    [[], '--config FILE is required'],
    [['--config', 'x.yaml', '--frob'], "Unknown option '--frob'"],
    [['--config', 'x.yaml', '--log-level', 'loud'], '--log-level loud'],
  ])('%j is a usage error with its reason, not an exception', (argv, said) => {
    const line = parseDaemonArgs(argv);
    expect(line.kind).toBe('usage-error');
    expect(line.kind === 'usage-error' && line.message).toContain(said);
  });

  it('reads a full command line', () => {
    expect(
      parseDaemonArgs(['--config', 'gw.yaml', '--netns', 'r1', '--keep-table', '--log-level', 'debug']),
    ).toEqual({ kind: 'run', config: 'gw.yaml', netns: 'r1', keepTable: true, noApi: false, level: 'debug' });
  });
});
