import { parseConfigText } from '../../domain/config.js';
import { configFileArgument, InvalidConfigError } from '../config-argument.js';
import type { Command } from '../context.js';
import { ReportedFailure } from '../exit-codes.js';
import { formatIssues, MARKS } from '../format.js';
import { issueJson, printJson, readInputFile } from '../output.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `porttrigger validate [FILE]`: every issue of a config file at once, with its path; exit 3 when invalid. */
export const validateCommand: Command = {
  spec: {
    name: 'validate',
    summary: 'check a config file and print every issue and warning',
    usage: ['validate [FILE] [--json]'],
    options: {},
    positionals: { min: 0, max: 1 },
    json: true,
    details:
      'FILE defaults to --config, $PORTTRIGGER_CONFIG, else /etc/porttrigger/config.yaml.\n' +
      'Exit code 3 when the config is invalid (with --json: {"error": {code, message, issues, warnings}} on\n' +
      'standard error); warnings alone do not fail.',
  },
  async run(args, ctx) {
    const file = configFileArgument(args, ctx);
    const result = parseConfigText(await readInputFile(file, 'config'));
    if (!result.ok) {
      const error = new InvalidConfigError(file, result.issues, result.warnings);
      if (args.values['json'] === true) throw error;
      ctx.stdout.write(`${MARKS.fail} ${error.message}\n`);
      ctx.stdout.write(formatIssues(result.issues, 'error'));
      ctx.stdout.write(formatIssues(result.warnings, 'warning'));
      throw new ReportedFailure('INVALID_CONFIG', error.message);
    }
    if (args.values['json'] === true) {
      printJson(ctx, {
        file,
        valid: true,
        issues: [],
        warnings: result.warnings.map(issueJson),
        rules: result.value.rules.length,
      });
      return;
    }
    const { rules, mode, interfaces } = result.value;
    const enabled = rules.filter((r) => r.enabled).length;
    ctx.stdout.write(
      `${MARKS.ok} ${file} is valid: ${plural(rules.length, 'rule')} (${enabled} enabled), ${mode} mode, ` +
        `LAN ${interfaces.lan.join(',')}, WAN ${interfaces.wan.join(',')}` +
        `${result.warnings.length > 0 ? `, ${plural(result.warnings.length, 'warning')}` : ''}\n`,
    );
    ctx.stdout.write(formatIssues(result.warnings, 'warning'));
  },
};
