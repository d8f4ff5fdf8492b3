/**
 * The config file: read it, and write a changed config back atomically (temp file, fsync, rename, the
 * previous version kept as `<file>.bak`) while keeping the operator's layout and comments where nothing changed.
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, copyFile, open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  Document,
  isMap,
  isScalar,
  isSeq,
  type Node,
  parseDocument,
  visit,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { parseConfigText, validateRule } from '../domain/config.js';
import type { ConfigFileContents, ConfigStore, PreparedConfigWrite } from '../domain/config-store.js';
import { fileReadErrorCode, PorttriggerError } from '../domain/errors.js';
import { stableJson } from '../domain/stable-json.js';
import type { Config, Rule } from '../domain/types.js';

/** A config file as read (the port's type, re-exported for the callers of {@link readConfigFile}). */
export type { ConfigFileContents } from '../domain/config-store.js';
/** JSON with sorted keys (re-exported: the config-file tests compare with it). */
export { stableJson };

/** Reads and validates a config file; CONFIG_NOT_FOUND when it is missing, CONFIG_READ_FAILED when unreadable. */
export async function readConfigFile(path: string): Promise<ConfigFileContents> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PorttriggerError(
      fileReadErrorCode(error),
      `cannot read the config file ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return { text, result: parseConfigText(text) };
}

const TOP_LEVEL = ['interfaces', 'mode', 'enabled', 'ipv6', 'api', 'events'] as const;
const PLAIN = /^[\w][\w ./()-]*$/;
// Plain scalars that YAML would read as something other than a string.
const NOT_A_STRING =
  /^(true|false|null|yes|no|on|off|y|n|~|[-+]?(\.\d+|\d[\d_]*(\.[\d_]*)?)([eE][-+]?\d+)?|0x[\da-f]+|0o[0-7]+|\.(inf|nan))$/i;

/** A string as a YAML scalar: plain when that reads back as the same string, JSON-quoted otherwise. */
function scalar(text: string, flow = false): string {
  const plain =
    PLAIN.test(text) && !text.endsWith(' ') && !NOT_A_STRING.test(text) && !(flow && / /.test(text));
  return plain ? text : JSON.stringify(text);
}

/** One rule as the lines of a block sequence item, in the compact style of examples/gateway.yaml. */
function ruleLines(rule: Rule): string[] {
  const specs = (list: Rule['open']) =>
    `[${list.map((s) => `{ protocol: ${s.protocol}, ports: ${JSON.stringify(s.ports)} }`).join(', ')}]`;
  return [
    `name: ${scalar(rule.name)}`,
    ...(rule.description !== undefined ? [`description: ${scalar(rule.description)}`] : []),
    ...(rule.enabled ? [] : ['enabled: false']),
    ...(rule.family !== 'both' ? [`family: ${rule.family}`] : []),
    `trigger: ${specs(rule.trigger)}`,
    `open: ${specs(rule.open)}`,
    `idleTimeout: ${rule.idleTimeout}`,
    ...(rule.lanHosts !== 'any'
      ? [`lanHosts: [${rule.lanHosts.map((h) => scalar(h, true)).join(', ')}]`]
      : []),
    ...(rule.remote !== 'any' ? [`remote: ${rule.remote}`] : []),
    ...(rule.onExpire !== 'keep' ? [`onExpire: ${rule.onExpire}`] : []),
  ];
}

/**
 * The text of `config` written over `previousText`: the old text is kept byte for byte where nothing changed
 * (comments, layout); changed and new rules are written in the compact style of the examples.
 * @example renderConfigText(readFileSync(path, 'utf8'), { ...config, rules: [...config.rules, rule] })
 */
export function renderConfigText(previousText: string, config: Config): string {
  const before = parseConfigText(previousText);
  const previous = before.ok ? before.value : undefined;
  if (previous && stableJson(previous) === stableJson(config)) return previousText;
  const onlyRules =
    previous !== undefined && TOP_LEVEL.every((k) => stableJson(previous[k]) === stableJson(config[k]));
  const spliced = onlyRules
    ? spliceRules(previousText, config)
    : previous !== undefined && onlySwitched(previous, config)
      ? spliceSwitch(previousText, config.enabled)
      : undefined;
  // Whatever is written must read back as the config: otherwise fall back to a rewrite by the YAML library.
  if (spliced !== undefined && readsBackAs(spliced, config)) return spliced;
  let rewritten: string | undefined;
  try {
    rewritten = rewrite(previousText, config);
  } catch {
    // The YAML library throws on what the previous text holds (an alias to nowhere): start afresh.
  }
  // Keys of an invalid previous text (unknown, misspelt) would survive a rewrite: then only a fresh file is right.
  if (rewritten !== undefined && readsBackAs(rewritten, config)) return rewritten;
  const made = fresh(config);
  if (!readsBackAs(made, config)) {
    throw new PorttriggerError('INTERNAL', 'the config file would not read back as the new config');
  }
  return made;
}

function readsBackAs(text: string, config: Config): boolean {
  const r = parseConfigText(text);
  return r.ok && stableJson(r.value) === stableJson(config);
}

/** Whether `config` is `previous` with the global switch turned, and nothing else. */
function onlySwitched(previous: Config, config: Config): boolean {
  if (previous.enabled === config.enabled) return false;
  const { rules: before, enabled: _was, ...settingsBefore } = previous;
  const { rules: after, enabled: _now, ...settingsAfter } = config;
  if (stableJson(settingsBefore) !== stableJson(settingsAfter) || before.length !== after.length)
    return false;
  // The switch keeps the rule objects: comparing them by identity first spares a JSON of 10,000 rules twice.
  return before.every((rule, i) => rule === after[i] || stableJson(rule) === stableJson(after[i]));
}

const SWITCH_LINE = /^enabled:([ \t]*)(true|false)(?=[ \t]*(#.*)?$)/m;

/**
 * The text with its top-level `enabled:` line set to `enabled`, or such a line added above `rules:` when it has
 * none; every other byte stays. Undefined when the key is spelt another way (quoted, in a flow mapping): the
 * callers check that what they write reads back as the config, and the YAML library rewrites it otherwise.
 */
function spliceSwitch(text: string, enabled: boolean): string | undefined {
  const found = SWITCH_LINE.exec(text);
  if (found) {
    const at = found.index + 'enabled:'.length + found[1]!.length;
    return `${text.slice(0, at)}${enabled}${text.slice(at + found[2]!.length)}`;
  }
  if (/enabled/.test(text.replace(/^[ \t]+-?[ \t]*enabled:.*$/gm, ''))) return undefined;
  const rules = /^rules:/m.exec(text);
  if (!rules) return undefined;
  return `${text.slice(0, rules.index)}enabled: ${enabled}\n${text.slice(rules.index)}`;
}

/**
 * A text's `rules:` block sequence cut into one chunk per rule (with the comment and blank lines above it): what
 * a splice keeps byte for byte. `byRule` finds a rule's chunk by the rule's canonical JSON.
 */
interface RulesLayout {
  readonly head: string;
  readonly suffix: string;
  readonly dash: number;
  readonly indent: number;
  readonly gap: string;
  readonly byRule: ReadonlyMap<string, string>;
}

function layoutOf(text: string): RulesLayout | undefined {
  const doc = parseDocument(text);
  const seq = doc.get('rules', true);
  if (!isSeq(seq) || seq.flow || seq.items.length === 0) return undefined;
  const items = seq.items.filter(isMap);
  if (items.length !== seq.items.length || items.some((i) => !i.range)) return undefined;
  const lineStart = (at: number) => text.lastIndexOf('\n', at - 1) + 1;
  const nextLine = (at: number) => {
    const nl = text.indexOf('\n', at);
    return nl < 0 ? text.length : nl + 1;
  };
  const first = items[0]!.range!;
  const firstLine = lineStart(first[0]);
  const dash = text.indexOf('-', firstLine) - firstLine;
  const indent = first[0] - firstLine;
  if (dash < 0 || indent <= dash) return undefined;
  // The first item takes the comment lines right above it (indented like it) along.
  let start = firstLine;
  for (;;) {
    const above = lineStart(start - 1);
    if (start === 0 || !new RegExp(`^ {${dash}}#`).test(text.slice(above, start))) break;
    start = above;
  }
  // An item ends with its last non-blank line; blank lines and comments after it lead the next one.
  const ends = items.map((item) => {
    let end = item.range![1];
    while (end > item.range![0] && /\s/.test(text[end - 1] ?? '')) end--;
    return nextLine(end - 1);
  });
  const chunks = items.map((_, i) => {
    const chunk = text.slice(i === 0 ? start : ends[i - 1], ends[i]);
    return chunk.endsWith('\n') ? chunk : `${chunk}\n`;
  });
  const byRule = new Map<string, string>();
  items.forEach((item, i) => {
    const parsed = validateRule(item.toJSON());
    if (parsed.ok) byRule.set(stableJson(parsed.value), chunks[i]!);
  });
  return {
    head: text.slice(0, start),
    suffix: text.slice(ends[ends.length - 1]),
    dash,
    indent,
    // New rules are separated like the existing ones are (a blank line or none).
    gap: chunks.length > 1 && chunks[1]!.startsWith('\n') ? '\n' : '',
    byRule,
  };
}

