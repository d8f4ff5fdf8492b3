import { createApiClient } from '../api-client.js';
import type { Command } from '../context.js';
import { formatIssues, MARKS } from '../format.js';
import { printJson } from '../output.js';

/** `porttrigger reload`: the running service reads its config file again (like `systemctl reload`). */
export const reloadCommand: Command = {
  spec: {
    name: 'reload',
    summary: 'make the running service read its config file again and apply it',
    usage: ['reload [--json]'],
    options: {},
    positionals: { min: 0, max: 0 },
    json: true,
    details:
      'An invalid file changes nothing: every issue is printed and the exit code is 3.\n' +
      'The same as `systemctl reload porttrigger` (SIGHUP), but it waits for the outcome and says it.',
  },
  async run(args, ctx) {
    const api = await createApiClient(args, ctx);
    const reply = await api.reload();
    if (args.values['json'] === true) {
      printJson(ctx, reply);
      return;
    }
    const { kept, dropped } = reply.applied;
    ctx.stdout.write(
      `${MARKS.ok} reloaded the config: ${kept} entr${kept === 1 ? 'y' : 'ies'} kept, ${dropped} closed by the change\n`,
    );
    ctx.stderr.write(formatIssues(reply.warnings, 'warning'));
  },
};
