import { describe, expect, it } from 'vitest';
import { config, rule } from '../../test/factories.js';
import type { Config } from '../domain/types.js';
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

function switched(before: Config, after: Config) {
  const delta = renderSwitchDelta(planConfig(before), planConfig(after), [])!;
  const result = runScript(objectsOf(renderTable(planConfig(before))), delta.script);
  return { delta, result, expected: objectsOf(renderTable(planConfig(after))) };
}

describe('renderSwitchDelta', () => {
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

  it('switched off, deletes every rule chain and dispatch map and keeps the shared sets', () => {
    const { delta } = switched(on, off);
    expect([...delta.chainsDeleted].sort()).toEqual(ruleChainsOf(on));
    expect(delta.chainsAdded).toEqual([]);
    // The `onExpire: close` rule made the closing and forward chains of companion mode: they go too.
    expect(delta.script).toMatch(/^delete chain inet porttrigger closing$/m);
    expect(delta.script).toMatch(/^delete chain inet porttrigger forward$/m);
    expect(delta.script).not.toMatch(/flush table|delete set|\t(set|map) (held|hold|pair|target)/);
  });

  it('switched on, declares the rules and deletes nothing', () => {
    const { delta } = switched(off, on);
    expect(delta.chainsDeleted).toEqual([]);
    expect([...delta.chainsAdded].sort()).toEqual(ruleChainsOf(on));
    expect(delta.elementsAdded).toBeGreaterThan(0);
    expect(delta.script).not.toMatch(/^delete /m);
  });

  it('carries the entry operations last, deletes before adds', () => {
    const d = renderSwitchDelta(planConfig(on), planConfig(off), [
      { set: 'held4', key: '1', timeoutMs: 1000, expiresMs: 1000 },
      { set: 'held4', key: '2' },
    ])!;
    const lines = d.script.trim().split('\n');
    expect(lines.at(-2)).toBe('delete element inet porttrigger held4 { 2 }');
    expect(lines.at(-1)).toMatch(/^add element inet porttrigger held4 \{ 1 timeout/);
  });

  it('is for a plan of no rules on one side only: a change between rules is the rule delta', () => {
    expect(renderSwitchDelta(planConfig(on), planConfig(config([game])), [])).toBeUndefined();
  });
});
