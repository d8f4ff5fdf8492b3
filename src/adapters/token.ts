/** The API's bearer token: generated once, kept in a file only root can read. */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PorttriggerError } from '../domain/errors.js';

/** Options for {@link ensureApiToken}. */
export interface EnsureTokenOptions {
  /** Told once when a new token is created, with the file's path and never the token (default: stderr). */
  readonly announce?: (message: string) => void;
}

/** The shortest token accepted from a file: a guessable token would protect nothing. */
export const MIN_TOKEN_BYTES = 32;

/** A new random token: 32 bytes, base64url. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Reads the token at `path`, creating it (mode 0600, directories 0700) when the file is missing or empty;
 * TOKEN_TOO_SHORT when the file holds fewer than {@link MIN_TOKEN_BYTES} bytes.
 * @example const { token } = await ensureApiToken('/var/lib/porttrigger/api-token')
 */
export async function ensureApiToken(
  path: string,
  options: EnsureTokenOptions = {},
): Promise<{ token: string; created: boolean }> {
  const existing = await readFile(path, 'utf8').then(
    (text) => text.trim(),
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw new PorttriggerError('TOKEN_FAILED', `cannot read the API token ${path}: ${error.message}`, {
        cause: error,
      });
    },
  );
  if (existing && Buffer.byteLength(existing) < MIN_TOKEN_BYTES) {
    throw new PorttriggerError(
      'TOKEN_TOO_SHORT',
      `the API token in ${path} is ${Buffer.byteLength(existing)} bytes long: at least ${MIN_TOKEN_BYTES} are required. ` +
        'Delete the file to have a new token generated on start, or write a longer one (e.g. `openssl rand -base64 32`)',
    );
  }
  if (existing) {
    // A token that others could read is no secret: tighten it rather than refuse to start.
    await chmod(path, 0o600).catch(() => undefined);
    return { token: existing, created: false };
  }
  const token = generateToken();
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, `${token}\n`, { mode: 0o600 });
    await chmod(path, 0o600);
  } catch (error) {
    throw new PorttriggerError(
      'TOKEN_FAILED',
      `cannot write the API token ${path}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const announce = options.announce ?? ((m: string) => process.stderr.write(`${m}\n`));
  // The token itself never goes to a log (journald keeps logs readable by more than root): only where it is.
  announce(
    `porttrigger: created a new API token in ${path} (readable by root only; the CLI reads it from there)`,
  );
  return { token, created: true };
}
