import { PRESETS } from '../../domain/presets.js';
import type { Command } from '../context.js';
import { formatDuration, formatPortSpecs, renderTable } from '../format.js';
import { printJson } from '../output.js';

/** `porttrigger presets`: the catalog of common applications, for `rules add --preset ID`. */
export const presetsCommand: Command = {
  spec: {
    name: 'presets',
    summary: 'list the catalog of common applications (for rules add --preset)',
    usage: ['presets [--json]'],
    options: {},
    positionals: { min: 0, max: 0 },
    json: true,
    details:
      'Add one as a rule: porttrigger rules add --preset irc-dcc [--timeout 300]\n' +
      'On a terminal each preset also says what to set in the application and what happens with two devices.',
  },
  async run(args, ctx) {
    if (args.values['json'] === true) {
      printJson(ctx, PRESETS);
      return;
    }
    const tty = ctx.stdout.isTTY === true;
    const rows = PRESETS.map((p) => [
      p.id,
      p.name,
      formatPortSpecs(p.trigger),
      formatPortSpecs(p.open),
      formatDuration(p.idleTimeout * 1000),
      p.remote,
    ]);
    ctx.stdout.write(renderTable(['ID', 'APPLICATION', 'TRIGGER', 'OPEN', 'IDLE', 'REMOTE'], rows, { tty }));
    if (tty) {
      ctx.stdout.write('\n');
      for (const p of PRESETS) {
        ctx.stdout.write(`  ${p.id}: ${p.note}\n    set up: ${p.setup}\n    two devices: ${p.sharing}\n`);
      }
    }
  },
};
