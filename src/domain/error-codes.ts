/**
 * The closed list of error codes, in two parts: the codes the service and its API answer with, and the codes
 * that stay inside one program (the CLI, the lab, the doctor, start-up) and never reach an API answer. Every
 * {@link PorttriggerError} carries one; the API maps its codes to an HTTP status (`Record<ApiErrorCode, …>`) and
 * the CLI every code to an exit code (`Record<ErrorCode, …>`), so a new code does not compile until it is placed.
 * docs/api.md lists the API's codes and docs/cli.md all of them (a test keeps them in step).
 */

/** The codes an API answer can carry, with what they mean, in the order docs/api.md lists them. */
export const API_ERROR_CODE_MEANINGS = {
  INVALID_INPUT: 'a body, query, path parameter or command argument is invalid (`issues` says what)',
  INVALID_CONFIG: 'the config file is invalid (every issue is listed)',
  CONFIG_NOT_FOUND: 'the config file (or another input file) named does not exist',
  CONFIG_READ_FAILED:
    'the config file (or another input file) exists but cannot be read, e.g. for its permissions',
  CONFIG_WRITE_FAILED: 'the config file cannot be written (nothing changed)',
  CONFIG_FILE_CHANGED: 'the config file was edited since it was loaded: reload first',
  RULE_NOT_FOUND: 'no rule has that name',
  RULE_EXISTS: 'a rule with that name exists (names are unique regardless of case)',
  PRESET_NOT_FOUND: 'no preset has that id',
  LEARN_ACTIVE: 'a learning session is already running: stop it first',
  LEARN_NOT_FOUND: 'no learning session has run yet, or no proposal has that number',
  LEARN_UNAVAILABLE:
    'this service cannot record connections for learning (no kernel datapath or no conntrack)',
  NOT_FOUND: 'no such route',
  UNAUTHORIZED: 'no bearer token, or a wrong one',
  TOO_MANY_ATTEMPTS:
    'too many wrong tokens from this address, or from everywhere: wait (`Retry-After`); the right token still works',
  FOREIGN_HOST: 'the `Host` header names no address or name of this machine (DNS rebinding)',
  PAYLOAD_TOO_LARGE: 'the body is over the limit (256 KiB)',
  UNSUPPORTED_MEDIA_TYPE: 'the body is neither JSON (nor YAML, where YAML is accepted)',
  SERVICE_STOPPED: 'the service is stopping',
  EVENT_STORE_FAILED: 'the event history cannot be read or written',
  NFT_MISSING: 'nft cannot run: install nftables',
  NFT_TIMEOUT: 'nft did not finish in time (nothing changed)',
  NFT_REJECTED: 'nft refused the ruleset (nothing changed)',
  NFT_LIST_FAILED: 'nft failed to list the ruleset, or listed something unreadable',
  EXEC_MISSING: 'a program (such as `ip`) is not installed',
  EXEC_TIMEOUT: 'a program did not finish in time',
  EXEC_FAILED: 'a program could not be started',
  EXEC_EXIT: 'a program exited with an error',
  INTERNAL: 'a bug: see the service log',
} as const satisfies Readonly<Record<string, string>>;

/** The codes that stay inside one program: the CLI reports them, no API answer carries them. */
export const LOCAL_ERROR_CODE_MEANINGS = {
  USAGE: 'the command line is wrong: unknown command or option, missing argument',
  NETNS_FAILED: 'a network namespace of the lab could not be built or removed',
  PREREQUISITES_MISSING: 'programs the command needs (`ip`, `nft`) are missing',
  NOT_ROOT: 'the command needs root privileges',
  PROBE_FAILED: 'a probe agent of the lab failed or did not answer',
  LAB_FAILED: 'some steps of the lab did not go as described',
  ABORTED: 'interrupted by a signal',
  DOCTOR_FAILED: 'some checks of the doctor failed',
  TOKEN_FAILED: 'the API token file cannot be read or created',
  TOKEN_TOO_SHORT:
    'the API token file holds fewer than 32 bytes: write a longer one or delete it to get a new one',
  TOKEN_MISSING: 'the CLI cannot read the API token file',
  API_LISTEN_FAILED: 'the API cannot listen on `api.listen`',
  API_UNREACHABLE: 'the CLI cannot reach the service, or the event stream broke',
  API_FAILED: 'the service answered something the CLI cannot read',
} as const satisfies Readonly<Record<string, string>>;

/** Every error code with what it means: the API's first, then the local ones, as docs/cli.md lists them. */
export const ERROR_CODE_MEANINGS = { ...API_ERROR_CODE_MEANINGS, ...LOCAL_ERROR_CODE_MEANINGS } as const;

/** A code an API answer can carry. */
export type ApiErrorCode = keyof typeof API_ERROR_CODE_MEANINGS;

/** A code that never leaves the program that raised it. */
export type LocalErrorCode = keyof typeof LOCAL_ERROR_CODE_MEANINGS;

/** One stable error code. */
export type ErrorCode = ApiErrorCode | LocalErrorCode;

/** Every error code, in the order of {@link ERROR_CODE_MEANINGS}. */
export const ERROR_CODES = Object.keys(ERROR_CODE_MEANINGS) as readonly ErrorCode[];

/** The codes an API answer can carry, in the order of {@link API_ERROR_CODE_MEANINGS}. */
export const API_ERROR_CODES = Object.keys(API_ERROR_CODE_MEANINGS) as readonly ApiErrorCode[];

/** Whether a string (an API answer, say) is one of our codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODE_MEANINGS, value);
}

/** Whether a code is one an API answer can carry. */
export function isApiErrorCode(value: unknown): value is ApiErrorCode {
  return typeof value === 'string' && Object.hasOwn(API_ERROR_CODE_MEANINGS, value);
}
