import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { files: string[] };
const tsconfig = JSON.parse(readFileSync(`${ROOT}tsconfig.build.json`, 'utf8')) as {
  compilerOptions: { outDir: string };
};

describe('package.json files', () => {
  it('names only what exists in the repository (or the build output)', () => {
    const built = tsconfig.compilerOptions.outDir.replace(/^\.\//, '');
    const missing = pkg.files.filter((f) => f !== built && !existsSync(`${ROOT}${f}`));
    expect(missing).toEqual([]);
  });
});
