import { parseConfigText } from '../../domain/config.js';
import { planConfig } from '../../nft/plan.js';
import { NO_TABLE, renderApplyScript } from '../../nft/render.js';
import { configFileArgument, InvalidConfigError } from '../config-argument.js';
import type { Command } from '../context.js';
import { ReportedFailure } from '../exit-codes.js';
import { formatIssues, MARKS } from '../format.js';
import { printJson, readInputFile } from '../output.js';

/** `porttrigger compile [FILE]`: the nft script of a config from the pure compiler; applies nothing. */
export const compileCommand: Command = {
  spec: {
    name: 'compile',
    summary: 'print the nft script a config compiles to (applies nothing)',
    usage: ['compile [FILE] [--json]'],
    options: {},
    positionals: { min: 0, max: 1 },
    json: true,
    details:
      'FILE defaults to --config, $PORTTRIGGER_CONFIG, else /etc/porttrigger/config.yaml.\n' +
      'The script is what the service applies to an empty kernel, in one `nft -f` transaction.\n' +
      'An invalid config prints nothing on standard output and exits 3. Check the script without applying it\n' +
      '(pipefail makes the pipe fail when compile does): set -o pipefail; porttrigger compile FILE | nft -c -f -',
  },
  async run(args, ctx) {
    const file = configFileArgument(args, ctx);
    const json = args.values['json'] === true;
    const result = parseConfigText(await readInputFile(file, 'config'));
    if (!result.ok) {
      const error = new InvalidConfigError(file, result.issues, result.warnings);
      if (json) throw error;
      ctx.stderr.write(`${MARKS.fail} ${file} is invalid, nothing to compile:\n`);
      ctx.stderr.write(formatIssues(result.issues, 'error'));
      throw new ReportedFailure('INVALID_CONFIG', error.message);
    }
    const script = renderApplyScript(planConfig(result.value), NO_TABLE);
    if (json) printJson(ctx, { file, valid: true, script });
    else ctx.stdout.write(script);
  },
};
