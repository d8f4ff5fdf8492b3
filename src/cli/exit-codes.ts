import { type ErrorCode, PorttriggerError } from '../domain/errors.js';

/** The exit codes of `porttrigger`, documented in docs/cli.md. */
export const EXIT_CODES = {
  ok: 0,
  /** A runtime failure that none of the codes below describes. */
  failure: 1,
  /** The command line is wrong: unknown command or option, missing argument. */
  usage: 2,
  /** The config or other input is invalid (including a rule or preset that does not exist). */
  invalid: 3,
  /** The service cannot be reached, or refused our token. */
  unreachable: 4,
  /** nft or the kernel failed: nft missing or refusing a script, namespaces, programs like `ip`. */
  kernel: 5,
} as const;

/** One of {@link EXIT_CODES}. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** Thrown for a wrong command line; `help` names the command whose help applies. */
export class UsageError extends PorttriggerError {
  constructor(
    message: string,
    readonly help?: string,
  ) {
    super('USAGE', message);
  }
}

/** The exit code of every error code; typed so that a new code does not compile until it has one. */
export const EXIT_CODE_BY_ERROR: Readonly<Record<ErrorCode, ExitCode>> = {
  USAGE: EXIT_CODES.usage,
  INVALID_INPUT: EXIT_CODES.invalid,
  INVALID_CONFIG: EXIT_CODES.invalid,
  CONFIG_NOT_FOUND: EXIT_CODES.invalid,
  CONFIG_READ_FAILED: EXIT_CODES.invalid,
  CONFIG_WRITE_FAILED: EXIT_CODES.failure,
  CONFIG_FILE_CHANGED: EXIT_CODES.invalid,
  RULE_NOT_FOUND: EXIT_CODES.invalid,
  RULE_EXISTS: EXIT_CODES.invalid,
  PRESET_NOT_FOUND: EXIT_CODES.invalid,
  LEARN_ACTIVE: EXIT_CODES.invalid,
  LEARN_NOT_FOUND: EXIT_CODES.invalid,
  LEARN_UNAVAILABLE: EXIT_CODES.kernel,
  NOT_FOUND: EXIT_CODES.invalid,
  UNAUTHORIZED: EXIT_CODES.unreachable,
  TOO_MANY_ATTEMPTS: EXIT_CODES.unreachable,
  FOREIGN_HOST: EXIT_CODES.unreachable,
  PAYLOAD_TOO_LARGE: EXIT_CODES.invalid,
  UNSUPPORTED_MEDIA_TYPE: EXIT_CODES.invalid,
  SERVICE_STOPPED: EXIT_CODES.unreachable,
  EVENT_STORE_FAILED: EXIT_CODES.failure,
  NFT_MISSING: EXIT_CODES.kernel,
  NFT_TIMEOUT: EXIT_CODES.kernel,
  NFT_REJECTED: EXIT_CODES.kernel,
  NFT_LIST_FAILED: EXIT_CODES.kernel,
  EXEC_MISSING: EXIT_CODES.kernel,
  EXEC_TIMEOUT: EXIT_CODES.kernel,
  EXEC_FAILED: EXIT_CODES.kernel,
  EXEC_EXIT: EXIT_CODES.kernel,
  NETNS_FAILED: EXIT_CODES.kernel,
  PREREQUISITES_MISSING: EXIT_CODES.kernel,
  NOT_ROOT: EXIT_CODES.failure,
  PROBE_FAILED: EXIT_CODES.kernel,
  LAB_FAILED: EXIT_CODES.failure,
  ABORTED: EXIT_CODES.failure,
  DOCTOR_FAILED: EXIT_CODES.failure,
  TOKEN_FAILED: EXIT_CODES.failure,
  TOKEN_TOO_SHORT: EXIT_CODES.invalid,
  TOKEN_MISSING: EXIT_CODES.unreachable,
  API_LISTEN_FAILED: EXIT_CODES.failure,
  API_UNREACHABLE: EXIT_CODES.unreachable,
  API_FAILED: EXIT_CODES.failure,
  INTERNAL: EXIT_CODES.failure,
};

/**
 * The one mapping from an error to the exit code of the process: by the `code` of a {@link PorttriggerError},
 * 1 for anything else.
 * @example exitCodeFor(new NftError('NFT_REJECTED', '...')) // 5
 */
export function exitCodeFor(error: unknown): ExitCode {
  if (!(error instanceof PorttriggerError)) return EXIT_CODES.failure;
  return EXIT_CODE_BY_ERROR[error.code];
}

/** A failure the command has already explained on its output: only its exit code remains to be set. */
export class ReportedFailure extends PorttriggerError {}
