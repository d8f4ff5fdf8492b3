import { InvalidInputError, PorttriggerError } from '../../domain/errors.js';
import type { LearnProposalReply, LearnStatusReply } from '../../routes/schemas.js';
import { createApiClient } from '../api-client.js';
import { booleanOption, stringOption } from '../args.js';
import { durationArgument } from '../argument-values.js';
import type { CliContext, Command } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { formatTime } from '../format.js';
import { printJson } from '../output.js';
import { sayIfIdle } from './rules.js';

/**
 * `--for` in whole seconds, in the one duration grammar (`300`, `90s`, `5m`, `1h`).
 * @example parseDuration('5m') // 300
 */
export function parseDuration(text: string): number {
  return durationArgument('--for', text);
}

function proposalNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1) {
    throw new InvalidInputError(`--apply ${text}: not a proposal number`, [
      { path: ['apply'], code: 'bad_number', message: `"${text}" is not a proposal number (1, 2, ...)` },
    ]);
  }
  return Number(text);
}

/** One recorded connection as a line of the live view. */
export function formatSeen(c: LearnStatusReply['recent'][number]): string {
  const time = formatTime(c.at).slice(11);
  return c.direction === 'outbound'
    ? `${time}  out  ${c.source} ${c.existing ? 'was connected' : 'connected'} to ${c.destination} ${c.protocol} ${c.port}${c.existing ? ' (open before learning)' : ''}`
    : `${time}  in   ${c.source} tried ${c.protocol} ${c.port} (nothing forwarded it)`;
}

/** The proposals as text, numbered as `--apply` takes them. */
export function formatProposals(
  proposals: readonly LearnProposalReply[],
  notes: readonly string[] = [],
): string {
  const noted = notes.map((n) => `Note: ${n}\n`).join('');
  if (proposals.length === 0) {
    // The notes say why when attempts were seen (scans, no outbound connection before them).
    return (
      'No rule to propose.\n' +
      'Use the application while learning (start a game, join a call), or learn for longer.\n' +
      noted
    );
  }
  const lines: string[] = [];
  for (const p of proposals) {
    const r = p.rule;
    lines.push(`${p.id}. ${r.name} (${p.confidence} confidence)`);
    lines.push(
      `   trigger ${r.trigger.map((s) => `${s.protocol} ${s.ports}`).join(', ')}; open ${r.open
        .map((s) => `${s.protocol} ${s.ports}`)
        .join(', ')}; remote ${r.remote}; idle timeout ${r.idleTimeout} s`,
    );
    lines.push(`   evidence: ${p.evidence}`);
    for (const reason of p.reasons) lines.push(`   why: ${reason}`);
    lines.push(`   confidence ${p.confidenceReason}`);
    for (const c of p.conflicts) lines.push(`   conflict: ${c}`);
  }
  return `${lines.join('\n')}\n${noted}`;
}

async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  if (!ctx.ask) {
    throw new UsageError(
      '--apply asks for confirmation on a terminal: add --yes to apply without asking',
      'learn',
    );
  }
  return /^y(es)?$/i.test((await ctx.ask(question)).trim());
}

