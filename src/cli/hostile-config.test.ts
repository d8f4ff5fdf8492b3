import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../../test/cli/run-cli.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'porttrigger-cli-yaml-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (argv: string[]) => runCliCaptured(argv, { cwd: dir });

describe('validate on YAML that cannot be read as a config', () => {
  it.each([
    [
      'undefined alias',
      'interfaces: { lan: [br-lan], wan: [wan0] }\nrules: *nope\n',
      'rules: line 2: the alias *nope',
    ],
    [
      'alias bomb',
      'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n',
      'the aliases expand beyond',
    ],
    ['duplicate key', 'mode: standalone\nmode: companion\n', 'mode: line 2: Map keys must be unique'],
  ])('names the %s and exits 3, not 1', async (what, text, expected) => {
    const file = join(dir, `${what.replace(/ /g, '-')}.yaml`);
    await writeFile(file, text);
    const r = await run(['validate', file]);
    expect(r.code).toBe(3);
    expect(r.out).toContain(expected);
    expect(r.err).not.toContain('internal error');
    const json = await run(['validate', file, '--json']);
    expect(json.code).toBe(3);
    expect(json.out).toBe('');
    expect(JSON.parse(json.err)).toMatchObject({
      error: { code: 'INVALID_CONFIG', issues: [{ code: expect.stringMatching(/^yaml_/) }] },
    });
  });
});
