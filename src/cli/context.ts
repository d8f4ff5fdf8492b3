import type { DoctorCheck } from '../doctor/doctor.js';
import type { Logger, LogThreshold } from '../domain/logger.js';
import type { LabOptions, RunningLab } from '../lab/lab.js';
import type { DoctorRequest } from '../main/doctor-wiring.js';
import type { ServiceHost, ServiceHostOptions } from '../main/service-host.js';
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

/**
 * The service, the doctor and the lab wired to this machine's programs: src/main/cli-system.ts builds it, the
 * commands only call it.
 */
export interface CliSystem {
  /** A logger that writes to `sink` (the command's standard error). */
  createLogger(options: { readonly level: LogThreshold; readonly sink: OutputStream }): Logger;
  /** The service with its REST API, as `run` and `lab` start it. */
  startServiceHost(options: ServiceHostOptions): Promise<ServiceHost>;
  /** Every check of the doctor on this machine or inside a namespace. */
  doctor(request: DoctorRequest): Promise<DoctorCheck[]>;
  /** What the lab needs and is missing (root, `ip`, `nft`). */
  missingLabPrerequisites(isRoot: boolean): Promise<string[]>;
  /** Builds the virtual network, starts the service in it and plays the scenario. */
  startLab(options: Omit<LabOptions, 'run'>): Promise<RunningLab>;
}

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
  /** The service, the doctor and the lab, wired by the composition root. */
  readonly system: CliSystem;
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
