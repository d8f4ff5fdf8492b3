/**
 * The plan of a config that differs from a planned one by a few rules, made from that plan: only the changed
 * rules are planned, and the dispatch lists are patched where their ports lie. A rule's plan depends on the
 * rule and its number alone (plan.ts), and its number is the hash of its entry identity unless two rules'
 * hashes meet: a change that meets one (or a plan that has one) is planned whole. The result is what
 * `planConfig` makes of the config, element for element (plan-patch.test.ts), in time that grows with the
 * change, not the table. The patch is kept with the new plan, for the delta (delta.ts) to render from it.
 */
import { ruleFamilies } from '../domain/config.js';
import type { Config, Family, Protocol, Rule } from '../domain/types.js';
import {
  type DispatchElement,
  type DispatchMap,
  type FanoutChain,
  hasUnsaltedIds,
  markUnsaltedIds,
  type Plan,
  planRule,
  type RulePlan,
  type SweepEvent,
  sweepDispatch,
  unsaltedId,
} from './plan.js';

/** More changed rules than this and the whole config is planned: a reload-sized change gains nothing. */
const MAX_CHANGED_RULES = 16;

/** What a patch changed, for the delta: the rule plans and dispatch elements gone and new. */
export interface PlanPatch {
  /** The plan it was made from. */
  readonly from: Plan;
  readonly removed: readonly RulePlan[];
  readonly added: readonly RulePlan[];
  /** Elements of the old dispatch lists that the new ones do not hold, by list, in their list's order. */
  readonly gone: Readonly<Record<DispatchMap, readonly DispatchElement[]>>;
  /** Elements of the new dispatch lists that the old ones did not hold, by list, in their list's order. */
  readonly fresh: Readonly<Record<DispatchMap, readonly DispatchElement[]>>;
  readonly fanoutsGone: readonly FanoutChain[];
  readonly fanoutsAdded: readonly FanoutChain[];
}

/** Per plan (by its chained list, which a plan with a learning capture shares): the numbers the rules have. */
const takenIds = new WeakMap<readonly RulePlan[], Set<number>>();
/** Per new plan (by its config object, unique to it): the patch that made it. */
const patches = new WeakMap<Config, PlanPatch>();

/** The patch that made `after` from `before`, if `after` was patched from it. */
export function patchBetween(before: Plan, after: Plan): PlanPatch | undefined {
  const patch = patches.get(after.config);
  const from = patch?.from;
  return from && from.config === before.config && from.chained === before.chained ? patch : undefined;
}

/** The numbers of a plan's enabled rules, those planned in no family (IPv6 rules, IPv6 off) too. */
function idsOf(plan: Plan): Set<number> {
  let ids = takenIds.get(plan.chained);
  if (!ids) {
    const { rules, ipv6 } = plan.config;
    const unplanned = rules.filter((r) => r.enabled && ruleFamilies(r, ipv6).length === 0);
    ids = new Set([...plan.chained.map((r) => r.id), ...unplanned.map(unsaltedId)]);
    takenIds.set(plan.chained, ids);
  }
  return ids;
}

/** Whether the two configs differ in the rules and the switch alone (every other setting may shape a plan). */
function sameSettings(a: Config, b: Config): boolean {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  return [...keys].every((k) => k === 'enabled' || k === 'rules' || x[k] === y[k]);
}

const OPEN_MAPS: readonly {
  map: DispatchMap;
  family: Family;
  chain: (p: RulePlan) => string | undefined;
}[] = [
  { map: 'dnat4', family: 'ipv4', chain: (p) => p.chains.dnat },
  { map: 'inbound4', family: 'ipv4', chain: (p) => p.chains.inbound },
  { map: 'inbound6', family: 'ipv6', chain: (p) => p.chains.inbound },
  { map: 'close4', family: 'ipv4', chain: (p) => p.chains.close },
  { map: 'close6', family: 'ipv6', chain: (p) => p.chains.close },
];

/** A rule plan's elements of an open-port dispatch list, as planConfig lists them. */
function openElements(p: RulePlan, chain: string): DispatchElement[] {
  return (['tcp', 'udp'] as const).flatMap((protocol) =>
    p.open[protocol].map((r) => ({ protocol, from: r.from, to: r.to, chain })),
  );
}

function openCount(p: RulePlan, entry: (typeof OPEN_MAPS)[number]): number {
  return p.family === entry.family && entry.chain(p) ? p.open.tcp.length + p.open.udp.length : 0;
}

