import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runCliCaptured } from '../../test/cli/run-cli.js';
import { COMMANDS } from './cli.js';

async function script(): Promise<string> {
  const { code, out } = await runCliCaptured(['completion', 'bash']);
  expect(code).toBe(0);
  return out;
}

/** What bash completes for a command line (the last word is the one being completed). */
function complete(text: string, words: readonly string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const out = execFileSync(
    'bash',
    [
      '-c',
      `eval "$COMPLETION"; COMP_WORDS=(${quoted}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _porttrigger; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', COMPLETION: text }, encoding: 'utf8', cwd: '/' },
  );
  return out.split('\n').filter(Boolean);
}

describe('bash completion', () => {
  it('completes every command of the command table', async () => {
    const text = await script();
    const all = complete(text, ['porttrigger', '']);
    for (const c of COMMANDS) expect(all).toContain(c.spec.name);
    expect(complete(text, ['porttrigger', 're'])).toEqual(['release', 'reload']);
  });

  it('completes subcommands, options and file names', async () => {
    const text = await script();
    expect(complete(text, ['porttrigger', 'rules', 'e'])).toEqual(['edit', 'enable']);
    expect(complete(text, ['porttrigger', '-c', '/etc/x.yaml', 'presets', 's'])).toEqual(['show']);
    expect(complete(text, ['porttrigger', 'rules', 'add', '--ti'])).toEqual(['--timeout']);
    expect(complete(text, ['porttrigger', 'events', '--f'])).toEqual(['--follow']);
    expect(complete(text, ['porttrigger', 'validate', '--config', '/et'])).toEqual(['/etc']);
  });

  it('refuses a shell it cannot write for', async () => {
    const { code, err } = await runCliCaptured(['completion', 'tcsh']);
    expect(code).toBe(3);
    expect(err).toContain('completion "tcsh": one of bash');
  });
});
