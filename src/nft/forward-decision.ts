/**
 * What another tool's forward chains decide about porttrigger's inbound connections: a new connection that
 * porttrigger's DNAT sent from a WAN interface to a LAN interface. Each forward base chain of another table is
 * walked rule by rule (following jumps and gotos) with what is known about such a packet; matches on anything
 * else (ports, addresses, rate limits) are "maybe" and never decide. Pure: nft JSON in, decisions out.
 */
import { TABLE_NAME } from '../domain/types.js';
import { DOCTOR_TABLE } from './feature-probe.js';
import { nftObjects } from './state.js';

type Json = Record<string, unknown>;

/** The interfaces a DNAT-ed connection of porttrigger comes in on (WAN) and goes out on (LAN). */
export interface ForwardPath {
  readonly wan: readonly string[];
  readonly lan: readonly string[];
}

/**
 * The text nft prints for rules that JSON shows only as opaque iptables-nft (`xt`) expressions, by
 * `family table` and rule handle: `nft -a list table` translates them (`ct status dnat`, `ct state new`).
 */
export type XtTranslations = ReadonlyMap<string, ReadonlyMap<number, string>>;

/** How a rule or chain came to its decision. */
export type ForwardVerdict = 'accept' | 'drop';

/** One forward base chain of another table and what it does with porttrigger's inbound connections. */
export interface ForwardDecision {
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  readonly verdict: ForwardVerdict;
  /** `policy` when nothing decided before the chain's policy, else the chain and handle of the deciding rule. */
  readonly by: 'policy' | { readonly chain: string; readonly handle?: number; readonly text: DecidingMatch };
  /** Some rules were iptables-nft rules without a translation: they may decide otherwise. */
  readonly opaque: boolean;
}

/** What made a deciding rule decide: `ct status dnat`, our mark, no match at all, or other matches (interfaces). */
export type DecidingMatch = 'ct status dnat' | 'ct mark' | 'unconditional' | 'other';

interface NftChain {
  readonly family: string;
  readonly table: string;
  readonly name: string;
  readonly hook?: string;
  readonly policy?: string;
}

/** A rule of `nft -j list ruleset` with its expressions as objects ({@link nftRules}). */
export interface NftRule {
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  readonly handle?: number;
  readonly expr: readonly Json[];
}

type Truth = 'yes' | 'no' | 'maybe';

function and(a: Truth, b: Truth): Truth {
  if (a === 'no' || b === 'no') return 'no';
  return a === 'yes' && b === 'yes' ? 'yes' : 'maybe';
}

function invert(t: Truth, op: unknown): Truth {
  if (op !== '!=') return t;
  return t === 'yes' ? 'no' : t === 'no' ? 'yes' : 'maybe';
}

/** The strings of a match's right side: a string, a list, an anonymous set. */
function words(right: unknown): string[] | undefined {
  if (typeof right === 'string') return [right];
  const list = Array.isArray(right) ? right : (right as Json | null)?.['set'];
  if (!Array.isArray(list)) return undefined;
  return list.every((w) => typeof w === 'string') ? (list as string[]) : undefined;
}

/** nft's interface-name wildcard: a trailing `*` matches any rest. */
function nameMatches(pattern: string, name: string): boolean {
  if (pattern.endsWith('*')) return name.startsWith(pattern.slice(0, -1));
  if (name.endsWith('*')) return pattern.startsWith(name.slice(0, -1));
  return pattern === name;
}

function interfaceTruth(patterns: readonly string[], ours: readonly string[] | undefined): Truth {
  if (!ours || ours.length === 0) return 'maybe';
  const hits = ours.filter((o) => patterns.some((p) => nameMatches(p, o)));
  return hits.length === ours.length ? 'yes' : hits.length === 0 ? 'no' : 'maybe';
}

