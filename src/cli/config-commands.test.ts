import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../../test/cli/run-cli.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const GATEWAY = join(ROOT, 'examples/gateway.yaml');
const INVALID = join(ROOT, 'test/cli/fixtures/invalid.yaml');

let dir: string;
let tokenFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'porttrigger-cli-config-'));
  tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 'secret-token\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(argv: string[], env: Record<string, string> = {}) {
  const requests: { url: string; body?: unknown }[] = [];
  const fetch = ((url: string, init: RequestInit = {}) => {
    requests.push({ url: String(url), body: init.body ? JSON.parse(String(init.body)) : undefined });
    return Promise.reject(new Error('no network in unit tests'));
  }) as typeof globalThis.fetch;
  return { ...(await runCliCaptured(argv, { env, cwd: ROOT, fetch })), requests };
}

describe('validate and compile find the config like every command', () => {
  it.each(['validate', 'compile'])('%s reads --config, else $PORTTRIGGER_CONFIG', async (command) => {
    expect((await run([command, '--config', GATEWAY])).code).toBe(0);
    expect((await run([command, '-c', GATEWAY])).code).toBe(0);
    expect((await run([command], { PORTTRIGGER_CONFIG: GATEWAY })).code).toBe(0);
    expect((await run([command, '--config', INVALID])).code).toBe(3);
  });

  it.each(['validate', 'compile'])(
    '%s without a file reads /etc/porttrigger/config.yaml',
    async (command) => {
      const r = await run([command, '--json']);
      // The default path, not "missing argument": whether the file exists depends on the machine.
      expect(r.code).not.toBe(2);
      if (r.code !== 0) expect(r.err).toContain('/etc/porttrigger/config.yaml');
    },
  );
});

describe('errors of validate --json and compile --json', () => {
  it.each(['validate', 'compile'])(
    '%s --json prints an invalid config as {"error"} on stderr and nothing on stdout',
    async (command) => {
      const r = await run([command, INVALID, '--json']);
      expect(r.code).toBe(3);
      expect(r.out).toBe('');
      const { error } = JSON.parse(r.err) as { error: { code: string; issues: unknown[] } };
      expect(error.code).toBe('INVALID_CONFIG');
      expect(error.issues).toHaveLength(3);
    },
  );

  it('compile prints nothing on stdout for an invalid config, so a pipe under pipefail fails', async () => {
    const r = await run(['compile', INVALID]);
    expect(r.code).toBe(3);
    expect(r.out).toBe('');
    expect(r.err).toContain('nothing to compile');
  });
});

describe('bad argument values are invalid input (exit 3), not usage errors', () => {
  const api = () => ['--api', 'http://127.0.0.1:1', '--token-file', tokenFile];

  it.each([
    [['check', '70000/udp'], 'check "70000/udp": expected PORT or PORT/PROTO'],
    [['check', '0'], 'check "0"'],
    [['events', '--since', 'yesterday'], '--since "yesterday"'],
    [['events', '--limit', '0'], '--limit "0"'],
    [['events', '--type', 'nope'], '--type "nope"'],
    [
      ['rules', 'add', '--name', 'x', '--trigger', 'tcp:1', '--open', 'udp:2', '--timeout', '5x'],
      '--timeout "5x"',
    ],
    [
      ['rules', 'add', '--name', 'x', '--trigger', 'tcp:1', '--open', 'udp:2', '--timeout', '2d'],
      'idleTimeout',
    ],
    [['rules', 'add', '--name', 'x', '--trigger', '6970', '--open', 'udp:2'], '--trigger "6970"'],
    [['learn', '--for', 'soon'], '--for "soon"'],
  ])('%j exits 3 with INVALID_INPUT and sends nothing', async (argv, said) => {
    const r = await run([...argv, ...api()]);
    expect(r.code).toBe(3);
    expect(r.err).toContain(said);
    expect(r.requests).toEqual([]);
    const json = await run([...argv, ...api(), '--json']);
    expect(json.code).toBe(3);
    if (json.err !== '') expect(JSON.parse(json.err.split('\n')[0]!).error.code).toBe('INVALID_INPUT');
  });

  it('reads --timeout in the one duration grammar: 1d is a day, 1h30m ninety minutes', async () => {
    for (const [text, seconds] of [
      ['1d', 86_400],
      ['1h30m', 5_400],
      ['90', 90],
    ] as const) {
      const r = await run([
        'rules',
        'add',
        '--name',
        'x',
        '--trigger',
        'tcp:1',
        '--open',
        'udp:2',
        '--timeout',
        text,
        ...api(),
      ]);
      // Valid locally: the request goes out (and fails, there is no service), with the duration in seconds.
      expect(r.requests).toMatchObject([{ body: { idleTimeout: seconds } }]);
      expect(r.code).toBe(4);
    }
  });
});

describe('doctor --netns', () => {
  it.each([
    ['porttrigger-nosuch-ns', 'no such namespace'],
    ['../etc', 'not a namespace name'],
  ])('says %j is %s, exit 3, and runs no check', async (name, said) => {
    const r = await run(['doctor', '--netns', name, '--config', GATEWAY]);
    expect(r.code).toBe(3);
    expect(r.err).toContain(`--netns "${name}": ${said}`);
    expect(r.out).toBe('');
  });
});
