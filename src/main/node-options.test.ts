import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVICE_NODE_OPTIONS } from './node-options.js';

const root = new URL('../../', import.meta.url);

/** The options between `node` and the script in a command line that starts `node`, e.g. the unit's ExecStart. */
function nodeOptionsOf(commandLine: string, node: string, script: string): string[] | undefined {
  const words = commandLine.trim().split(/\s+/);
  const at = words.indexOf(node);
  const end = words.indexOf(script, at + 1);
  return at >= 0 && end > at ? words.slice(at + 1, end) : undefined;
}

describe('the V8 options of the service', () => {
  it('are options, not a script or an argument', () => {
    expect(SERVICE_NODE_OPTIONS.length).toBeGreaterThan(0);
    for (const option of SERVICE_NODE_OPTIONS) expect(option).toMatch(/^--[a-z][a-z0-9-]*(=\S+)?$/);
  });

  it('are the systemd unit’s: ExecStart runs node with them, then the installed CLI', () => {
    const unit = readFileSync(new URL('contrib/porttrigger.service', root), 'utf8');
    const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1];
    expect(execStart).toBeDefined();
    expect(nodeOptionsOf(execStart!, '/usr/bin/node', '/usr/bin/porttrigger')).toEqual(SERVICE_NODE_OPTIONS);
    expect(execStart).toMatch(/\/usr\/bin\/porttrigger run --config /);
  });

  it('are the lab’s: npm run lab starts the CLI with them', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const lab = pkg.scripts['lab']!.split('&&').at(-1)!;
    expect(nodeOptionsOf(lab, 'node', 'dist/cli/main.js')).toEqual(SERVICE_NODE_OPTIONS);
  });
});
