import type { IpPrefix } from '../core/address.js';
import { formatPrefix, parsePrefix } from '../core/address.js';
import { ruleFamilies } from '../core/config.js';
import { rangesByProtocol } from '../core/ports.js';
import type { Config, Family, PortRange, Protocol, Rule } from '../core/types.js';
import { entryIdentity, hash32, nameIdentity } from './names.js';

/** The kinds of dynamic sets and maps that hold entries, by their one-letter name prefix. */
export const ENTRY_SET_KINDS = {
  h: 'holder', // remote any: the holder, size 1 (one holder per rule)
  d: 'dnat', // remote any, IPv4: nfproto -> holder, the DNAT target
  t: 'taken', // remote contacted: remotes that are held
  p: 'pair', // remote contacted: remote . holder
  m: 'remoteMap', // remote contacted, IPv4: remote -> holder, the DNAT target
} as const;

/** One set name prefix letter of {@link ENTRY_SET_KINDS}. */
export type EntrySetLetter = keyof typeof ENTRY_SET_KINDS;

/** The nft objects of one rule in one family. */
export interface RulePlan {
  readonly rule: Rule;
  readonly family: Family;
  /** `<entry identity>_<declaration hash>`: shared by the rule's entry sets and chains. */
  readonly key: string;
  readonly entryId: string;
  readonly nameId: string;
  /** Canonical allowed prefixes of this family, or 'any'. An empty list blocks every host of the family. */
  readonly lanHosts: 'any' | readonly string[];
  readonly open: Record<Protocol, readonly PortRange[]>;
  readonly trigger: Record<Protocol, readonly PortRange[]>;
  /** Entry set names by their letter. */
  readonly entrySets: Partial<Record<EntrySetLetter, string>>;
  readonly conflictSet: string;
  readonly blockedSet: string;
  readonly chains: {
    readonly trigger: string;
    readonly inbound: string;
    readonly dnat?: string;
    readonly reply?: string;
  };
}

/** An element of a dispatch verdict map: protocol and port range to a chain. */
export interface DispatchElement {
  readonly protocol: Protocol;
  readonly range: PortRange;
  readonly chain: string;
}

/** A chain that jumps to several rules' trigger chains, for trigger ports that rules share. */
export interface FanoutChain {
  readonly name: string;
  readonly targets: readonly string[];
}

/** Everything the renderer and the reader need to know about a config in nft terms. */
export interface Plan {
  readonly config: Config;
  readonly rules: readonly RulePlan[];
  readonly dispatch: Readonly<Record<DispatchMap, readonly DispatchElement[]>>;
  readonly fanouts: readonly FanoutChain[];
}

/** The static verdict maps, re-created on every apply. */
export const DISPATCH_MAPS = [
  'trigger4',
  'trigger6',
  'dnat4',
  'inbound4',
  'inbound6',
  'reply4',
  'reply6',
] as const;

/** One of {@link DISPATCH_MAPS}. */
export type DispatchMap = (typeof DISPATCH_MAPS)[number];

/** The base chains porttrigger may own. */
export const BASE_CHAINS = ['forward', 'dstnat', 'srcnat'] as const;

/** How long entry sets of `remote: contacted` rules and record sets may grow. */
export const SET_SIZES = { contacted: 65_536, records: 1_024, dnat: 8 } as const;

// Bump when the shape of the generated objects changes, so that sets are re-created (and re-seeded).
const FORMAT = 'v1';

function familyDigit(family: Family): '4' | '6' {
  return family === 'ipv4' ? '4' : '6';
}

function lanHostsOf(rule: Rule, family: Family): 'any' | string[] {
  if (rule.lanHosts === 'any') return 'any';
  const prefixes = rule.lanHosts.map((h) => parsePrefix(h)).filter((p): p is IpPrefix => !('error' in p));
  return prefixes.filter((p) => p.family === family).map(formatPrefix);
}

function planRule(rule: Rule, family: Family): RulePlan {
  const f = familyDigit(family);
  const lanHosts = lanHostsOf(rule, family);
  const entryId = entryIdentity(rule);
  const nameId = nameIdentity(rule);
  const decl = hash32(JSON.stringify([FORMAT, rule.idleTimeout, lanHosts]));
  const key = `${entryId}_${decl}`;
  const name = (letter: string) => `${letter}${f}_${key}`;
  const entrySets: Partial<Record<EntrySetLetter, string>> =
    rule.remote === 'any'
      ? { h: name('h'), ...(family === 'ipv4' ? { d: name('d') } : {}) }
      : { t: name('t'), p: name('p'), ...(family === 'ipv4' ? { m: name('m') } : {}) };
  return {
    rule,
    family,
    key,
    entryId,
    nameId,
    lanHosts,
    open: rangesByProtocol(rule.open),
    trigger: rangesByProtocol(rule.trigger),
    entrySets,
    conflictSet: `${rule.remote === 'any' ? 'c' : 'k'}${f}_${nameId}`,
    blockedSet: `b${f}_${nameId}`,
    chains: {
      trigger: `tr${f}_${key}`,
      inbound: `in${f}_${key}`,
      ...(family === 'ipv4' ? { dnat: `dn4_${key}` } : {}),
      ...(rule.onExpire === 'close' ? { reply: `rp${f}_${key}` } : {}),
    },
  };
}