/**
 * The plan of `config` made from `before` (a plan of planConfig or of an earlier patch), or undefined when it
 * must be planned whole: other settings changed, many rules changed, or rule numbers met.
 * @example patchPlan(planConfig(config), withRuleRemoved(config, 'game')) ?? planConfig(next)
 */
export function patchPlan(before: Plan, config: Config): Plan | undefined {
  const old = before.config.rules;
  const next = config.rules;
  if (!sameSettings(before.config, config) || !hasUnsaltedIds(before)) return undefined;
  // The changed rules are a run between an unchanged start and end (rule objects of an unchanged rule stay).
  let start = 0;
  while (start < old.length && start < next.length && old[start] === next[start]) start++;
  let end = 0;
  while (
    end < old.length - start &&
    end < next.length - start &&
    old[old.length - 1 - end] === next[next.length - 1 - end]
  )
    end++;
  const removedRules = old.slice(start, old.length - end);
  const addedRules = next.slice(start, next.length - end);
  if (removedRules.length + addedRules.length > MAX_CHANGED_RULES) return undefined;
  // The plans of the unchanged start, and those of the removed rules after them.
  const chained = before.chained;
  let k1 = 0;
  const offsets = OPEN_MAPS.map(() => 0);
  for (let j = 0; j < start; j++) {
    while (k1 < chained.length && chained[k1]!.rule === old[j]) {
      OPEN_MAPS.forEach((entry, m) => {
        offsets[m]! += openCount(chained[k1]!, entry);
      });
      k1++;
    }
  }
  let k2 = k1;
  for (const rule of removedRules) while (k2 < chained.length && chained[k2]!.rule === rule) k2++;
  const removed = chained.slice(k1, k2);
  // New numbers: unsalted, and none the same as another's (else planConfig would salt one).
  const ids = idsOf(before);
  // Every number is unsalted: a removed enabled rule's is its hash, planned in a family or not.
  const freed = new Set([
    ...removed.map((r) => r.id),
    ...removedRules.filter((r) => r.enabled && ruleFamilies(r, config.ipv6).length === 0).map(unsaltedId),
  ]);
  const numbered: [Rule, number][] = [];
  for (const rule of addedRules) {
    if (!rule.enabled) continue;
    const id = unsaltedId(rule);
    if ((ids.has(id) && !freed.has(id)) || numbered.some(([, n]) => n === id)) return undefined;
    numbered.push([rule, id]);
  }
  // The numbers move to the new plan: the old one is not patched again but after a refused change (then its
  // numbers are counted again from its rules).
  takenIds.delete(chained);
  for (const id of freed) ids.delete(id);
  for (const [, id] of numbered) ids.add(id);
  if (removed.length === 0 && numbered.every(([rule]) => ruleFamilies(rule, config.ipv6).length === 0)) {
    // The switch, or rules changed while disabled (or planned in no family): the same rule plans and dispatch.
    const same = freed.size === 0 && numbered.length === 0 ? chained : [...chained];
    takenIds.set(same, ids);
    markUnsaltedIds(same);
    const empty = { gone: emptyLists(), fresh: emptyLists(), fanoutsGone: [], fanoutsAdded: [] };
    patches.set(config, { from: before, removed, added: [], ...empty });
    const { dispatch, fanouts } = before;
    return { config, rules: config.enabled ? same : [], chained: same, dispatch, fanouts };
  }
  const added = numbered.flatMap(([rule, id]) =>
    ruleFamilies(rule, config.ipv6).map((family) => planRule(rule, family, id)),
  );
  const nextChained = spliced(chained, k1, k2, added);
  const gone = emptyLists();
  const fresh = emptyLists();
  const dispatch = { ...before.dispatch };
  OPEN_MAPS.forEach((entry, m) => {
    const dropped = removed.flatMap((p) => (openCount(p, entry) > 0 ? openElements(p, entry.chain(p)!) : []));
    const put = added.flatMap((p) => (openCount(p, entry) > 0 ? openElements(p, entry.chain(p)!) : []));
    if (dropped.length === 0 && put.length === 0) return;
    const at = offsets[m]!;
    dispatch[entry.map] = spliced(before.dispatch[entry.map], at, at + dropped.length, put);
    gone[entry.map] = dropped;
    fresh[entry.map] = put;
  });
  const fanouts = new Map(before.fanouts.map((f) => [f.name, f]));
  let fanoutsTouched = false;
  for (const [map, family] of [
    ['trigger4', 'ipv4'],
    ['trigger6', 'ipv6'],
  ] as const) {
    const mine = (p: RulePlan) => p.family === family;
    const patched = patchTrigger(before.dispatch[map], removed.filter(mine), added.filter(mine), fanouts);
    if (!patched) continue;
    dispatch[map] = patched.list;
    gone[map] = patched.gone;
    fresh[map] = patched.fresh;
    fanoutsTouched ||= [...patched.gone, ...patched.fresh].some((e) => fanouts.has(e.chain));
  }
  const nextFanouts = fanoutsTouched ? fanoutsOf(dispatch, fanouts) : before.fanouts;
  const plan: Plan = {
    config,
    rules: config.enabled ? nextChained : [],
    chained: nextChained,
    dispatch,
    fanouts: nextFanouts,
  };
  takenIds.set(nextChained, ids);
  markUnsaltedIds(nextChained);
  const wasNamed = new Set(before.fanouts.map((f) => f.name));
  const isNamed = new Set(nextFanouts.map((f) => f.name));
  patches.set(config, {
    from: before,
    removed,
    added,
    gone,
    fresh,
    fanoutsGone: fanoutsTouched ? before.fanouts.filter((f) => !isNamed.has(f.name)) : [],
    fanoutsAdded: fanoutsTouched ? nextFanouts.filter((f) => !wasNamed.has(f.name)) : [],
  });
  return plan;
}