/** A new rule as a chunk of the sequence, in the layout's indentation. */
function newChunk(layout: RulesLayout, rule: Rule): string {
  const { dash, indent, gap } = layout;
  return `${gap}${' '.repeat(dash)}-${' '.repeat(indent - dash - 1)}${ruleLines(rule)
    .map((l, i) => (i === 0 ? l : `${' '.repeat(indent)}${l}`))
    .join('\n')}\n`;
}

/** The rules' chunks joined under the layout's head; `keyOf` gives a rule's canonical JSON. */
function joinChunks(layout: RulesLayout, rules: readonly Rule[], keyOf: (rule: Rule) => string): string {
  const body = rules.map((rule) => layout.byRule.get(keyOf(rule)) ?? newChunk(layout, rule)).join('');
  return layout.head + body.replace(/^\n+/, '') + layout.suffix;
}

/**
 * Replaces the items of a block `rules:` sequence in the text: each unchanged rule keeps its own lines (and the
 * comment lines and blank lines above it), new ones are inserted with the same indentation.
 */
function spliceRules(text: string, config: Config): string | undefined {
  const layout = layoutOf(text);
  if (!layout) return undefined;
  if (config.rules.length === 0) {
    const head = layout.head.trimEnd();
    return head.endsWith('rules:') ? `${head} []\n${layout.suffix}` : undefined;
  }
  return joinChunks(layout, config.rules, stableJson);
}