/** The truth of one `match` expression for porttrigger's new inbound DNAT-ed connection. */
function matchTruth(match: Json, path: ForwardPath | undefined): { truth: Truth; what?: DecidingMatch } {
  const left = match['left'] as Json | undefined;
  const op = match['op'];
  const right = words(match['right']);
  const ct = left?.['ct'] as Json | undefined;
  const meta = left?.['meta'] as Json | undefined;
  if (ct?.['key'] === 'status' && right) {
    return right.includes('dnat') ? { truth: invert('yes', op), what: 'ct status dnat' } : { truth: 'maybe' };
  }
  if (ct?.['key'] === 'state' && right) return { truth: invert(right.includes('new') ? 'yes' : 'no', op) };
  if (ct?.['key'] === 'mark') return { truth: 'maybe', what: 'ct mark' };
  const key = meta?.['key'];
  if ((key === 'iifname' || key === 'oifname') && right) {
    const ours = key === 'iifname' ? path?.wan : path?.lan;
    return { truth: invert(interfaceTruth(right, ours), op) };
  }
  return { truth: 'maybe' };
}

/** The truth of a translated iptables-nft rule's text (`ct status dnat`, `ct state new`). */
function translatedTruth(text: string | undefined): { truth: Truth; what?: DecidingMatch } {
  if (text === undefined) return { truth: 'maybe' };
  if (/\bct status (?:[a-z,]*,)?dnat\b/.test(text)) return { truth: 'yes', what: 'ct status dnat' };
  const state = /\bct state ([a-z,]+)/.exec(text)?.[1];
  if (state) return { truth: state.split(',').includes('new') ? 'yes' : 'no' };
  return { truth: 'maybe' };
}

/** What a rule does, when it applies: its verdict statement. */
type Action =
  | { readonly kind: 'accept' | 'drop' | 'return' | 'none' }
  | { readonly kind: 'jump' | 'goto'; readonly target: string };

function actionOf(rule: NftRule): Action {
  for (const e of rule.expr) {
    if ('accept' in e) return { kind: 'accept' };
    if ('drop' in e || 'reject' in e) return { kind: 'drop' };
    if ('return' in e) return { kind: 'return' };
    const target = ((e['jump'] ?? e['goto']) as Json | undefined)?.['target'];
    if (typeof target === 'string') return { kind: 'jump' in e ? 'jump' : 'goto', target };
    const xt = e['xt'] as Json | undefined;
    if (xt?.['type'] === 'target') {
      const name = String(xt['name']).toUpperCase();
      if (name === 'ACCEPT') return { kind: 'accept' };
      if (name === 'DROP' || name === 'REJECT') return { kind: 'drop' };
    }
  }
  return { kind: 'none' };
}

interface Walk {
  readonly verdict?: ForwardVerdict;
  readonly by?: { chain: string; handle?: number; text: DecidingMatch };
  /** A goto ended the base chain's walk without a verdict: the policy decides. */
  readonly ended?: true;
}

/** Whether a table is ours (the service's or the doctor's probe): what other tools decide is in the others. */
export function isOwnTable(family: string, table: string): boolean {
  return family === 'inet' && (table === TABLE_NAME || table === DOCTOR_TABLE);
}

/** Every rule of every table in `nft -j list ruleset` output, its expressions read by {@link exprsOf}. */
export function nftRules(ruleset: unknown): NftRule[] {
  return nftObjects(ruleset, 'rule').map((r) => ({ ...(r as unknown as NftRule), expr: exprsOf(r) }));
}

/**
 * What every forward base chain of another table does with porttrigger's inbound connections.
 * @example decideForward(ruleset, { wan: ['eth0'], lan: ['br-lan'] }) // [{ table: 'filter', verdict: 'drop', by: 'policy', … }]
 */
