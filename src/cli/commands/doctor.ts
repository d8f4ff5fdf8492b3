import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DoctorCheck } from '../../doctor/doctor.js';
import { configCheck } from '../../doctor/doctor.js';
import { parseConfigText } from '../../domain/config.js';
import type { Config } from '../../domain/types.js';
import { stringOption } from '../args.js';
import { invalidArgument } from '../argument-values.js';
import { configPathOf } from '../client/lookup.js';
import type { Command } from '../context.js';
import { ReportedFailure } from '../exit-codes.js';
import { MARKS } from '../format.js';
import { printJson } from '../output.js';

/** The checks as `porttrigger doctor` prints them: a mark, the title, the detail and the hint. */
export function formatChecks(checks: readonly DoctorCheck[]): string {
  const lines = checks.map((c) => {
    const head = `${MARKS[c.status]} ${c.title}: ${c.detail}`;
    return c.hint && c.status !== 'ok' ? `${head}\n    → ${c.hint}` : head;
  });
  const fails = checks.filter((c) => c.status === 'fail').length;
  const warns = checks.filter((c) => c.status === 'warn').length;
  const summary =
    fails > 0
      ? `${fails} failed, ${warns} warning${warns === 1 ? '' : 's'}: porttrigger cannot work here yet.`
      : warns > 0
        ? `All essential checks passed, ${warns} warning${warns === 1 ? '' : 's'}.`
        : 'All checks passed.';
  return `${lines.join('\n')}\n\n${summary}\n`;
}

/** Named namespaces live here (`ip netns add`); `ip netns exec` knows no others. */
const NETNS_DIR = '/run/netns';

/** A namespace that does not exist would fail every check with misleading hints: say so once, up front. */
async function assertNamespace(name: string): Promise<void> {
  const problem =
    name === '' || name.includes('/') || name === '.' || name === '..'
      ? 'not a namespace name'
      : await access(join(NETNS_DIR, name)).then(
          () => undefined,
          () => `no such namespace (\`ip netns list\` shows those that exist)`,
        );
  if (problem) throw invalidArgument('--netns', name, problem);
}

/** `porttrigger doctor`: can this machine run porttrigger, and does anything around it undo its work. */
export const doctorCommand: Command = {
  spec: {
    name: 'doctor',
    summary: 'check nft, kernel features, forwarding, interfaces and the host firewall',
    usage: ['doctor [--config FILE] [--netns NS] [--json]'],
    options: {
      netns: { type: 'string', value: 'NS', description: 'check inside this network namespace' },
    },
    positionals: { min: 0, max: 0 },
    json: true,
    details: 'Exit code 1 when a check fails; warnings alone do not fail. Nothing is changed (nft -c only).',
  },
  async run(args, ctx) {
    const netns = stringOption(args, 'netns');
    if (netns !== undefined) await assertNamespace(netns);
    const { path, explicit } = configPathOf(args, ctx);
    let config: Config | undefined;
    let check: DoctorCheck;
    try {
      const result = parseConfigText(await readFile(path, 'utf8'));
      check = configCheck(path, result);
      if (result.ok) config = result.value;
    } catch (error) {
      check = explicit
        ? {
            id: 'config',
            title: 'config',
            status: 'fail',
            detail: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
          }
        : configCheck(path, 'missing');
    }
    const checks = [
      check,
      ...(await ctx.system.doctor({ ...(netns ? { netns } : {}), ...(config ? { config } : {}) })),
    ];
    if (args.values['json'] === true)
      printJson(ctx, { ok: !checks.some((c) => c.status === 'fail'), checks });
    else ctx.stdout.write(formatChecks(checks));
    if (checks.some((c) => c.status === 'fail')) {
      throw new ReportedFailure('DOCTOR_FAILED', 'some checks failed');
    }
  },
};
