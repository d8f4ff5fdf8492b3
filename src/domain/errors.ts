import type { ErrorCode } from './error-codes.js';

export type { ErrorCode } from './error-codes.js';

/**
 * The one family of operational errors. Every failure carries a stable `code` from the closed list in
 * error-codes.ts, which the CLI maps to an exit code and the API to an HTTP status, in one place each.
 */
export class PorttriggerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The code for a file that could not be read: CONFIG_NOT_FOUND when nothing is at the path (ENOENT, ENOTDIR),
 * CONFIG_READ_FAILED when something is there but cannot be read (permissions, a directory, an I/O error).
 */
export function fileReadErrorCode(error: unknown): 'CONFIG_NOT_FOUND' | 'CONFIG_READ_FAILED' {
  const errno = (error as { code?: unknown } | undefined)?.code;
  return errno === 'ENOENT' || errno === 'ENOTDIR' ? 'CONFIG_NOT_FOUND' : 'CONFIG_READ_FAILED';
}

/** One problem found in input: where, a stable code, and a plain message. */
export interface Issue {
  readonly path: readonly (string | number)[];
  readonly code: string;
  readonly message: string;
}

/** The result of validation: never thrown, always returned with every problem at once. */
export type Result<T> =
  | { readonly ok: true; readonly value: T; readonly warnings: readonly Issue[] }
  | { readonly ok: false; readonly issues: readonly Issue[]; readonly warnings: readonly Issue[] };

/** Thrown by operations that were handed invalid input (the issues say what is wrong). */
export class InvalidInputError extends PorttriggerError {
  constructor(
    message: string,
    readonly issues: readonly Issue[],
  ) {
    super('INVALID_INPUT', message);
  }
}

/** Formats an issue path the way users write it: `rules[2].open[0].ports`. */
export function formatPath(path: readonly (string | number)[]): string {
  return path.reduce<string>(
    (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part),
    '',
  );
}
