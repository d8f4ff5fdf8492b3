import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { files: string[] };
// What `npm run build` (scripts/bundle.mjs) writes.
const BUILT = 'dist';

describe('package.json files', () => {
  it('names only what exists in the repository (or the build output)', () => {
    const missing = pkg.files.filter((f) => f !== BUILT && !existsSync(`${ROOT}${f}`));
    expect(missing).toEqual([]);
  });
});
