/**
 * docs/api.md lists the codes an API answer can carry with their HTTP status, docs/cli.md every code with its exit
 * code; these tests hold them to the lists and the two maps, and print the rows to paste when they drift.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXIT_CODE_BY_ERROR } from '../../src/cli/exit-codes.js';
import {
  API_ERROR_CODES,
  type ApiErrorCode,
  ERROR_CODE_MEANINGS,
  ERROR_CODES,
  type ErrorCode,
  LOCAL_ERROR_CODE_MEANINGS,
} from '../../src/domain/error-codes.js';
import { STATUS_BY_CODE } from '../../src/routes/errors.js';

const ROOT = new URL('../../', import.meta.url).pathname;

/** The rows of the code table of a document, in the order of the list. */
function rows<C extends ErrorCode>(codes: readonly C[], value: (code: C) => number): string[] {
  return codes.map((code) => `| \`${code}\` | ${value(code)} | ${ERROR_CODE_MEANINGS[code]} |`);
}

/** The code rows a document holds, in its order. */
function documented(file: string): string[] {
  return readFileSync(`${ROOT}${file}`, 'utf8')
    .split('\n')
    .filter((line) => /^\| `[A-Z_]+` \|/.test(line));
}

describe('the documented error codes', () => {
  it('docs/api.md lists every code an API answer can carry with its HTTP status', () => {
    const expected = rows<ApiErrorCode>(API_ERROR_CODES, (c) => STATUS_BY_CODE[c]);
    expect(documented('docs/api.md'), expected.join('\n')).toEqual(expected);
  });

  it('docs/cli.md lists every code with its exit code', () => {
    const expected = rows(ERROR_CODES, (c) => EXIT_CODE_BY_ERROR[c]);
    expect(documented('docs/cli.md'), expected.join('\n')).toEqual(expected);
  });

  it('gives no local code an HTTP status: the API never answers with one', () => {
    expect(Object.keys(LOCAL_ERROR_CODE_MEANINGS).filter((c) => Object.hasOwn(STATUS_BY_CODE, c))).toEqual(
      [],
    );
    expect(Object.values(STATUS_BY_CODE).filter((s) => s === 500)).toHaveLength(4);
  });

  it('names only codes that some source file raises or answers with', () => {
    // The list and the two maps name every code by construction: they are left out; the rest of their files is not.
    const maps =
      /export const (API_ERROR_CODE_MEANINGS|LOCAL_ERROR_CODE_MEANINGS|STATUS_BY_CODE|EXIT_CODE_BY_ERROR)\b[\s\S]*?\n}[^\n]*;/g;
    const sources = readdirSync(`${ROOT}src`, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => readFileSync(`${ROOT}src/${f}`, 'utf8').replace(maps, ''))
      .join('\n');
    const unused = ERROR_CODES.filter((code) => !sources.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });
});
