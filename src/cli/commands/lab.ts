import { readFile } from 'node:fs/promises';
import { PorttriggerError } from '../../domain/errors.js';
import type { LabProgress, LabServiceRequest, RunningLab } from '../../lab/lab.js';
import { ApiClient } from '../api-client.js';
import { booleanOption, stringOption } from '../args.js';
import type { CliContext, Command } from '../context.js';
import { waitForSignal } from '../context.js';
import { ReportedFailure, UsageError } from '../exit-codes.js';
import { formatTriggerTable, MARKS } from '../format.js';
import { printJson } from '../output.js';

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `${by}${l}` : l))
    .join('\n');
}

/** Narration of the lab as it happens, for people. */
export function formatLabProgress(p: LabProgress): string {
  switch (p.kind) {
    case 'info':
      return `${p.text}\n`;
    case 'step':
      return `\n${p.index}. ${p.title}\n`;
    case 'check':
      return `   ${p.ok ? MARKS.ok : MARKS.fail} ${p.text}\n`;
    case 'table':
      return indent(formatTriggerTable(p.table, { tty: true }), '     ');
  }
}

/** Starts the service and its API the way `porttrigger run` does; reads the table through the API. */
async function startLabService(request: LabServiceRequest, ctx: CliContext) {
  const host = await ctx.system.startServiceHost({
    configPath: request.configPath,
    netns: request.netns,
    logger: ctx.system.createLogger({ level: 'warn', sink: ctx.stderr }),
    // The lab names its token file itself, after the scenario.
    announceToken: () => undefined,
  });
  const url = host.url!;
  const token = (await readFile(request.tokenFile, 'utf8')).trim();
  const api = new ApiClient({ baseUrl: url, token, fetch: ctx.fetch });
  return {
    apiUrl: url,
    readTable: () => api.readTable(),
    stop: () => host.stop(),
    learning: {
      start: (request: { host: string; durationS: number }) => api.startLearning(request),
      status: () => api.learnStatus(),
      stop: () => api.stopLearning(),
      proposals: async () => (await api.learnProposals()).proposals,
      apply: (id: number) => api.applyProposal(id),
    },
  };
}

function labJson(lab: RunningLab, cleanedUp: boolean) {
  return {
    ok: lab.ok,
    steps: lab.steps,
    apiUrl: lab.apiUrl,
    tokenFile: lab.tokenFile,
    configPath: lab.configPath,
    namespaces: lab.namespaces,
    routerNamespace: lab.routerNamespace,
    cleanedUp,
  };
}

/** `porttrigger lab`: a virtual home network with the real service, a narrated scenario, then a live API. */
export const labCommand: Command = {
  spec: {
    name: 'lab',
    summary: 'demo: a virtual home network in namespaces, the real service and a narrated scenario',
    usage: ['lab [--learn] [--no-wait] [--timeout S] [--port N] [--json]'],
    options: {
      learn: {
        type: 'boolean',
        description:
          'play learn mode: a game whose ports nobody knows is watched, its rule proposed and applied',
      },
      'no-wait': { type: 'boolean', description: 'clean up and exit right after the scenario (tests, CI)' },
      timeout: {
        type: 'string',
        value: 'SECONDS',
        description: "idle timeout of the lab's rules (default 5)",
      },
      port: {
        type: 'string',
        value: 'N',
        description: 'API port to try first (default 8080, else a free one; 0: any free port)',
      },
    },
    positionals: { min: 0, max: 0 },
    json: true,
    details:
      'Needs root, ip and nft. Everything it makes (namespaces, links, the table, a temp directory) is\n' +
      'removed on Ctrl-C, on SIGTERM and on errors. Exit code 1 when a step did not go as described.',
  },
  async run(args, ctx) {
    const json = booleanOption(args, 'json');
    const noWait = booleanOption(args, 'no-wait');
    const timeoutText = stringOption(args, 'timeout') ?? '5';
    const idleTimeout = Number(timeoutText);
    if (!Number.isInteger(idleTimeout) || idleTimeout < 1 || idleTimeout > 60) {
      throw new UsageError('--timeout: whole seconds, 1-60', 'lab');
    }
    const portText = stringOption(args, 'port') ?? '8080';
    const preferredPort = Number(portText);
    if (!Number.isInteger(preferredPort) || preferredPort < 0 || preferredPort > 65535) {
      throw new UsageError('--port: 0-65535 (0: any free port)', 'lab');
    }
    const missing = await ctx.system.missingLabPrerequisites(ctx.isRoot);
    if (missing.length > 0) {
      const onlyRoot = missing.length === 1 && !ctx.isRoot;
      throw new PorttriggerError(
        onlyRoot ? 'NOT_ROOT' : 'PREREQUISITES_MISSING',
        `the lab needs ${missing.join(', and ')}`,
      );
    }

    const aborter = new AbortController();
    const offs = (['SIGINT', 'SIGTERM'] as const).map((s) => ctx.onSignal(s, () => aborter.abort()));
    const say = (text: string) => {
      if (!json) ctx.stdout.write(text);
    };
    try {
      const lab = await ctx.system.startLab({
        startService: (request) => startLabService(request, ctx),
        onProgress: (p) => say(formatLabProgress(p)),
        idleTimeout,
        preferredPort,
        signal: aborter.signal,
        scenario: booleanOption(args, 'learn') ? 'learning' : 'triggering',
      });
      try {
        const checks = lab.steps.flatMap((s) => s.checks);
        const failed = checks.filter((c) => !c.ok).length;
        say(
          `\n${failed === 0 ? MARKS.ok : MARKS.fail} ${checks.length - failed} of ${checks.length} checks passed` +
            `${failed === 0 ? ': port triggering works, packet by packet.' : '.'}\n`,
        );
        if (!noWait && !aborter.signal.aborted) {
          if (json) printJson(ctx, labJson(lab, false));
          const token = (await readFile(lab.tokenFile, 'utf8')).trim();
          say(
            `\nThe service keeps running on the virtual router; its API is on your localhost:\n` +
              `  API:        ${lab.apiUrl}/api/v1\n` +
              `  token file: ${lab.tokenFile}\n` +
              `  config:     ${lab.configPath}\n` +
              `  try:        curl -H "Authorization: Bearer $(cat ${lab.tokenFile})" ${lab.apiUrl}/api/v1/table\n` +
              `              porttrigger status --api ${lab.apiUrl} --token-file ${lab.tokenFile}\n` +
              `              ip netns exec ${lab.routerNamespace} nft list table inet porttrigger\n` +
              `\nOpen the panel and sign in with the token:\n` +
              `  panel:      ${lab.apiUrl}/\n` +
              `  token:      ${token}\n` +
              `Press Ctrl-C to stop and remove everything.\n`,
          );
          await Promise.race([
            waitForSignal(ctx.onSignal, ['SIGINT', 'SIGTERM']),
            new Promise((resolve) => aborter.signal.addEventListener('abort', resolve, { once: true })),
          ]);
          say('\nStopping: removing the service, its table and the namespaces…\n');
        }
      } finally {
        await lab.close();
      }
      if (json && noWait) printJson(ctx, labJson(lab, true));
      say(`${MARKS.ok} cleaned up.\n`);
      if (!lab.ok) throw new ReportedFailure('LAB_FAILED', 'some steps of the lab did not go as described');
    } finally {
      for (const off of offs) off();
    }
  },
};