/**
 * Renders rule changes in time proportionate to the change: the last text's layout and config are kept, so a
 * change parses only the rules it writes anew (each must read back as its rule); anything else (top-level keys,
 * no rules left, a text it did not render or read) goes through {@link renderConfigText}.
 */
export function createConfigRenderer(): ConfigRenderer {
  let last: { text: string; config: Config; layout: RulesLayout } | undefined;
  // A text read from the file: its layout is cut on the first change, not at every read.
  let read: { text: string; config: Config } | undefined;
  const keys = new WeakMap<Rule, string>();
  const keyOf = (rule: Rule) => {
    const key = keys.get(rule) ?? stableJson(rule);
    keys.set(rule, key);
    return key;
  };
  const remember = (text: string, config: Config): void => {
    const layout = config.rules.length > 0 ? layoutOf(text) : undefined;
    last = layout ? { text, config, layout } : undefined;
  };
  const render = (previousText: string, config: Config): string => {
    if (read?.text === previousText && last?.text !== previousText) remember(read.text, read.config);
    read = undefined;
    const known = last?.text === previousText ? last : undefined;
    const switched = known && onlySwitched(known.config, config) ? switchedHead(known, config) : undefined;
    if (known && switched !== undefined) {
      const text = switched + known.text.slice(known.layout.head.length);
      last = { text, config, layout: { ...known.layout, head: switched } };
      return text;
    }
    const onlyRules =
      known !== undefined &&
      config.rules.length > 0 &&
      TOP_LEVEL.every((k) => stableJson(known.config[k]) === stableJson(config[k]));
    if (!known || !onlyRules) {
      const text = renderConfigText(previousText, config);
      remember(text, config);
      return text;
    }
    const { layout } = known;
    const byRule = new Map(layout.byRule);
    for (const rule of config.rules) {
      const key = keyOf(rule);
      if (byRule.has(key)) continue;
      const chunk = newChunk(layout, rule);
      // A rule written anew must read back as itself: parsed alone, as a one-item sequence.
      const parsed = parseDocument(chunk).toJSON() as unknown;
      const back = Array.isArray(parsed) && parsed.length === 1 ? validateRule(parsed[0]) : undefined;
      if (!back?.ok || stableJson(back.value) !== key) {
        const text = renderConfigText(previousText, config);
        remember(text, config);
        return text;
      }
      byRule.set(key, chunk);
    }
    const next = { ...layout, byRule };
    const text = joinChunks(next, config.rules, keyOf);
    last = { text, config, layout: next };
    return text;
  };
  return {
    render,
    read: (contents) => {
      read = contents.result.ok ? { text: contents.text, config: contents.result.value } : undefined;
      return contents;
    },
  };
}

