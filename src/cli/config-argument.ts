/**
 * The config file of `validate` and `compile`: the FILE argument, else the one every command uses (`--config`,
 * `$PORTTRIGGER_CONFIG`, /etc/porttrigger/config.yaml). An invalid config is an error with every issue, so that
 * `--json` prints it as `{"error": …}` on standard error like every other error.
 */

import { type Issue, PorttriggerError } from '../domain/errors.js';
import type { ParsedArgs } from './args.js';
import { configPathOf } from './client/lookup.js';
import type { CliContext } from './context.js';

/** The file `validate` or `compile` reads. */
export function configFileArgument(args: ParsedArgs, ctx: CliContext): string {
  return args.positionals[0] ?? configPathOf(args, ctx).path;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** An invalid config file: every issue and warning, for the one error printer of the CLI. */
export class InvalidConfigError extends PorttriggerError {
  constructor(
    readonly file: string,
    readonly issues: readonly Issue[],
    readonly warnings: readonly Issue[],
  ) {
    super(
      'INVALID_CONFIG',
      `${file} is invalid: ${plural(issues.length, 'error')}${warnings.length > 0 ? `, ${plural(warnings.length, 'warning')}` : ''}`,
    );
  }
}