function spliced<T>(list: readonly T[], from: number, to: number, put: readonly T[]): T[] {
  // One new array: spreading ten thousand elements goes one by one, and each large array costs its allocation.
  return list.toSpliced(from, to - from, ...put);
}

function emptyLists(): Record<DispatchMap, DispatchElement[]> {
  return { trigger4: [], trigger6: [], dnat4: [], inbound4: [], inbound6: [], close4: [], close6: [] };
}

/** The fan-out chains the trigger lists jump to, in the order planConfig meets them. */
function fanoutsOf(
  dispatch: Readonly<Record<DispatchMap, readonly DispatchElement[]>>,
  known: ReadonlyMap<string, FanoutChain>,
): FanoutChain[] {
  const out = new Map<string, FanoutChain>();
  for (const e of [...dispatch.trigger4, ...dispatch.trigger6]) {
    const fan = known.get(e.chain);
    if (fan && !out.has(fan.name)) out.set(fan.name, fan);
  }
  return [...out.values()];
}

interface Span {
  from: number;
  to: number;
}

/** The first index in `list[lo, hi)` whose element ends at or after `port` (elements sorted, apart). */
function firstEndingFrom(list: readonly DispatchElement[], lo: number, hi: number, port: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.to < port) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A trigger list with the removed plans' ports taken out and the added plans' put in. planConfig's list is,
 * per protocol, the longest runs of ports that the same rules cover, in port order: the same list is made
 * again only around the changed ports (the old elements there say which rules cover them), and a run next to
 * such a region joins it when it jumps to the same chain.
 */
function patchTrigger(
  list: readonly DispatchElement[],
  removed: readonly RulePlan[],
  added: readonly RulePlan[],
  fanouts: Map<string, FanoutChain>,
): { list: DispatchElement[]; gone: DispatchElement[]; fresh: DispatchElement[] } | undefined {
  if (removed.length === 0 && added.length === 0) return undefined;
  const family = (removed[0] ?? added[0])!.family;
  // One copy, changed in place region by region from the last: the indexes before a region stay the list's.
  const out = list.slice();
  const gone: DispatchElement[] = [];
  const made = new Set<DispatchElement>();
  const drop = (e: DispatchElement) => {
    if (!made.delete(e)) gone.push(e);
  };
  // Elements k and k + 1 become one when they are one run of the same chain.
  const join = (k: number) => {
    const a = out[k];
    const b = out[k + 1];
    if (!a || !b || a.protocol !== b.protocol || a.chain !== b.chain || a.to !== b.from - 1) return;
    drop(a);
    drop(b);
    const joined = { ...a, to: b.to };
    made.add(joined);
    out.splice(k, 2, joined);
  };
  type Change = { span: Span; chain: string; delta: 1 | -1 };
  const work: { protocol: Protocol; region: Span; changes: Change[]; lo: number; hi: number }[] = [];
  let lo = 0;
  for (const protocol of ['tcp', 'udp'] as const) {
    let hi = lo;
    while (hi < list.length && list[hi]!.protocol === protocol) hi++;
    const changes: Change[] = [
      ...removed.flatMap((p) =>
        p.trigger[protocol].map((span) => ({ span, chain: p.chains.trigger, delta: -1 as const })),
      ),
      ...added.flatMap((p) =>
        p.trigger[protocol].map((span) => ({ span, chain: p.chains.trigger, delta: 1 as const })),
      ),
    ];
    const spans = changes.map((c) => c.span);
    for (const region of regionsOf(list, lo, hi, spans)) work.push({ protocol, region, changes, lo, hi });
    lo = hi;
  }
  for (const { protocol, region, changes, lo, hi } of work.reverse()) {
    const first = firstEndingFrom(list, lo, hi, region.from);
    let last = first;
    while (last < hi && list[last]!.from <= region.to) last++;
    const inside = list.slice(first, last);
    gone.push(...inside);
    const pieces = sweep(protocol, family, region, inside, changes, fanouts);
    for (const piece of pieces) made.add(piece);
    out.splice(first, inside.length, ...pieces);
    join(first + pieces.length - 1);
    join(first - 1);
  }
  const order = (a: DispatchElement, b: DispatchElement) =>
    a.protocol === b.protocol ? a.from - b.from : a.protocol === 'tcp' ? -1 : 1;
  return { list: out, gone: gone.sort(order), fresh: [...made].sort(order) };
}

