import { createApiClient } from '../api-client.js';
import type { ParsedArgs } from '../args.js';
import type { CliContext, Command } from '../context.js';
import { formatIssues, MARKS } from '../format.js';
import { printJson } from '../output.js';

/** `porttrigger enable` and `porttrigger disable`: the global switch of the running service. */
function switchCommand(on: boolean): Command {
  const name = on ? 'enable' : 'disable';
  return {
    spec: {
      name,
      summary: on
        ? 'switch port triggering on: enabled rules open their ports again when triggered'
        : 'switch port triggering off: no rule opens anything, open entries close',
      usage: [`${name} [--json]`],
      options: {},
      positionals: { min: 0, max: 0 },
      json: true,
      details:
        `The service writes \`enabled: ${on}\` to its config file (the rest of the file stays as it is) after one ` +
        'nft transaction that changes only the rules, not the sets of open entries.\n' +
        `Already ${on ? 'on' : 'off'}, nothing changes. \`porttrigger rules ${name} NAME\` switches one rule.`,
    },
    run: (args, ctx) => runSwitch(on, args, ctx),
  };
}

async function runSwitch(on: boolean, args: ParsedArgs, ctx: CliContext): Promise<void> {
  const api = await createApiClient(args, ctx);
  const reply = await api.setEnabled(on);
  if (args.values['json'] === true) {
    printJson(ctx, reply);
    return;
  }
  const { dropped } = reply.applied;
  const closed = dropped > 0 ? `: ${dropped} entr${dropped === 1 ? 'y' : 'ies'} closed` : '';
  ctx.stdout.write(`${MARKS.ok} port triggering is ${reply.enabled ? 'on' : 'off'}${closed}\n`);
  ctx.stderr.write(formatIssues(reply.warnings, 'warning'));
}

/** `porttrigger enable`. */
export const enableCommand: Command = switchCommand(true);

/** `porttrigger disable`. */
export const disableCommand: Command = switchCommand(false);
