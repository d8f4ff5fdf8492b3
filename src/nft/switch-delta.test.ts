import { describe, expect, it } from 'vitest';
import { config, rule } from '../../test/factories.js';
import type { Config } from '../domain/types.js';
import { renderDelta } from './delta.js';
import { planConfig } from './plan.js';
import { renderTable } from './render.js';
import { renderSwitchDelta } from './switch-delta.js';

const game = rule({ name: 'game', trigger: [{ protocol: 'udp', ports: '5000' }] });
const voice = rule({
  name: 'voice',
  trigger: [{ protocol: 'tcp', ports: '5100' }],
  open: [{ protocol: 'udp', ports: '7100' }],
  onExpire: 'close',
});
const shared = rule({
  name: 'shared',
  trigger: [{ protocol: 'udp', ports: '5000' }],
  // A range beside the others' single ports: the dispatch needs a port map and a range map, and lookup chains.
  open: [{ protocol: 'udp', ports: '7200-7210' }],
  remote: 'contacted',
});
const on = config([game, voice, shared]);
const off: Config = { ...on, enabled: false };

/** The objects of a table text by `kind name`, each with its lines. */
function objectsOf(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    const head = /^\t(chain|map|set) (\S+) \{(.*)$/.exec(line);
    if (head) {
      const key = `${head[1]} ${head[2]}`;
      current = out.get(key) ?? [];
      out.set(key, current);
      // A one-line declaration (the shared sets) has its body on the same line.
      if (head[3]!.endsWith('}')) {
        current.push(head[3]!.slice(0, -1).trim());
        current = undefined;
      }
    } else if (line === '\t}') current = undefined;
    else if (current && line.trim() !== '') current.push(line.trim());
  }
  return out;
}

/**
 * Runs a delta script on the objects of a table as nft would: flush empties a chain, delete removes an object
 * that must exist and nothing may still jump to, a declaration adds a map that must not exist yet, or rules to a
 * chain.
 */
function runScript(objects: Map<string, string[]>, script: string): Map<string, string[]> {
  const out = new Map([...objects].map(([k, v]) => [k, [...v]]));
  const references = (name: string) =>
    [...out.values()].some((lines) => lines.some((l) => new RegExp(`(jump|goto|@)${name}\\b`).test(l)));
  const lines = script.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const command = /^(flush|delete) (chain|map) inet porttrigger (\S+)$/.exec(line);
    if (command) {
      const key = `${command[2]} ${command[3]}`;
      expect(out.has(key), `${line}: no such object`).toBe(true);
      if (command[1] === 'flush')
        out.set(
          key,
          out.get(key)!.filter((l) => l.startsWith('type ')),
        );
      else {
        expect(references(command[3]!), `${line}: still referenced`).toBe(false);
        out.delete(key);
      }
      continue;
    }
    if (line === 'table inet porttrigger {') {
      const end = lines.indexOf('}', i);
      for (const [key, body] of objectsOf(lines.slice(i, end + 1).join('\n'))) {
        const known = out.get(key);
        if (key.startsWith('map') || key.startsWith('set'))
          expect(known, `${key} declared again`).toBeUndefined();
        // A declaration of an existing chain repeats its type line (if it has one) and adds the rules.
        out.set(
          key,
          known ? [...known, ...body.filter((l) => !known.includes(l) || !l.startsWith('type '))] : body,
        );
      }
      i = end;
    }
  }
  return out;
}

