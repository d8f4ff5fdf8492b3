import type { IpPrefix } from '../domain/address.js';
import { formatPrefix, parsePrefix } from '../domain/address.js';
import { ruleFamilies } from '../domain/config.js';
import type { LearnCapture } from '../domain/learn/recorder.js';
import { rangesByProtocol } from '../domain/ports.js';
import type { Config, Family, PortRange, Protocol, Rule } from '../domain/types.js';
import { entryIdentity, hash32 } from './names.js';

/**
 * The shared dynamic sets and maps that hold every rule's state, per family, keyed by the rule's number.
 * Their count does not grow with the rules: the kernel finds a set by walking the table's list of sets, so
 * per-rule sets would make loading n rules cost n².
 */
export const SHARED_SETS = {
  held: { v4: 'held4', v6: 'held6', key: 'rule' }, // remote any: rules that have a holder
  hold: { v4: 'hold4', v6: 'hold6', key: 'rule . holder' }, // remote any: the holder
  target: { v4: 'target4', v6: undefined, key: 'rule : holder' }, // remote any, IPv4: the DNAT target
  taken: { v4: 'taken4', v6: 'taken6', key: 'rule . remote' }, // remote contacted: remotes that are held
  pair: { v4: 'pair4', v6: 'pair6', key: 'rule . remote . holder' }, // remote contacted: who holds a remote
  rtarget: { v4: 'rtarget4', v6: undefined, key: 'rule . remote : holder' }, // contacted, IPv4: DNAT target
  conflict: { v4: 'conflict4', v6: 'conflict6', key: 'rule . contender' }, // remote any: conflict records
  rconflict: { v4: 'rconflict4', v6: 'rconflict6', key: 'rule . contender . remote' }, // contacted: records
  blocked: { v4: 'blocked4', v6: 'blocked6', key: 'rule . host' }, // blocked records
} as const;

/** One kind of {@link SHARED_SETS}. */
export type SharedSetKind = keyof typeof SHARED_SETS;

/**
 * The DNAT maps (`target`, `rtarget`) are split into this many maps by rule number. Every rule binds its map
 * from its own chains, and the kernel walks a map's bindings each time a chain looks it up: one map for 10,000
 * rules made loading them quadratic (half the kernel's time); sixteen cut each walk sixteenfold.
 */
export const TARGET_BUCKETS = 16;

const SPLIT_KINDS: readonly SharedSetKind[] = ['target', 'rtarget'];

/**
 * The name of a shared set in a family, or undefined where the family has none (no DNAT for IPv6). The DNAT
 * maps are split by rule number (see {@link TARGET_BUCKETS}), so their names need the rule's `id`.
 */
export function sharedSetName(kind: SharedSetKind, family: Family, id?: number): string | undefined {
  const base = family === 'ipv4' ? SHARED_SETS[kind].v4 : SHARED_SETS[kind].v6;
  if (base === undefined || !SPLIT_KINDS.includes(kind)) return base;
  if (id === undefined) throw new Error(`the ${kind} map of a family is named by a rule number`);
  return `${base}_${(id % TARGET_BUCKETS).toString(16)}`;
}

/** Every name a shared set has in a family: one, the sixteen parts of a split map, or none. */
export function sharedSetNames(kind: SharedSetKind, family: Family): string[] {
  const ids = SPLIT_KINDS.includes(kind) ? [...Array(TARGET_BUCKETS).keys()] : [0];
  return ids.map((id) => sharedSetName(kind, family, id)).filter((n): n is string => n !== undefined);
}

/** Every shared set and map name of both families, each part of a split map. */
export const SHARED_SET_NAMES: readonly string[] = (Object.keys(SHARED_SETS) as SharedSetKind[]).flatMap(
  (kind) => [...sharedSetNames(kind, 'ipv4'), ...sharedSetNames(kind, 'ipv6')],
);

/** The nft objects of one rule in one family. */
export interface RulePlan {
  readonly rule: Rule;
  readonly family: Family;
  /** The rule's number in the shared sets: stable while its name, open ports and remote policy stay. */
  readonly id: number;
  /** Canonical allowed prefixes of this family, or 'any'. An empty list blocks every host of the family. */
  readonly lanHosts: 'any' | readonly string[];
  readonly open: Record<Protocol, readonly PortRange[]>;
  readonly trigger: Record<Protocol, readonly PortRange[]>;
  readonly chains: {
    readonly trigger: string;
    readonly inbound: string;
    readonly dnat?: string;
    /** `onExpire: close`: drops packets of the entry's connections once their host no longer holds it. */
    readonly close?: string;
  };
}