/** `porttrigger learn`: watch a LAN device use an application, then propose the rule it needs. */
export const learnCommand: Command = {
  spec: {
    name: 'learn',
    summary: 'watch a device use an application and propose the rule it needs',
    usage: [
      'learn [--host IP] [--for 5m] [--apply N [--low-confidence] [--yes]] [--json]',
      'learn --last [--apply N [--low-confidence] [--yes]] [--json]',
    ],
    options: {
      host: { type: 'string', value: 'IP', description: 'the LAN device to watch (default: every LAN host)' },
      for: {
        type: 'string',
        value: 'DURATION',
        description: 'how long: 300, 90s, 5m, 1h (default 5m, at most 1h)',
      },
      apply: { type: 'string', value: 'N', description: 'add proposal N as a rule, after confirmation' },
      yes: { type: 'boolean', description: 'apply without asking' },
      'low-confidence': {
        type: 'boolean',
        description: 'needed to apply a proposal of low confidence (read its evidence first)',
      },
      last: { type: 'boolean', description: 'use the last session instead of starting one' },
    },
    positionals: { min: 0, max: 0 },
    json: true,
    details:
      'Start it, then use the application (start the game, join the call); Ctrl-C stops early.\n' +
      'Example: porttrigger learn --host 192.168.1.10 --for 5m\n' +
      '         porttrigger learn --last --apply 1',
  },
  async run(args, ctx) {
    const json = booleanOption(args, 'json');
    const apply = proposalNumber(stringOption(args, 'apply'));
    const last = booleanOption(args, 'last');
    const host = stringOption(args, 'host');
    const forText = stringOption(args, 'for');
    if (last && (host !== undefined || forText !== undefined)) {
      throw new UsageError('--last uses the last session: it takes no --host or --for', 'learn');
    }
    const api = await createApiClient(args, ctx);
    let status: LearnStatusReply;
    if (last) {
      status = await api.learnStatus();
    } else {
      status = await api.startLearning({
        ...(host !== undefined ? { host } : {}),
        ...(forText !== undefined ? { durationS: parseDuration(forText) } : {}),
      });
      if (!json) {
        const subnets = status.lanSubnets ? ` in ${status.lanSubnets.join(', ')}` : '';
        const who = status.host ?? `every LAN host${subnets}`;
        const until = status.endsAt === undefined ? '' : ` until ${formatTime(status.endsAt).slice(11)}`;
        ctx.stdout.write(`Learning from ${who}${until}. Use the application now; Ctrl-C stops early.\n`);
      }
      status = await follow(api, ctx, status, json);
    }
    const { proposals, notes } = await api.learnProposals();
    if (json && apply === undefined) {
      printJson(ctx, { session: status, proposals, notes });
      return;
    }
    if (!json) {
      ctx.stdout.write(
        `Seen: ${status.outbound} outbound connection${status.outbound === 1 ? '' : 's'}, ` +
          `${status.inbound} inbound attempt${status.inbound === 1 ? '' : 's'}` +
          `${status.dropped ? ` (${status.dropped} more not kept)` : ''}.\n`,
      );
      ctx.stdout.write(formatProposals(proposals, notes));
    }
    if (apply === undefined) {
      if (!json && proposals.length > 0)
        ctx.stdout.write('Add one with: porttrigger learn --last --apply N\n');
      return;
    }
    const chosen = proposals.find((p) => p.id === apply);
    if (!chosen) throw new PorttriggerError('LEARN_NOT_FOUND', `no proposal number ${apply}`);
    const lowConfidence = booleanOption(args, 'low-confidence');
    if (chosen.confidence === 'low' && !lowConfidence) {
      throw new UsageError(
        `proposal ${apply} has low confidence (${chosen.confidenceReason}): add --low-confidence to apply it anyway`,
        'learn',
      );
    }
    if (!booleanOption(args, 'yes') && !(await confirm(ctx, `Add rule "${chosen.rule.name}"? [y/N] `))) {
      ctx.stdout.write('Nothing added.\n');
      return;
    }
    const rule = await api.applyProposal(apply, { lowConfidence });
    if (json) printJson(ctx, { session: status, proposals, applied: rule });
    else {
      ctx.stdout.write(`Added rule "${rule?.name ?? chosen.rule.name}"; it is applied.\n`);
      await sayIfIdle(api, ctx, { name: rule?.name ?? chosen.rule.name, enabled: true });
    }
  },
};

/** Prints what the session sees until it ends by itself or a signal stops it; resolves with its last state. */
async function follow(
  api: Awaited<ReturnType<typeof createApiClient>>,
  ctx: CliContext,
  started: LearnStatusReply,
  json: boolean,
): Promise<LearnStatusReply> {
  let stop = false;
  let wake: (() => void) | undefined;
  const offs = (['SIGINT', 'SIGTERM'] as const).map((s) =>
    ctx.onSignal(s, () => {
      stop = true;
      wake?.();
    }),
  );
  let status = started;
  let seen = 0;
  try {
    while (status.state === 'running' && !stop) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      status = await api.learnStatus(seen);
      for (const c of status.recent) {
        if (!json) ctx.stdout.write(`${formatSeen(c)}\n`);
        seen = Math.max(seen, c.seq);
      }
    }
  } finally {
    for (const off of offs) off();
  }
  return status.state === 'running' ? api.stopLearning() : status;
}
