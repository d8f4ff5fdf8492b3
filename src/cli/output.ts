import { readFile } from 'node:fs/promises';
import { fileReadErrorCode, formatPath, type Issue, PorttriggerError } from '../domain/errors.js';
import type { CliContext } from './context.js';

/** Prints a value as indented JSON on standard output. */
export function printJson(ctx: CliContext, value: unknown): void {
  ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** An issue as JSON output shows it: the path formatted the way users write it. */
export function issueJson(issue: Issue): { path: string; code: string; message: string } {
  return { path: formatPath(issue.path), code: issue.code, message: issue.message };
}

/** Reads a text file named on the command line; CONFIG_NOT_FOUND when it is missing, CONFIG_READ_FAILED otherwise. */
export async function readInputFile(path: string, what = 'file'): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new PorttriggerError(fileReadErrorCode(error), `cannot read the ${what} ${path} (${reason})`);
  }
}
