import { PorttriggerError } from '../../domain/errors.js';
import { findPreset, PRESETS, type Preset } from '../../domain/presets.js';
import type { Command } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { formatDuration, formatPortSpecs, renderTable } from '../format.js';
import { printJson } from '../output.js';

/** One preset in full, as `presets show ID` prints it. */
export function formatPreset(p: Preset): string {
  return [
    `${p.name} (${p.id})`,
    `  trigger:       ${formatPortSpecs(p.trigger)}`,
    `  open:          ${formatPortSpecs(p.open)}`,
    `  idle timeout:  ${formatDuration(p.idleTimeout * 1000)}`,
    `  remote:        ${p.remote}`,
    `  what it is:    ${p.note}`,
    `  set up:        ${p.setup}`,
    `  two devices:   ${p.sharing}`,
    `Add it: porttrigger rules add --preset ${p.id}`,
    '',
  ].join('\n');
}

/** `porttrigger presets [list|show ID]`: the catalog of common applications, for `rules add --preset ID`. */
export const presetsCommand: Command = {
  spec: {
    name: 'presets',
    summary: 'list the catalog of common applications, or show one (for rules add --preset)',
    subcommands: ['list', 'show'],
    usage: ['presets [list] [--json]', 'presets show ID [--json]'],
    options: {},
    positionals: { min: 0, max: 2 },
    json: true,
    details:
      'Add one as a rule: porttrigger rules add --preset irc-dcc [--timeout 300]\n' +
      'On a terminal each preset also says what to set in the application and what happens with two devices.',
  },
  async run(args, ctx) {
    const [sub = 'list', id] = args.positionals;
    if (sub === 'show') {
      if (id === undefined) throw new UsageError('presets show: the preset id is missing', 'presets');
      const preset = findPreset(id);
      if (!preset) {
        throw new PorttriggerError(
          'PRESET_NOT_FOUND',
          `no preset "${id}"; known: ${PRESETS.map((p) => p.id).join(', ')}`,
        );
      }
      if (args.values['json'] === true) printJson(ctx, preset);
      else ctx.stdout.write(formatPreset(preset));
      return;
    }
    if (sub !== 'list' || id !== undefined) {
      throw new UsageError(
        `presets: unexpected "${args.positionals.join(' ')}" (list, or show ID)`,
        'presets',
      );
    }
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