/**
 * An element of a dispatch verdict map: one protocol and port range to a chain. They are looked up only for
 * the first packet of a connection; a range is one element of an interval map, so a rule spanning thousands of
 * ports costs one element, as a one-port rule does (a one-port element goes in a hash map: render.ts).
 */
export interface DispatchElement {
  readonly protocol: Protocol;
  readonly from: number;
  readonly to: number;
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
  /** The rules that open and close: every enabled rule, none while the global switch is off. */
  readonly rules: readonly RulePlan[];
  /**
   * The rules whose chains and dispatch maps the table holds: every enabled rule, the switch on or off. Off,
   * the base chains look up none of the maps, so the switch changes the base chains alone.
   */
  readonly chained: readonly RulePlan[];
  /** The dispatch of the chained rules. */
  readonly dispatch: Readonly<Record<DispatchMap, readonly DispatchElement[]>>;
  readonly fanouts: readonly FanoutChain[];
  /** A learning session's recording, rendered last in `dstnat` while the session runs. */
  readonly learn?: LearnCapture;
}

/** The static verdict maps, re-created on every apply. */
export const DISPATCH_MAPS = [
  'trigger4',
  'trigger6',
  'dnat4',
  'inbound4',
  'inbound6',
  'close4',
  'close6',
] as const;

/** One of {@link DISPATCH_MAPS}. */
export type DispatchMap = (typeof DISPATCH_MAPS)[number];

/** How many elements the shared sets may hold. */
export const SET_SIZES = { entries: 262_144, records: 65_536 } as const;

function familyDigit(family: Family): '4' | '6' {
  return family === 'ipv4' ? '4' : '6';
}

function lanHostsOf(rule: Rule, family: Family): 'any' | string[] {
  if (rule.lanHosts === 'any') return 'any';
  const prefixes = rule.lanHosts.map((h) => parsePrefix(h)).filter((p): p is IpPrefix => !('error' in p));
  return prefixes.filter((p) => p.family === family).map(formatPrefix);
}

/** A rule's number when no other rule's number is the same: the hash of its entry identity. */
export function unsaltedId(rule: Rule): number {
  return Number.parseInt(entryIdentity(rule), 16);
}

/**
 * Numbers for the rules: a hash of the entry identity, so that a rule keeps its number (and its entries) across
 * reloads; on the rare collision the later rule by name takes the next salted hash (`salted`).
 */
function assignIds(rules: readonly Rule[]): { ids: Map<Rule, number>; salted: boolean } {
  const ids = new Map<Rule, number>();
  const taken = new Set<number>();
  let salted = false;
  for (const rule of [...rules].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const identity = entryIdentity(rule);
    let id = Number.parseInt(identity, 16);
    for (let salt = 1; taken.has(id); salt++) {
      id = Number.parseInt(hash32(`${identity}#${salt}`), 16);
      salted = true;
    }
    taken.add(id);
    ids.set(rule, id);
  }
  return { ids, salted };
}

/**
 * The chained lists of the plans in which every rule has its unsalted number: a rule's plan then depends on
 * the rule alone (its number, names and sets), and plan-patch.ts may plan a change of one rule on its own.
 */
const unsalted = new WeakSet<readonly RulePlan[]>();

/** Whether every rule of the plan has its unsalted number (known for plans of planConfig and of a patch). */
export function hasUnsaltedIds(plan: Plan): boolean {
  return unsalted.has(plan.chained);
}

/** Records that every rule of a patched plan has its unsalted number (plan-patch.ts checks it). */
export function markUnsaltedIds(chained: readonly RulePlan[]): void {
  unsalted.add(chained);
}

/** The fan-out chain of a family for rules that share trigger ports: named by its sorted targets. */
export function fanoutName(family: Family, targets: readonly string[]): string {
  return `fan${familyDigit(family)}_${hash32(targets.join(','))}`;
}

/**
 * The plan of one rule in one family, given its number: the same rule and number always make the same plan.
 * @example planRule(rule, 'ipv4', unsaltedId(rule))
 */
export function planRule(rule: Rule, family: Family, id: number): RulePlan {
  const f = familyDigit(family);
  const key = id.toString(16).padStart(8, '0');
  return {
    rule,
    family,
    id,
    lanHosts: lanHostsOf(rule, family),
    open: rangesByProtocol(rule.open),
    trigger: rangesByProtocol(rule.trigger),
    chains: {
      trigger: `tr${f}_${key}`,
      inbound: `in${f}_${key}`,
      ...(family === 'ipv4' ? { dnat: `dn4_${key}` } : {}),
      ...(rule.onExpire === 'close' ? { close: `cl${f}_${key}` } : {}),
    },
  };
}

