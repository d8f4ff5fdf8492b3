/**
 * Values of command-line arguments that are well formed but wrong (`check 70000/udp`, `--timeout 2d`): invalid
 * input (exit 3, `INVALID_INPUT`), not a usage error, with the argument named in the issue.
 */
import { parseDuration } from '../domain/duration.js';
import { InvalidInputError } from '../domain/errors.js';

/** The error for one bad argument: `flag` is how the user wrote it (`--timeout`, `PORT`), `message` says why. */
export function invalidArgument(flag: string, text: string, message: string): InvalidInputError {
  return new InvalidInputError(`${flag} ${JSON.stringify(text)}: ${message}`, [
    { path: [flag.replace(/^-+/, '')], code: 'bad_argument', message },
  ]);
}

/**
 * A duration argument in whole seconds, in the grammar of src/domain/duration.ts.
 * @example durationArgument('--timeout', '1d') // 86400
 */
export function durationArgument(flag: string, text: string): number {
  const d = parseDuration(text);
  if (!d.ok) throw invalidArgument(flag, text, d.error);
  return d.seconds;
}
