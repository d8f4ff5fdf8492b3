/**
 * Where the service is and which token it wants: from the flags, the environment, the config file, else the
 * defaults. Only reads files; no request is sent here.
 */
import { readFile } from 'node:fs/promises';
import { parseConfigText } from '../../domain/config.js';
import { fileReadErrorCode, PorttriggerError } from '../../domain/errors.js';
import type { Config } from '../../domain/types.js';
import type { ParsedArgs } from '../args.js';
import { stringOption } from '../args.js';
import type { CliContext } from '../context.js';
import { DEFAULT_CONFIG_PATH } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { ApiError } from './transport.js';

/** The API's address when neither a flag, the environment nor the config names one. */
export const DEFAULT_API_URL = 'http://127.0.0.1:8080';
/** The token file when neither a flag, the environment nor the config names one. */
export const DEFAULT_TOKEN_FILE = '/var/lib/porttrigger/api-token';

/** Where the config file is: `--config`, else `$PORTTRIGGER_CONFIG`, else the default path. */
export function configPathOf(args: ParsedArgs, ctx: CliContext): { path: string; explicit: boolean } {
  const flag = stringOption(args, 'config') ?? ctx.env['PORTTRIGGER_CONFIG'];
  return flag ? { path: flag, explicit: true } : { path: DEFAULT_CONFIG_PATH, explicit: false };
}

/** Reads and validates the config the flags point at; undefined when it is the default path and is absent. */
async function readConfigQuietly(args: ParsedArgs, ctx: CliContext): Promise<Config | undefined> {
  const { path, explicit } = configPathOf(args, ctx);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (!explicit) return undefined;
    throw new PorttriggerError(
      fileReadErrorCode(error),
      `cannot read the config ${path}: ${(error as Error).message}`,
    );
  }
  const result = parseConfigText(text);
  return result.ok ? result.value : undefined;
}

/** `host:port` of a listen setting as a URL a client can connect to (wildcards become loopback). */
export function listenToUrl(listen: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
  if (!m) return DEFAULT_API_URL;
  const host = m[1] ?? m[2] ?? '';
  const port = m[3]!;
  if (host === '' || host === '0.0.0.0') return `http://127.0.0.1:${port}`;
  if (host === '::') return `http://[::1]:${port}`;
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

/**
 * Finds the service from the global flags: `--api`/`$PORTTRIGGER_API`, else the config's `api.listen`, else
 * http://127.0.0.1:8080; the token from `$PORTTRIGGER_TOKEN`, else `--token-file`, else the config's
 * `api.tokenFile`, else /var/lib/porttrigger/api-token.
 */
export async function locateService(
  args: ParsedArgs,
  ctx: CliContext,
): Promise<{ baseUrl: string; token: string }> {
  const flagUrl = stringOption(args, 'api') ?? ctx.env['PORTTRIGGER_API'];
  const flagToken = stringOption(args, 'token-file') ?? ctx.env['PORTTRIGGER_TOKEN_FILE'];
  const config =
    flagUrl !== undefined && flagToken !== undefined ? undefined : await readConfigQuietly(args, ctx);
  const baseUrl = flagUrl ?? (config?.api ? listenToUrl(config.api.listen) : DEFAULT_API_URL);
  let token = ctx.env['PORTTRIGGER_TOKEN'];
  if (!token) {
    const tokenFile = flagToken ?? config?.api?.tokenFile ?? DEFAULT_TOKEN_FILE;
    try {
      token = (await readFile(tokenFile, 'utf8')).trim();
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new ApiError(
        'TOKEN_MISSING',
        `cannot read the API token file ${tokenFile} (${reason}): run as root, or pass --token-file`,
      );
    }
  }
  try {
    new URL(baseUrl);
  } catch {
    throw new UsageError(`--api: not a URL: ${JSON.stringify(baseUrl)}`);
  }
  return { baseUrl, token };
}