/**
 * The trigger map of a family: the ranges of every rule, cut where they overlap, so that each piece jumps to
 * the one rule that has it or to a fan-out chain of the rules that share it.
 */
function triggerDispatch(plans: readonly RulePlan[], fanouts: Map<string, FanoutChain>): DispatchElement[] {
  if (plans.length === 0) return [];
  const family = plans[0]!.family;
  return (['tcp', 'udp'] as const).flatMap((protocol) => {
    const events: SweepEvent[] = [];
    for (const p of plans) {
      for (const r of p.trigger[protocol]) {
        events.push({ at: r.from, chain: p.chains.trigger, delta: 1 });
        events.push({ at: r.to + 1, chain: p.chains.trigger, delta: -1 });
      }
    }
    return sweepDispatch(protocol, family, events, fanouts);
  });
}

/** A chain starts (+n) or stops (-n) covering ports at `at`. */
export interface SweepEvent {
  readonly at: number;
  readonly chain: string;
  readonly delta: number;
}

/**
 * The dispatch elements of one protocol from range starts and ends: between two boundaries the set of covering
 * chains is constant, and each stretch goes to its one chain or to a fan-out chain of them (added to `fanouts`);
 * neighbouring stretches to the same chain are joined. planConfig sweeps every rule, a patch one region.
 */
export function sweepDispatch(
  protocol: Protocol,
  family: Family,
  unsorted: readonly SweepEvent[],
  fanouts: Map<string, FanoutChain>,
): DispatchElement[] {
  const events = [...unsorted].sort((x, y) => x.at - y.at);
  const out: DispatchElement[] = [];
  const active = new Map<string, number>();
  let i = 0;
  while (i < events.length) {
    const at = events[i]!.at;
    for (; i < events.length && events[i]!.at === at; i++) {
      const e = events[i]!;
      const n = (active.get(e.chain) ?? 0) + e.delta;
      if (n === 0) active.delete(e.chain);
      else active.set(e.chain, n);
    }
    if (active.size === 0 || i >= events.length) continue;
    const to = events[i]!.at - 1;
    const targets = [...active.keys()].sort();
    let chain = targets[0]!;
    if (targets.length > 1) {
      chain = fanoutName(family, targets);
      if (!fanouts.has(chain)) fanouts.set(chain, { name: chain, targets });
    }
    const last = out[out.length - 1];
    if (last && last.chain === chain && last.to === at - 1) out[out.length - 1] = { ...last, to };
    else out.push({ protocol, from: at, to, chain });
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
    // Open ports of different rules never overlap (validation), so each range is one element.
    return (['tcp', 'udp'] as const).flatMap((protocol) =>
      p.open[protocol].map((r) => ({ protocol, from: r.from, to: r.to, chain })),
    );
  });
}

/**
 * Turns a validated config into the nft objects that implement it: pure, deterministic, no I/O.
 * @example planConfig(config).rules.map((r) => r.chains.trigger)
 */
export function planConfig(config: Config): Plan {
  const enabled = config.rules.filter((r) => r.enabled);
  const { ids, salted } = assignIds(enabled);
  const chained = enabled.flatMap((rule) =>
    ruleFamilies(rule, config.ipv6).map((family) => planRule(rule, family, ids.get(rule)!)),
  );
  const v4 = chained.filter((r) => r.family === 'ipv4');
  const v6 = chained.filter((r) => r.family === 'ipv6');
  const fanouts = new Map<string, FanoutChain>();
  if (!salted) unsalted.add(chained);
  return {
    config,
    rules: config.enabled ? chained : [],
    chained,
    dispatch: {
      trigger4: triggerDispatch(v4, fanouts),
      trigger6: triggerDispatch(v6, fanouts),
      dnat4: openDispatch(v4, (p) => p.chains.dnat),
      inbound4: openDispatch(v4, (p) => p.chains.inbound),
      inbound6: openDispatch(v6, (p) => p.chains.inbound),
      close4: openDispatch(v4, (p) => p.chains.close),
      close6: openDispatch(v6, (p) => p.chains.close),
    },
    fanouts: [...fanouts.values()],
  };
}

/** The rule plans by family and number, for reading the shared sets back. */
export function indexRulePlans(plan: Plan): Map<string, RulePlan> {
  return new Map(plan.rules.map((r) => [`${r.family}/${r.id}`, r]));
}
