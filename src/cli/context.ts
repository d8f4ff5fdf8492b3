import type { CommandSpec, ParsedArgs } from './args.js';

/** Where a command writes: standard output or standard error, or a buffer in tests. */
export interface OutputStream {
  write(text: string): void;
  /** True when a person is watching (aligned tables, symbols); false for pipes and files. */
  readonly isTTY?: boolean;
}

/** A signal the long-running commands (`run`, `lab`, `events --follow`) react to. */
export type CliSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** Subscribes to process signals; returns the function that unsubscribes. */
export type SignalSource = (signal: CliSignal, handler: () => void) => () => void;

/** Everything a command may use from the outside world; only `main.ts` builds it from the process. */
export interface CliContext {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly onSignal: SignalSource;
  readonly fetch: typeof fetch;
  /** The version printed by `--version`. */
  readonly version: string;
  /** True when running as root (the lab and `run` need it). */
  readonly isRoot: boolean;
  /** Asks a person a question on the terminal and resolves with the answer; absent when nobody can answer. */
  readonly ask?: (question: string) => Promise<string>;
}

/** One command: its command line and what it does. Errors are thrown, never turned into exit codes here. */
export interface Command {
  readonly spec: CommandSpec;
  run(args: ParsedArgs, ctx: CliContext): Promise<void>;
}

/** Where the service's config lives when neither `--config` nor `$PORTTRIGGER_CONFIG` says otherwise. */
export const DEFAULT_CONFIG_PATH = '/etc/porttrigger/config.yaml';

/** A signal source that never fires, for tests and embedding. */
export const NO_SIGNALS: SignalSource = () => () => undefined;

/** An output stream that keeps what is written, for tests. */
export interface CapturedOutput extends OutputStream {
  readonly text: () => string;
}

/** Makes an {@link OutputStream} that records everything written to it. */
export function captureOutput(isTTY = false): CapturedOutput {
  const chunks: string[] = [];
  return { write: (t) => void chunks.push(t), isTTY, text: () => chunks.join('') };
}

/** Resolves once any of the signals fires, and says which one. */
export function waitForSignal(onSignal: SignalSource, signals: readonly CliSignal[]): Promise<CliSignal> {
  return new Promise((resolve) => {
    const offs = signals.map((s) =>
      onSignal(s, () => {
        for (const off of offs) off();
        resolve(s);
      }),
    );
  });
}