/**
 * The head of the rules (the text above them: where the top-level `enabled:` is written) with the switch of
 * `config`, checked by reading the head alone; undefined when the key may be elsewhere (below the rules).
 */
function switchedHead(known: { text: string; layout: RulesLayout }, config: Config): string | undefined {
  const { head } = known.layout;
  if (/enabled/.test(known.text.slice(head.length).replace(/^[ \t]+-?[ \t]*enabled:.*$/gm, ''))) {
    return undefined;
  }
  const next = spliceSwitch(head, config.enabled);
  if (next === undefined) return undefined;
  const read = (text: string) => parseDocument(text).toJSON() as Record<string, unknown> | null;
  const [was, now] = [read(head), read(next)];
  return was && now && stableJson({ ...was, enabled: config.enabled }) === stableJson(now) ? next : undefined;
}

/** Renders configs over the text they replace; told of every text read, whose layout it may then reuse. */
export interface ConfigRenderer {
  render(previousText: string, config: Config): string;
  /** Passes a read through, remembering its text and config. */
  read(contents: ConfigFileContents): ConfigFileContents;
}

/** Rewrites the document with the YAML library: comments stay, formatting of the rest may change. */
function rewrite(previousText: string, config: Config): string {
  const doc = parseDocument(previousText);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return fresh(config);
  // A file in flow style (JSON is YAML too) is written in block style from its first change on: one rule per
  // item, so that the next changes splice their rule's lines instead of rewriting the whole document.
  if (doc.contents.flow) {
    doc.contents.flow = false;
    // JSON's quoted keys read the same unquoted: the block style a person would write.
    visit(doc, {
      Pair(_, pair) {
        if (isScalar(pair.key) && /^[A-Za-z][A-Za-z0-9]*$/.test(String(pair.key.value))) {
          pair.key.type = 'PLAIN';
        }
      },
    });
  }
  const before = parseConfigText(previousText);
  const previous = before.ok ? before.value : undefined;
  for (const key of TOP_LEVEL) {
    const now = config[key];
    if (stableJson(now) === stableJson(previous?.[key])) continue;
    if (now === undefined) doc.delete(key);
    else doc.set(key, doc.createNode(now));
  }
  const existing = doc.get('rules', true);
  const seq = isSeq(existing) ? existing : (doc.createNode([]) as YAMLSeq);
  const unchanged = new Map<string, unknown>();
  for (const node of seq.items) {
    if (isMap(node)) node.flow = false;
    const parsed = validateRule(isMap(node) ? node.toJSON() : undefined);
    if (parsed.ok) unchanged.set(stableJson(parsed.value), node);
  }
  // The sequence node itself is kept: comments attached to it stay.
  seq.items = config.rules.map((rule) => unchanged.get(stableJson(rule)) ?? ruleNode(rule));
  seq.flow = seq.items.length === 0;
  if (seq !== existing) doc.set('rules', seq);
  return doc.toString();
}

function ruleNode(rule: Rule): Node {
  return parseDocument(ruleLines(rule).join('\n')).contents as YAMLMap;
}

function fresh(config: Config): string {
  const { rules, ...rest } = config;
  const head = new Document(rest).toString();
  if (rules.length === 0) return `${head}rules: []\n`;
  return `${head}rules:\n${rules.map((r) => `  - ${ruleLines(r).join('\n    ')}\n`).join('')}`;
}

