import { parseConfigText } from '../../domain/config.js';
import { planConfig } from '../../nft/plan.js';
import { NO_TABLE, renderApplyScript } from '../../nft/render.js';
import type { Command } from '../context.js';
import { ReportedFailure } from '../exit-codes.js';
import { formatIssues, MARKS } from '../format.js';
import { issueJson, printJson, readInputFile } from '../output.js';

/** `porttrigger compile FILE`: the nft script of a config from the pure compiler; applies nothing. */
export const compileCommand: Command = {
  spec: {
    name: 'compile',
    summary: 'print the nft script a config compiles to (applies nothing)',
    usage: ['compile FILE [--json]'],
    options: {},
    positionals: { min: 1, max: 1 },
    json: true,
    details:
      'The script is what the service applies to an empty kernel, in one `nft -f` transaction.\n' +
      'Check it without applying: porttrigger compile FILE | nft -c -f -',
  },
  async run(args, ctx) {
    const file = args.positionals[0]!;
    const json = args.values['json'] === true;
    const result = parseConfigText(await readInputFile(file, 'config'));
    if (!result.ok) {
      if (json) {
        printJson(ctx, { file, valid: false, issues: result.issues.map(issueJson) });
      } else {
        ctx.stderr.write(`${MARKS.fail} ${file} is invalid, nothing to compile:\n`);
        ctx.stderr.write(formatIssues(result.issues, 'error'));
      }
      throw new ReportedFailure('INVALID_CONFIG', `${file} is invalid`);
    }
    const script = renderApplyScript(planConfig(result.value), NO_TABLE);
    if (json) printJson(ctx, { file, valid: true, script });
    else ctx.stdout.write(script);
  },
};
