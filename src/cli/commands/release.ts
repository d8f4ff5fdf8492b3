import { createApiClient } from '../api-client.js';
import { stringOption } from '../args.js';
import type { Command } from '../context.js';
import { printJson } from '../output.js';

/** `porttrigger release RULE [HOST]`: closes a rule's entries now, as if they had expired. */
export const releaseCommand: Command = {
  spec: {
    name: 'release',
    summary: "close a rule's entries now (all, or one holder's)",
    usage: ['release RULE [HOST] [--remote ADDRESS] [--json]'],
    options: {
      remote: { type: 'string', value: 'ADDRESS', description: 'only the entry bound to this remote' },
    },
    positionals: { min: 1, max: 2 },
    json: true,
    details: 'Example: porttrigger release "IRC DCC" 192.168.1.10',
  },
  async run(args, ctx) {
    const [rule, holder] = args.positionals as [string, string | undefined];
    const remote = stringOption(args, 'remote');
    const api = await createApiClient(args, ctx);
    const released = await api.release({
      rule,
      ...(holder !== undefined ? { holder } : {}),
      ...(remote !== undefined ? { remote } : {}),
    });
    if (args.values['json'] === true) {
      printJson(ctx, { rule, released });
      return;
    }
    const who = [holder && `held by ${holder}`, remote && `for ${remote}`].filter(Boolean).join(' ');
    ctx.stdout.write(
      released === 0
        ? `Nothing to release: rule "${rule}" has no active entry${who ? ` ${who}` : ''}.\n`
        : `Released ${released} ${released === 1 ? 'entry' : 'entries'} of rule "${rule}"${who ? ` ${who}` : ''}.\n`,
    );
  },
};
