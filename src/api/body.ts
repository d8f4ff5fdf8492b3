/**
 * Reading request bodies: strict UTF-8 (a byte that is not UTF-8 is INVALID_INPUT, never a silent U+FFFD),
 * JSON by its media type, and YAML as text where a route accepts it.
 */
import type { Context } from 'hono';
import { InvalidInputError, PorttriggerError } from '../domain/errors.js';
import { YamlText } from '../routes/operations.js';
import type { RouteSpec } from '../routes/table.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function isJson(type: string): boolean {
  return /^application\/([\w.+-]+\+)?json\b/i.test(type);
}

function isYaml(type: string): boolean {
  return /^(text|application)\/(x-)?yaml\b/i.test(type);
}

/** The body as text, decoded as strict UTF-8. */
export async function bodyText(c: Context): Promise<string> {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new InvalidInputError('the body is not valid UTF-8', [
      { path: [], code: 'invalid_utf8', message: 'the body holds bytes that are not UTF-8' },
    ]);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidInputError('the body is not JSON', [
      { path: [], code: 'invalid_json', message: (error as Error).message },
    ]);
  }
}

/**
 * The body of a request to `route`, before its schema: parsed JSON, {@link YamlText} where the route takes
 * YAML, undefined when the route takes none or an optional one is empty.
 */
export async function readBody(c: Context, route: RouteSpec): Promise<unknown> {
  const spec = route.body;
  if (!spec) return undefined;
  const type = c.req.header('content-type') ?? '';
  const yaml = (spec.alternatives?.length ?? 0) > 0 && isYaml(type);
  if (type && !yaml && !isJson(type)) {
    const expected = spec.alternatives?.length ? 'YAML or JSON' : 'application/json';
    throw new PorttriggerError('UNSUPPORTED_MEDIA_TYPE', `expected ${expected}, got ${type}`);
  }
  const text = await bodyText(c);
  if (yaml) return new YamlText(text);
  if (spec.optional && text.trim() === '') return undefined;
  return parseJson(text);
}