/** The rule and fan-out chains the full table of `c` declares, sorted. */
function ruleChainsOf(c: Config): string[] {
  const text = renderTable(planConfig(c));
  return [...text.matchAll(/\tchain ((?:tr|in|dn|cl|fan)[46]_\S+) \{/g)].map((m) => m[1]!).sort();
}

/** The delta the datapath renders for a change of plan: the rule delta, else the switch delta. */
function deltaOf(before: Config, after: Config, entries: Parameters<typeof renderDelta>[2] = []) {
  const a = planConfig(before);
  const b = planConfig(after);
  return (renderDelta(a, b, entries) ?? renderSwitchDelta(a, b, entries))!;
}

function switched(before: Config, after: Config) {
  const delta = deltaOf(before, after);
  const result = runScript(objectsOf(renderTable(planConfig(before))), delta.script);
  return { delta, result, expected: objectsOf(renderTable(planConfig(after))) };
}

const none = config([]);

describe('the global switch', () => {
  it.each([
    ['off', on, off],
    ['on', off, on],
    [
      'off in standalone mode',
      { ...on, mode: 'standalone' as const },
      { ...off, mode: 'standalone' as const },
    ],
    [
      'on in standalone mode',
      { ...off, mode: 'standalone' as const },
      { ...on, mode: 'standalone' as const },
    ],
  ])('leaves the objects a full apply makes: switched %s', (_, before, after) => {
    const { result, expected } = switched(before, after);
    expect(result).toEqual(expected);
  });

  it.each([
    ['off', on, off],
    ['on', off, on],
  ])('switched %s, flushes and declares the base chains alone', (_, before, after) => {
    const { delta } = switched(before, after);
    expect(delta.chainsAdded).toEqual([]);
    expect(delta.chainsDeleted).toEqual([]);
    expect(delta.chainsReplaced).toEqual([]);
    expect(delta.elementsAdded + delta.elementsDeleted).toBe(0);
    expect(delta.script).not.toMatch(/^(delete|add) /m);
    const flushed = [...delta.script.matchAll(/^flush chain inet porttrigger (\S+)$/gm)].map((m) => m[1]!);
    const declared = [...delta.script.matchAll(/^\tchain (\S+) \{/gm)].map((m) => m[1]!);
    expect(flushed).toContain('dstnat');
    expect(declared).toEqual(expect.arrayContaining(flushed));
    for (const name of declared) expect(name).not.toMatch(/^(tr|in|dn|cl|fan)[46]_/);
  });

  it('switched off, no base chain looks up a dispatch map', () => {
    const table = renderTable(planConfig(off));
    const base = table.slice(table.indexOf('\tchain dstnat {'));
    expect(base).not.toMatch(/@(trigger|dnat|inbound|close)[46]/);
    expect(base).not.toMatch(/jump closing/);
    // The rule chains and maps stay, unreachable.
    expect(ruleChainsOf(off)).toEqual(ruleChainsOf(on));
  });

  it('carries the entry operations last, deletes before adds', () => {
    const d = deltaOf(on, off, [
      { set: 'held4', key: '1', timeoutMs: 1000, expiresMs: 1000 },
      { set: 'held4', key: '2' },
    ]);
    const lines = d.script.trim().split('\n');
    expect(lines.at(-2)).toBe('delete element inet porttrigger held4 { 2 }');
    expect(lines.at(-1)).toMatch(/^add element inet porttrigger held4 \{ 1 timeout/);
  });
});

describe('renderSwitchDelta', () => {
  it.each([
    ['the first rules', none, on],
    ['the last rules gone', on, none],
    [
      'the last rules gone in standalone mode',
      { ...on, mode: 'standalone' as const },
      { ...none, mode: 'standalone' as const },
    ],
    ['the first rules switched off', { ...none, enabled: false }, off],
  ])('leaves the objects a full apply makes: %s', (_, before, after) => {
    const { result, expected } = switched(before, after);
    expect(result).toEqual(expected);
  });

  it('with the last rules gone, deletes every rule chain and dispatch map and keeps the shared sets', () => {
    const { delta } = switched(on, none);
    expect([...delta.chainsDeleted].sort()).toEqual(ruleChainsOf(on));
    expect(delta.chainsAdded).toEqual([]);
    // The `onExpire: close` rule made the closing and forward chains of companion mode: they go too.
    expect(delta.script).toMatch(/^delete chain inet porttrigger closing$/m);
    expect(delta.script).toMatch(/^delete chain inet porttrigger forward$/m);
    expect(delta.script).not.toMatch(/flush table|delete set|\t(set|map) (held|hold|pair|target)/);
  });

  it('with the first rules, declares them and deletes nothing', () => {
    const { delta } = switched(none, on);
    expect(delta.chainsDeleted).toEqual([]);
    expect([...delta.chainsAdded].sort()).toEqual(ruleChainsOf(on));
    expect(delta.elementsAdded).toBeGreaterThan(0);
    expect(delta.script).not.toMatch(/^delete /m);
  });

  it('is for a plan of no rules on one side only: a change between rules is the rule delta', () => {
    expect(renderSwitchDelta(planConfig(on), planConfig(config([game])), [])).toBeUndefined();
    expect(renderSwitchDelta(planConfig(on), planConfig(off), [])).toBeUndefined();
  });
});