/**
 * Writes `text` to `path` atomically: a temp file in the same directory, fsync, the current file copied to
 * `<path>.bak`, rename, fsync of the directory. A crash leaves either the old or the new file, never half of one.
 * When `configPath` is a symlink, its target is the file replaced (and backed up); the link is left as it is.
 */
export async function writeConfigFile(configPath: string, text: string): Promise<void> {
  const prepared = await prepareConfigFile(configPath, text);
  await prepared.commit();
}

/**
 * The first half of {@link writeConfigFile}, which takes the time: the new text in a temp file beside the config,
 * fsynced, and the current file copied beside it for the backup. Neither the config nor its `.bak` is replaced
 * until `commit` (two renames and an fsync of the directory); `discard` removes the temp files.
 * @example const p = await prepareConfigFile(path, text); await (applied ? p.commit() : p.discard())
 */
export async function prepareConfigFile(configPath: string, text: string): Promise<PreparedConfigWrite> {
  // Through a symlink, the target is replaced and the link stays (configuration management, /etc overlays).
  const path = await realpath(configPath).catch(() => configPath);
  const dir = dirname(path);
  const stem = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}`);
  const tmp = `${stem}.tmp`;
  const backupTmp = `${stem}.bak.tmp`;
  const removeTemps = async () => {
    await Promise.all([unlink(tmp).catch(() => undefined), unlink(backupTmp).catch(() => undefined)]);
  };
  const failure = async (error: unknown) => {
    await removeTemps();
    return new PorttriggerError(
      'CONFIG_WRITE_FAILED',
      `cannot write the config file ${configPath}${path !== configPath ? ` (a link to ${path})` : ''}: ${(error as Error).message}`,
      { cause: error },
    );
  };
  // The new file and the backup get the owner, group and mode of the file they replace: a group that may edit
  // the config (root:adm 0664) keeps that right. open() alone would apply the umask and make the file ours.
  const owner = await stat(path).then(
    (s) => ({ mode: s.mode & 0o7777, uid: s.uid, gid: s.gid }),
    () => undefined,
  );
  let backedUp: boolean;
  try {
    const file = await open(tmp, 'wx', owner?.mode ?? 0o644);
    try {
      if (owner) {
        await file.chown(owner.uid, owner.gid);
        await file.chmod(owner.mode);
      }
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    // The backup is copied now and renamed over `.bak` at the commit: a dropped write leaves `.bak` as it was.
    backedUp = await copyFile(path, backupTmp).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
        return false;
      },
    );
    if (backedUp && owner) {
      await chown(backupTmp, owner.uid, owner.gid);
      await chmod(backupTmp, owner.mode);
    }
  } catch (error) {
    throw await failure(error);
  }
  let settled = false;
  return {
    async commit() {
      if (settled) throw new PorttriggerError('INTERNAL', `the write of ${configPath} was already settled`);
      settled = true;
      try {
        if (backedUp) await rename(backupTmp, `${path}.bak`);
        await rename(tmp, path);
        const directory = await open(dir, 'r');
        try {
          await directory.sync();
        } finally {
          await directory.close();
        }
      } catch (error) {
        throw await failure(error);
      }
    },
    async discard() {
      settled = true;
      await removeTemps();
    },
  };
}

/**
 * The config file as the service's {@link ConfigStore}: reads and validates it, renders an edited config keeping
 * the layout, writes atomically.
 * @example const store = createConfigFileStore('/etc/porttrigger/config.yaml'); const { result } = await store.read();
 */
export function createConfigFileStore(path: string): ConfigStore {
  const renderer = createConfigRenderer();
  return {
    path,
    read: () => readConfigFile(path).then(renderer.read),
    readText: () =>
      readFile(path, 'utf8').catch((error: unknown) => {
        throw new PorttriggerError(
          fileReadErrorCode(error),
          `cannot read the config file ${path}: ${(error as Error).message}`,
          { cause: error },
        );
      }),
    render: renderer.render,
    write: (text) => writeConfigFile(path, text),
    prepare: (text) => prepareConfigFile(path, text),
  };
}