/**
 * The spans to plan again: each changed span widened to the old elements it touches (they hold the rules that
 * cover it), overlapping and touching ones joined; in port order.
 */
function regionsOf(list: readonly DispatchElement[], lo: number, hi: number, spans: readonly Span[]): Span[] {
  const widened = spans.map((s) => {
    let from = s.from;
    let to = s.to;
    const first = firstEndingFrom(list, lo, hi, s.from);
    for (let k = first; k < hi && list[k]!.from <= s.to; k++) {
      from = Math.min(from, list[k]!.from);
      to = Math.max(to, list[k]!.to);
    }
    return { from, to };
  });
  widened.sort((a, b) => a.from - b.from);
  const out: Span[] = [];
  for (const s of widened) {
    const last = out[out.length - 1];
    // Touching regions are one: an element joined to a region's neighbour must not lie in another region.
    if (last && s.from <= last.to + 1) last.to = Math.max(last.to, s.to);
    else out.push({ ...s });
  }
  return out;
}

/**
 * planConfig's sweep (plan.ts, triggerDispatch) over one region: the rules that cover a port are those of the
 * old element there, less the removed plans', plus the added plans'.
 */
function sweep(
  protocol: Protocol,
  family: Family,
  region: Span,
  inside: readonly DispatchElement[],
  changes: readonly { span: Span; chain: string; delta: 1 | -1 }[],
  fanouts: Map<string, FanoutChain>,
): DispatchElement[] {
  const events: SweepEvent[] = [];
  const add = (from: number, to: number, chain: string, delta: number) => {
    const a = Math.max(from, region.from);
    const b = Math.min(to, region.to);
    if (a > b) return;
    events.push({ at: a, chain, delta }, { at: b + 1, chain, delta: -delta });
  };
  for (const e of inside) {
    for (const chain of fanouts.get(e.chain)?.targets ?? [e.chain]) add(e.from, e.to, chain, 1);
  }
  for (const c of changes) add(c.span.from, c.span.to, c.chain, c.delta);
  return sweepDispatch(protocol, family, events, fanouts);
}

/**
 * The rules whose live trigger connections a change adopts at once: those whose trigger chain it adds or
 * replaces, and those not live before (added, enabled, switched on). From the patch when there is one.
 */
export function rulesToAdopt(before: Plan, after: Plan, chainsChanged: readonly string[]): Set<string> {
  const patch = patchBetween(before, after);
  const changed = new Set(chainsChanged);
  if (patch && before.config.enabled === after.config.enabled) {
    if (!after.config.enabled) return new Set();
    const wasLive = new Set(patch.removed.map((p) => p.rule.name));
    return new Set(
      patch.added
        .filter((p) => changed.has(p.chains.trigger) || !wasLive.has(p.rule.name))
        .map((p) => p.rule.name),
    );
  }
  const wasLive = new Set(before.rules.map((r) => r.rule.name));
  return new Set(
    after.rules
      .filter((r) => changed.has(r.chains.trigger) || !wasLive.has(r.rule.name))
      .map((r) => r.rule.name),
  );
}
