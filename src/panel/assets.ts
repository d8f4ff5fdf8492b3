/**
 * The panel's static files, all served by the service itself (no CDN): htmx and its SSE extension from their
 * npm packages, and the panel's own script and style sheet. Read once, at start.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** One served file. */
export interface Asset {
  readonly body: string;
  readonly type: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

// Both src/panel/ and dist/panel/ are two levels below the package root, so this resolves from either.
const STATIC = fileURLToPath(new URL('../../src/panel/static/', import.meta.url));

/** Reads every asset of the panel, by its path under `/assets/`. */
export function loadAssets(): ReadonlyMap<string, Asset> {
  const require = createRequire(import.meta.url);
  const read = (path: string) => readFileSync(path, 'utf8');
  return new Map<string, Asset>([
    ['htmx.min.js', { body: read(require.resolve('htmx.org/dist/htmx.min.js')), type: JS }],
    ['sse.min.js', { body: read(require.resolve('htmx-ext-sse/dist/sse.min.js')), type: JS }],
    ['panel.js', { body: read(`${STATIC}panel.js`), type: JS }],
    ['panel.css', { body: read(`${STATIC}panel.css`), type: CSS }],
  ]);
}
