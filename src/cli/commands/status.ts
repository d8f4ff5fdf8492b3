import { createApiClient } from '../api-client.js';
import type { Command } from '../context.js';
import { formatTriggerTable } from '../format.js';
import { printJson } from '../output.js';

/** `porttrigger status`: the trigger table of the running service, and its recent conflicts. */
export const statusCommand: Command = {
  spec: {
    name: 'status',
    summary: 'show the trigger table: who holds which rule, until when; recent conflicts',
    usage: ['status [--json]'],
    options: {},
    positionals: { min: 0, max: 0 },
    json: true,
  },
  async run(args, ctx) {
    const api = await createApiClient(args, ctx);
    const table = await api.readTable();
    if (args.values['json'] === true) printJson(ctx, table);
    else ctx.stdout.write(formatTriggerTable(table, { tty: ctx.stdout.isTTY === true }));
  },
};
