import { parseConfigText } from '../../domain/config.js';
import type { Command } from '../context.js';
import { ReportedFailure } from '../exit-codes.js';
import { formatIssues, MARKS } from '../format.js';
import { issueJson, printJson, readInputFile } from '../output.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `porttrigger validate FILE`: every issue of a config file at once, with its path; exit 3 when invalid. */
export const validateCommand: Command = {
  spec: {
    name: 'validate',
    summary: 'check a config file and print every issue and warning',
    usage: ['validate FILE [--json]'],
    options: {},
    positionals: { min: 1, max: 1 },
    json: true,
    details: 'Exit code 3 when the config is invalid; warnings alone do not fail.',
  },
  async run(args, ctx) {
    const file = args.positionals[0]!;
    const result = parseConfigText(await readInputFile(file, 'config'));
    if (args.values['json'] === true) {
      printJson(ctx, {
        file,
        valid: result.ok,
        issues: result.ok ? [] : result.issues.map(issueJson),
        warnings: result.warnings.map(issueJson),
        ...(result.ok ? { rules: result.value.rules.length } : {}),
      });
    } else if (result.ok) {
      const { rules, mode, interfaces } = result.value;
      const enabled = rules.filter((r) => r.enabled).length;
      ctx.stdout.write(
        `${MARKS.ok} ${file} is valid: ${plural(rules.length, 'rule')} (${enabled} enabled), ${mode} mode, ` +
          `LAN ${interfaces.lan.join(',')}, WAN ${interfaces.wan.join(',')}` +
          `${result.warnings.length > 0 ? `, ${plural(result.warnings.length, 'warning')}` : ''}\n`,
      );
      ctx.stdout.write(formatIssues(result.warnings, 'warning'));
    } else {
      ctx.stdout.write(
        `${MARKS.fail} ${file} is invalid: ${plural(result.issues.length, 'error')}` +
          `${result.warnings.length > 0 ? `, ${plural(result.warnings.length, 'warning')}` : ''}\n`,
      );
      ctx.stdout.write(formatIssues(result.issues, 'error'));
      ctx.stdout.write(formatIssues(result.warnings, 'warning'));
    }
    if (!result.ok) throw new ReportedFailure('INVALID_CONFIG', `${file} is invalid`);
  },
};
