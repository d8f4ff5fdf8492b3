/**
 * docs/api.md and docs/cli.md list every error code with its HTTP status and exit code; these tests hold them to
 * the one list and the two maps, and print the rows to paste when they drift.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXIT_CODE_BY_ERROR } from '../../src/cli/exit-codes.js';
import { ERROR_CODE_MEANINGS, ERROR_CODES } from '../../src/domain/error-codes.js';
import { STATUS_BY_CODE } from '../../src/routes/errors.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** The rows of the code table of a document, in the order of the list. */
function rows(value: (code: (typeof ERROR_CODES)[number]) => number): string[] {
  return ERROR_CODES.map((code) => `| \`${code}\` | ${value(code)} | ${ERROR_CODE_MEANINGS[code]} |`);
}

/** The code rows a document holds, in its order. */
function documented(file: string): string[] {
  return readFileSync(`${ROOT}${file}`, 'utf8')
    .split('\n')
    .filter((line) => /^\| `[A-Z_]+` \|/.test(line));
}

describe('the documented error codes', () => {
  it('docs/api.md lists every code with its HTTP status', () => {
    expect(documented('docs/api.md'), rows((c) => STATUS_BY_CODE[c]).join('\n')).toEqual(
      rows((c) => STATUS_BY_CODE[c]),
    );
  });

  it('docs/cli.md lists every code with its exit code', () => {
    expect(documented('docs/cli.md'), rows((c) => EXIT_CODE_BY_ERROR[c]).join('\n')).toEqual(
      rows((c) => EXIT_CODE_BY_ERROR[c]),
    );
  });

  it('names only codes that some source file raises or answers with', () => {
    // The list and the two maps name every code by construction: they are left out; the rest of their files is not.
    const maps = /export const (ERROR_CODE_MEANINGS|STATUS_BY_CODE|EXIT_CODE_BY_ERROR)\b[\s\S]*?\n}[^\n]*;/g;
    const sources = readdirSync(`${ROOT}src`, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => readFileSync(`${ROOT}src/${f}`, 'utf8').replace(maps, ''))
      .join('\n');
    const unused = ERROR_CODES.filter((code) => !sources.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });
});
