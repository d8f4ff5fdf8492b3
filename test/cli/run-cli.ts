/** The CLI in-process for its unit tests: output captured, no terminal, not root, no network unless handed one. */
import { runCli } from '../../src/cli/cli.js';
import { type CliContext, captureOutput, NO_SIGNALS } from '../../src/cli/context.js';
import { createCliSystem } from '../../src/main/cli-system.js';

/** What a run exited with and printed. */
export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** What a test sets of the context (the rest: no environment, cwd `/`, no network); `tty` makes stdout a terminal. */
export type CliRunOptions = Partial<Omit<CliContext, 'stdout' | 'stderr'>> & { readonly tty?: boolean };

/**
 * Runs the CLI on `argv` in this process, as the entry point would with the context `options` describe.
 * @example const { code, err } = await runCliCaptured(['validate', '--config', path], { cwd: dir })
 */
export async function runCliCaptured(argv: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  const { tty = false, ...context } = options;
  const stdout = captureOutput(tty);
  const stderr = captureOutput(false);
  const code = await runCli(argv, {
    stdout,
    stderr,
    env: {},
    cwd: '/',
    onSignal: NO_SIGNALS,
    fetch: () => Promise.reject(new Error('no network in unit tests')),
    version: '0.0.0-test',
    isRoot: false,
    system: createCliSystem(),
    ...context,
  });
  return { code, out: stdout.text(), err: stderr.text() };
}

/** What {@link inProcessFetch} hands requests to: the API app (`createApp`), or anything that answers a Request. */
export interface RequestHandler {
  fetch(request: Request): Response | Promise<Response>;
}

/**
 * A `fetch` for the CLI that hands every request to `app` in-process: the same URLs and bodies as over the network.
 * @example runCliCaptured(['status', '--api', 'http://127.0.0.1:1'], { fetch: inProcessFetch(createApp({ service, token })) })
 */
export function inProcessFetch(app: RequestHandler): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) =>
    app.fetch(new Request(input, init))) as typeof fetch;
}
