/**
 * YAML text to a plain value, with every problem of the text as an issue: syntax errors, duplicate keys,
 * several documents, aliases that point nowhere and alias bombs. Never throws.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, visit } from 'yaml';
import type { Issue } from './errors.js';

/** The most aliases a config may use; a document that expands beyond this is refused as an alias bomb. */
export const MAX_ALIAS_COUNT = 100;

/** The issue codes of YAML problems (besides the config's own). */
export const YAML_ISSUE_CODES = [
  'yaml_syntax',
  'yaml_duplicate_key',
  'yaml_undefined_alias',
  'yaml_alias_limit',
  'yaml_warning',
] as const;

/** One of {@link YAML_ISSUE_CODES}. */
export type YamlIssueCode = (typeof YAML_ISSUE_CODES)[number];

/** The outcome of reading YAML text: the value, or every problem with its path and line. */
export type YamlRead =
  | {
      readonly ok: true;
      readonly value: unknown;
      readonly warnings: readonly Issue[];
      /** The line where the entry at `path` starts (a map entry at its key), when the text has it. */
      readonly lineOf: (path: readonly (string | number)[]) => number | undefined;
    }
  | { readonly ok: false; readonly issues: readonly Issue[]; readonly warnings: readonly Issue[] };

type Path = (string | number)[];

function keyOf(key: unknown): string | number {
  if (isScalar(key)) return typeof key.value === 'number' ? key.value : String(key.value);
  return String(key);
}

/** The path of the innermost map entry or sequence item whose source covers `offset`. */
function pathAt(node: unknown, offset: number, path: Path = []): Path {
  const covers = (n: unknown) => {
    const range = (n as Node | null)?.range;
    return range !== undefined && range !== null && offset >= range[0] && offset <= range[2];
  };
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const start = (pair.key as Node | null)?.range?.[0];
      const end = (pair.value as Node | null)?.range?.[2] ?? (pair.key as Node | null)?.range?.[2];
      if (start === undefined || end === undefined || offset < start || offset > end) continue;
      // An offset between the key and its value (a tag, an anchor) belongs to the entry.
      return covers(pair.value)
        ? pathAt(pair.value, offset, [...path, keyOf(pair.key)])
        : [...path, keyOf(pair.key)];
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      if (covers(item)) return pathAt(item, offset, [...path, i]);
    }
  }
  return path;
}

/** Where the entry at `path` starts in the text: a map entry at its key, a sequence item at the item. */
function offsetOf(node: unknown, path: readonly (string | number)[]): number | undefined {
  const [head, ...rest] = path;
  if (head === undefined) return (node as Node | null)?.range?.[0];
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && keyOf(p.key) === head);
    if (!pair) return undefined;
    return rest.length === 0 ? (pair.key as Node | null)?.range?.[0] : offsetOf(pair.value, rest);
  }
  if (isSeq(node) && typeof head === 'number') return offsetOf(node.items[head], rest);
  return undefined;
}

/**
 * Reads YAML text as one document. Aliases are expanded at most {@link MAX_ALIAS_COUNT} times in all.
 * @example readYaml('a: *nope') // { ok: false, issues: [{ path: ['a'], code: 'yaml_undefined_alias', ... }] }
 */
export function readYaml(text: string): YamlRead {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  const at = (offset: number) => `line ${lines.linePos(offset).line}`;
  const warnings: Issue[] = doc.warnings.map((w) => ({
    path: pathAt(doc.contents, w.pos[0]),
    code: 'yaml_warning',
    message: `${at(w.pos[0])}: ${w.message.split('\n')[0]}`,
  }));
  if (doc.errors.length > 0) {
    // A tab used as indentation throws the columns of what follows off: the errors after it are its echoes.
    const tabs = doc.errors.filter((e) => e.code === 'TAB_AS_INDENT');
    if (tabs.length > 0) {
      return {
        ok: false,
        issues: tabs.map((e) => ({
          path: pathAt(doc.contents, e.pos[0]),
          code: 'yaml_syntax',
          message: `${at(e.pos[0])}: a tab indents this line; YAML indents with spaces only`,
        })),
        warnings,
      };
    }
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        path: pathAt(doc.contents, e.pos[0]),
        code: e.code === 'DUPLICATE_KEY' ? 'yaml_duplicate_key' : 'yaml_syntax',
        message: `${at(e.pos[0])}: ${e.message.split('\n')[0]}`,
      })),
      warnings,
    };
  }
  const undefinedAliases: Issue[] = [];
  visit(doc, {
    Alias(_key, alias) {
      // An alias resolves to the closest anchor before it; none means the name was never defined.
      if (alias.resolve(doc) !== undefined) return;
      const offset = alias.range?.[0] ?? 0;
      undefinedAliases.push({
        path: pathAt(doc.contents, offset),
        code: 'yaml_undefined_alias',
        message: `${at(offset)}: the alias *${alias.source} refers to no anchor &${alias.source} defined before it`,
      });
    },
  });
  if (undefinedAliases.length > 0) return { ok: false, issues: undefinedAliases, warnings };
  try {
    const lineOf = (path: readonly (string | number)[]) => {
      const offset = offsetOf(doc.contents, path);
      return offset === undefined ? undefined : lines.linePos(offset).line;
    };
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), warnings, lineOf };
  } catch (error) {
    // toJS throws only for aliases (the text parsed): a count beyond the limit, or one that cannot resolve.
    let first: number | undefined;
    visit(doc, {
      Alias(_key, alias) {
        first ??= alias.range?.[0];
        return first === undefined ? undefined : visit.BREAK;
      },
    });
    return {
      ok: false,
      issues: [
        {
          path: [],
          code: 'yaml_alias_limit',
          message: `${first !== undefined ? `${at(first)}: ` : ''}the aliases expand beyond ${MAX_ALIAS_COUNT} nodes (${(error as Error).message}): write the values out`,
        },
      ],
      warnings,
    };
  }
}