/** Splits possibly overlapping ranges of several owners into disjoint pieces, each with all its owners. */
function segment(
  owned: readonly { range: PortRange; owner: string }[],
): { range: PortRange; owners: string[] }[] {
  const cuts = new Set<number>();
  for (const { range } of owned) {
    cuts.add(range.from);
    cuts.add(range.to + 1);
  }
  const points = [...cuts].sort((a, b) => a - b);
  const pieces: { range: PortRange; owners: string[] }[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const from = points[i]!;
    const to = points[i + 1]! - 1;
    const owners = owned.filter((o) => o.range.from <= from && o.range.to >= to).map((o) => o.owner);
    if (owners.length === 0) continue;
    const unique = [...new Set(owners)].sort();
    const last = pieces[pieces.length - 1];
    // Merge adjacent pieces with the same owners, so shared ports stay one interval.
    if (last && last.range.to + 1 === from && last.owners.join() === unique.join()) {
      pieces[pieces.length - 1] = { range: { from: last.range.from, to }, owners: unique };
    } else {
      pieces.push({ range: { from, to }, owners: unique });
    }
  }
  return pieces;
}

function triggerDispatch(plans: readonly RulePlan[], fanouts: Map<string, FanoutChain>): DispatchElement[] {
  const out: DispatchElement[] = [];
  for (const protocol of ['tcp', 'udp'] as const) {
    const owned = plans.flatMap((p) =>
      p.trigger[protocol].map((range) => ({ range, owner: p.chains.trigger })),
    );
    for (const { range, owners } of segment(owned)) {
      let chain = owners[0]!;
      if (owners.length > 1) {
        const name = `fan${plans[0]!.family === 'ipv4' ? '4' : '6'}_${hash32(owners.join(','))}`;
        fanouts.set(name, { name, targets: owners });
        chain = name;
      }
      out.push({ protocol, range, chain });
    }
  }
  return out;
}

function openDispatch(
  plans: readonly RulePlan[],
  chainOf: (p: RulePlan) => string | undefined,
): DispatchElement[] {
  return plans.flatMap((p) => {
    const chain = chainOf(p);
    if (!chain) return [];
    return (['tcp', 'udp'] as const).flatMap((protocol) =>
      p.open[protocol].map((range) => ({ protocol, range, chain })),
    );
  });
}

/**
 * Turns a validated config into the nft objects that implement it: pure, deterministic, no I/O.
 * @example planConfig(config).rules.map((r) => r.chains.trigger)
 */
export function planConfig(config: Config): Plan {
  const active = config.enabled ? config.rules.filter((r) => r.enabled) : [];
  const rules = active.flatMap((rule) =>
    ruleFamilies(rule, config.ipv6).map((family) => planRule(rule, family)),
  );
  const v4 = rules.filter((r) => r.family === 'ipv4');
  const v6 = rules.filter((r) => r.family === 'ipv6');
  const fanouts = new Map<string, FanoutChain>();
  return {
    config,
    rules,
    dispatch: {
      trigger4: triggerDispatch(v4, fanouts),
      trigger6: triggerDispatch(v6, fanouts),
      dnat4: openDispatch(v4, (p) => p.chains.dnat),
      inbound4: openDispatch(v4, (p) => p.chains.inbound),
      inbound6: openDispatch(v6, (p) => p.chains.inbound),
      reply4: openDispatch(v4, (p) => p.chains.reply),
      reply6: openDispatch(v6, (p) => p.chains.reply),
    },
    fanouts: [...fanouts.values()],
  };
}

/** Every set and map name of a plan that holds state (entries and records). */
export function statefulSetNames(plan: Plan): Set<string> {
  return new Set(
    plan.rules.flatMap((r) =>
      [...Object.values(r.entrySets), r.conflictSet, r.blockedSet].filter((n): n is string => !!n),
    ),
  );
}

/** Every non-base chain name of a plan. */
export function regularChainNames(plan: Plan): Set<string> {
  return new Set([
    ...plan.rules.flatMap((r) => Object.values(r.chains).filter((n): n is string => !!n)),
    ...plan.fanouts.map((f) => f.name),
  ]);
}

/** Parses an entry set name into its parts; undefined for any other name. */
export function parseEntrySetName(
  name: string,
): { letter: EntrySetLetter; family: Family; entryId: string; decl: string } | undefined {
  const m = /^([hdtpm])([46])_([0-9a-f]{8})_([0-9a-f]{8})$/.exec(name);
  if (!m) return undefined;
  return {
    letter: m[1] as EntrySetLetter,
    family: m[2] === '4' ? 'ipv4' : 'ipv6',
    entryId: m[3]!,
    decl: m[4]!,
  };
}
