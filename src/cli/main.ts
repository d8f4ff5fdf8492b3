#!/usr/bin/env node
/**
 * The `porttrigger` executable: the only module that reads process.argv, listens to process signals and calls
 * process.exit, and the only one of the CLI that uses the composition root. Everything else takes a
 * {@link CliContext}.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { createCliSystem } from '../main/cli-system.js';
import { runCli } from './cli.js';
import type { CliContext, CliSignal } from './context.js';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The context of the real process: its streams, environment, signals and identity. */
function nodeContext(): CliContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    onSignal: (signal: CliSignal, handler: () => void) => {
      process.on(signal, handler);
      return () => void process.off(signal, handler);
    },
    fetch: globalThis.fetch,
    version: readVersion(),
    isRoot: process.getuid?.() === 0,
    system: createCliSystem(),
    ...(process.stdin.isTTY
      ? {
          ask: async (question: string) => {
            const rl = createInterface({ input: process.stdin, output: process.stderr });
            try {
              return await rl.question(question);
            } finally {
              rl.close();
            }
          },
        }
      : {}),
  };
}

const code = await runCli(process.argv.slice(2), nodeContext());
process.exit(code);
