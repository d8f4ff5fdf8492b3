import { InvalidInputError, type Issue, PorttriggerError } from '../domain/errors.js';
import { ApiError } from './api-client.js';
import type { CommandSpec } from './args.js';
import { formatCommandHelp, formatTopHelp, parseCommandLine } from './args.js';
import { checkCommand } from './commands/check.js';
import { compileCommand } from './commands/compile.js';
import { completionCommand } from './commands/completion.js';
import { doctorCommand } from './commands/doctor.js';
import { eventsCommand } from './commands/events.js';
import { labCommand } from './commands/lab.js';
import { learnCommand } from './commands/learn.js';
import { presetsCommand } from './commands/presets.js';
import { releaseCommand } from './commands/release.js';
import { reloadCommand } from './commands/reload.js';
import { rulesCommand } from './commands/rules.js';
import { runCommand } from './commands/run.js';
import { statusCommand } from './commands/status.js';
import { disableCommand, enableCommand } from './commands/switch.js';
import { validateCommand } from './commands/validate.js';
import { InvalidConfigError } from './config-argument.js';
import type { CliContext, Command } from './context.js';
import { EXIT_CODES, type ExitCode, exitCodeFor, ReportedFailure, UsageError } from './exit-codes.js';
import { formatIssues } from './format.js';
import { issueJson } from './output.js';

/** Every command, in the order `porttrigger --help` lists them. */
export const COMMANDS: readonly Command[] = [
  validateCommand,
  compileCommand,
  runCommand,
  statusCommand,
  rulesCommand,
  enableCommand,
  disableCommand,
  releaseCommand,
  eventsCommand,
  checkCommand,
  learnCommand,
  presetsCommand,
  reloadCommand,
  doctorCommand,
  labCommand,
  completionCommand(() => SPECS),
];

const SPECS: readonly CommandSpec[] = COMMANDS.map((c) => c.spec);

function issuesOf(error: unknown): readonly Issue[] {
  if (
    error instanceof InvalidInputError ||
    error instanceof ApiError ||
    error instanceof InvalidConfigError
  ) {
    return error.issues;
  }
  return [];
}

function reportError(error: unknown, ctx: CliContext, json: boolean): void {
  if (error instanceof ReportedFailure) return;
  const code = error instanceof PorttriggerError ? error.code : 'INTERNAL';
  const message = error instanceof Error ? error.message : String(error);
  const issues = issuesOf(error);
  if (json) {
    const warnings = error instanceof InvalidConfigError ? error.warnings : [];
    const body = {
      code,
      message,
      ...(issues.length > 0 ? { issues: issues.map(issueJson) } : {}),
      ...(warnings.length > 0 ? { warnings: warnings.map(issueJson) } : {}),
    };
    ctx.stderr.write(`${JSON.stringify({ error: body })}\n`);
    return;
  }
  const internal = !(error instanceof PorttriggerError);
  ctx.stderr.write(`porttrigger: ${internal ? 'internal error: ' : ''}${message}\n`);
  if (issues.length > 0) ctx.stderr.write(formatIssues(issues, 'error'));
  if (error instanceof UsageError) {
    ctx.stderr.write(`Run \`porttrigger ${error.help ? `${error.help} ` : ''}--help\` for usage.\n`);
  }
  if (internal && ctx.env['PORTTRIGGER_DEBUG'] && error instanceof Error && error.stack) {
    ctx.stderr.write(`${error.stack}\n`);
  }
}

/**
 * Runs one command line (without the program name) and resolves with the exit code; never throws. Errors are
 * printed on stderr and mapped to exit codes in exactly one place, {@link exitCodeFor}.
 * @example process.exit(await runCli(process.argv.slice(2), nodeContext()))
 */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<ExitCode> {
  const json = argv.includes('--json');
  try {
    const line = parseCommandLine(argv, SPECS);
    if (line.kind === 'version') {
      ctx.stdout.write(`porttrigger ${ctx.version}\n`);
      return EXIT_CODES.ok;
    }
    if (line.kind === 'help') {
      const spec = SPECS.find((s) => s.name === line.command);
      ctx.stdout.write(spec ? formatCommandHelp(spec) : formatTopHelp(SPECS));
      return EXIT_CODES.ok;
    }
    const command = COMMANDS.find((c) => c.spec.name === line.command)!;
    await command.run(line.args, ctx);
    return EXIT_CODES.ok;
  } catch (error) {
    reportError(error, ctx, json);
    return exitCodeFor(error);
  }
}