export function decideForward(
  ruleset: unknown,
  path?: ForwardPath,
  translations: XtTranslations = new Map(),
): ForwardDecision[] {
  const chains = nftObjects(ruleset, 'chain') as unknown as NftChain[];
  const rules = nftRules(ruleset);
  const out: ForwardDecision[] = [];
  for (const base of chains) {
    if (base.hook !== 'forward' || isOwnTable(base.family, base.table)) continue;
    const texts = translations.get(`${base.family} ${base.table}`);
    let opaque = false;
    // A rule whose interfaces are unknown (no config) that accepts `ct status dnat`: the chain's own way for
    // DNAT-ed connections (fw4's forward_wan), counted as accepting when nothing definite decides.
    let possible: Walk['by'];
    const walk = (name: string, depth: number): Walk => {
      // nft refuses loops and limits jumps to 16 levels; the bound keeps a hand-made input finite too.
      if (depth > 16) return {};
      for (const rule of rules) {
        if (rule.family !== base.family || rule.table !== base.table || rule.chain !== name) continue;
        let truth: Truth = 'yes';
        let what: DecidingMatch | undefined;
        for (const e of rule.expr) {
          let m: { truth: Truth; what?: DecidingMatch } | undefined;
          if (e['match']) m = matchTruth(e['match'] as Json, path);
          else if (e['xt'] && (e['xt'] as Json)['type'] === 'match') {
            const text = rule.handle !== undefined ? texts?.get(rule.handle) : undefined;
            if (text === undefined) opaque = true;
            m = translatedTruth(text);
          } else if (e['limit'] || e['quota']) m = { truth: 'maybe' };
          if (!m) continue;
          truth = and(truth, m.truth);
          what = m.what ?? what;
        }
        if (truth === 'no') continue;
        const action = actionOf(rule);
        const by = {
          chain: name,
          ...(rule.handle !== undefined ? { handle: rule.handle } : {}),
          text: what ?? (rule.expr.some((e) => e['match'] || e['xt']) ? 'other' : 'unconditional'),
        };
        if (truth === 'maybe') {
          if (action.kind === 'accept' && what === 'ct status dnat') possible ??= by;
          if (action.kind === 'jump' || action.kind === 'goto') {
            const inner = walk(action.target, depth + 1);
            if (inner.verdict === 'accept' && inner.by?.text === 'ct status dnat') possible ??= inner.by;
          }
          continue;
        }
        if (action.kind === 'accept' || action.kind === 'drop') return { verdict: action.kind, by };
        if (action.kind === 'return') return {};
        if (action.kind === 'jump' || action.kind === 'goto') {
          const inner = walk(action.target, depth + 1);
          if (inner.verdict || inner.ended) return inner;
          if (action.kind === 'goto') return { ended: true };
        }
      }
      return {};
    };
    const result = walk(base.name, 0);
    const decided =
      result.verdict && result.by
        ? result
        : possible
          ? { verdict: 'accept' as const, by: possible }
          : undefined;
    out.push({
      family: base.family,
      table: base.table,
      chain: base.name,
      verdict: decided?.verdict ?? (base.policy === 'drop' ? 'drop' : 'accept'),
      by: decided?.by ?? 'policy',
      opaque,
    });
  }
  return out;
}

/**
 * A rule's expressions as objects: nft prints an expression it has no JSON for as a string (our own table's
 * `update @map { … }`), which says nothing about forwarding.
 */
export function exprsOf(rule: Json): Json[] {
  const expr = rule['expr'];
  return Array.isArray(expr) ? expr.filter((e): e is Json => typeof e === 'object' && e !== null) : [];
}

/** The tables (`family table`) whose rules JSON shows as opaque iptables-nft expressions. */
export function tablesWithXt(ruleset: unknown): string[] {
  const tables = nftObjects(ruleset, 'rule')
    .filter((r) => exprsOf(r).some((e) => 'xt' in e))
    .map((r) => `${String(r['family'])} ${String(r['table'])}`);
  return [...new Set(tables)];
}

/** The rules of an `nft -a list table` text by handle: nft translates iptables-nft matches there. */
export function ruleTextsByHandle(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*(.*\S)\s+# handle (\d+)\s*$/.exec(line);
    if (m && !/^(?:table|chain|set|map)\b/.test(m[1]!)) out.set(Number(m[2]), m[1]!);
  }
  return out;
}
