/**
 * From what a learning session saw to proposed rules: inbound attempts are tied to the outbound connections of
 * the device that came shortly before them, grouped by that trigger, their ports merged into ranges. Pure.
 */
import { LIMITS } from '../config.js';
import { formatPortList, mergeRanges, rangesByProtocol, rangesOverlap } from '../ports.js';
import type { PortRange, Protocol, RemotePolicy, Rule } from '../types.js';
import type { SeenConnection } from './recorder.js';

/** How sure a proposal is. */
export type Confidence = 'high' | 'medium' | 'low';

/** A rule a session proposes, as a rule body for the normal create path (defaults fill the rest). */
export interface ProposedRule {
  readonly name: string;
  readonly trigger: readonly { readonly protocol: Protocol; readonly ports: string }[];
  readonly open: readonly { readonly protocol: Protocol; readonly ports: string }[];
  readonly remote: RemotePolicy;
  readonly idleTimeout: number;
}

/** One proposal with what it stands on. */
export interface LearnProposal {
  /** 1-based, in the order shown; `apply N` takes it. */
  readonly id: number;
  readonly rule: ProposedRule;
  readonly confidence: Confidence;
  /** In words: what was seen, from whom, how long after which outbound connection. */
  readonly evidence: string;
  readonly attempts: number;
  /** The WAN hosts the attempts came from. */
  readonly sources: readonly string[];
  /** Existing rules this one would clash with, in words. */
  readonly conflicts: readonly string[];
}

/** Tuning of {@link proposeRules}; the defaults are what the service uses. */
export interface ProposalOptions {
  /** An inbound attempt belongs to outbound connections at most this long before it. */
  readonly windowMs: number;
  /** Attempted ports this close are one range (games use a range; a session sees part of it). */
  readonly portGap: number;
  /** Fewer attempts than this are a stray, not an application. */
  readonly minAttempts: number;
  /** A host nobody contacted must aim at least this share of its attempts at one cluster of ports. */
  readonly minClusterShare: number;
  /** A cluster of an uncontacted host wider than this is a sweep, not an application. */
  readonly maxUncontactedSpan: number;
  /** Hosts nobody contacted need this many attempts in one cluster. */
  readonly minUncontactedAttempts: number;
  /** Attempts from hosts nobody contacted below this port are scans of well-known services. */
  readonly minUncontactedPort: number;
}

/** The defaults of {@link ProposalOptions}. */
export const PROPOSAL_DEFAULTS: ProposalOptions = {
  windowMs: 120_000,
  portGap: 16,
  minAttempts: 2,
  minClusterShare: 0.5,
  maxUncontactedSpan: 256,
  minUncontactedAttempts: 3,
  minUncontactedPort: 1024,
};

interface Attributed {
  /** The proposal it belongs to: the trigger, and apart from it callbacks of hosts nobody contacted. */
  readonly group: string;
  readonly attempt: SeenConnection;
  readonly trigger: SeenConnection;
  readonly contacted: boolean;
}

const keyOf = (c: Pick<SeenConnection, 'protocol' | 'port'>) => `${c.protocol} ${c.port}`;

/** Ports of attempts grouped into clusters whose neighbours are at most `gap` apart. */
function clusters(attempts: readonly SeenConnection[], gap: number): SeenConnection[][] {
  const sorted = [...attempts].sort((a, b) => a.port - b.port);
  const out: SeenConnection[][] = [];
  for (const a of sorted) {
    const last = out[out.length - 1];
    const prev = last?.[last.length - 1];
    if (last && prev && a.port - prev.port <= gap) last.push(a);
    else out.push([a]);
  }
  return out;
}

/** Ranges of the attempted ports, gaps up to `gap` filled. */
function rangesOf(ports: readonly number[], gap: number): PortRange[] {
  const sorted = [...new Set(ports)].sort((a, b) => a - b);
  const out: PortRange[] = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last && p - last.to <= gap) out[out.length - 1] = { from: last.from, to: p };
    else out.push({ from: p, to: p });
  }
  return mergeRanges(out);
}

/** The outbound connections of the family in the window before `at`, latest first. */
function before(outbound: readonly SeenConnection[], a: SeenConnection, windowMs: number): SeenConnection[] {
  return outbound
    .filter((o) => o.family === a.family && o.at <= a.at && a.at - o.at <= windowMs)
    .sort((x, y) => y.at - x.at);
}

/**
 * Attempts from hosts nobody contacted count only when they aim at one narrow cluster of ports: a scan of
 * random ports spreads out, an application's callbacks do not.
 */
function focused(attempts: readonly SeenConnection[], options: ProposalOptions): SeenConnection[] {
  const bySource = new Map<string, SeenConnection[]>();
  for (const a of attempts) bySource.set(a.source, [...(bySource.get(a.source) ?? []), a]);
  const kept: SeenConnection[] = [];
  for (const all of bySource.values()) {
    const list = all.filter((a) => a.port >= options.minUncontactedPort);
    for (const cluster of clusters(list, options.portGap)) {
      const span = (cluster[cluster.length - 1]?.port ?? 0) - (cluster[0]?.port ?? 0);
      if (
        cluster.length >= options.minUncontactedAttempts &&
        cluster.length >= all.length * options.minClusterShare &&
        span <= options.maxUncontactedSpan
      )
        kept.push(...cluster);
    }
  }
  return kept;
}

function attribute(
  outbound: readonly SeenConnection[],
  inbound: readonly SeenConnection[],
  options: ProposalOptions,
): Attributed[] {
  const out: Attributed[] = [];
  const uncontacted: SeenConnection[] = [];
  for (const a of inbound) {
    const prior = before(outbound, a, options.windowMs);
    const contacted = prior.find((o) => o.destination === a.source);
    if (contacted) out.push({ group: keyOf(contacted), attempt: a, trigger: contacted, contacted: true });
    else if (prior.length > 0) uncontacted.push(a);
  }
  const contactedKeys = new Set(out.map((x) => keyOf(x.trigger)));
  for (const a of focused(uncontacted, options)) {
    const prior = before(outbound, a, options.windowMs);
    // A trigger that already explains attempts from contacted hosts wins; else the most frequent, then latest.
    const counts = new Map<string, number>();
    for (const o of prior) counts.set(keyOf(o), (counts.get(keyOf(o)) ?? 0) + 1);
    const best = [...prior].sort((x, y) => {
      const cx = contactedKeys.has(keyOf(x)) ? 1 : 0;
      const cy = contactedKeys.has(keyOf(y)) ? 1 : 0;
      if (cx !== cy) return cy - cx;
      const fx = counts.get(keyOf(x)) ?? 0;
      const fy = counts.get(keyOf(y)) ?? 0;
      return fx !== fy ? fy - fx : y.at - x.at;
    })[0];
    if (!best) continue;
    // Next to the ports the contacted server called back on: the same application, from another host.
    const near = out.some(
      (x) =>
        x.contacted &&
        keyOf(x.trigger) === keyOf(best) &&
        x.attempt.protocol === a.protocol &&
        Math.abs(x.attempt.port - a.port) <= options.portGap,
    );
    out.push({
      group: near ? keyOf(best) : `${keyOf(best)} any`,
      attempt: a,
      trigger: best,
      contacted: false,
    });
  }
  return out;
}

/** Whole seconds, bounded to what the config accepts: twice the longest quiet gap seen, at least a minute. */
export function idleTimeoutFor(gapsMs: readonly number[]): number {
  const longest = Math.max(0, ...gapsMs);
  const seconds = Math.ceil((2 * longest) / 1000 / 30) * 30;
  return Math.min(LIMITS.idleTimeoutMax, Math.max(60, LIMITS.idleTimeoutMin, seconds));
}

function secondsText(msList: readonly number[]): string {
  const lo = Math.round(Math.min(...msList) / 1000);
  const hi = Math.round(Math.max(...msList) / 1000);
  if (hi < 1) return 'within a second';
  return lo === hi ? `${lo} s` : `${lo}-${hi} s`;
}

function listText(items: readonly string[]): string {
  if (items.length <= 2) return items.join(' and ');
  return `${items[0]} and ${items.length - 1} others`;
}

function conflictsWith(rule: ProposedRule, rules: readonly Rule[]): string[] {
  const open = rangesByProtocol(rule.open);
  const trigger = rangesByProtocol(rule.trigger);
  const out: string[] = [];
  for (const r of rules) {
    const theirs = rangesByProtocol(r.open);
    for (const p of ['tcp', 'udp'] as const) {
      if (rangesOverlap(open[p], theirs[p]))
        out.push(`its ${p} ports overlap the open ports of rule "${r.name}" (${formatPortList(theirs[p])})`);
    }
    const theirTrigger = rangesByProtocol(r.trigger);
    for (const p of ['tcp', 'udp'] as const) {
      if (rangesOverlap(trigger[p], theirTrigger[p]))
        out.push(`rule "${r.name}" already triggers on ${p} ${formatPortList(trigger[p])}`);
    }
  }
  return out;
}

function confidenceOf(attempts: number, contacted: boolean, triggers: number): Confidence {
  if (contacted && attempts >= 3) return 'high';
  if (contacted || (attempts >= 3 && triggers === 1)) return 'medium';
  return 'low';
}

const RANK: Record<Confidence, number> = { high: 0, medium: 1, low: 2 };

/**
 * The rules a session's recordings suggest, most certain first. `rules` are the running config's, for
 * conflicts. Attempts with no outbound connection before them, and scattered attempts from hosts nobody
 * contacted, are noise and propose nothing.
 * @example proposeRules({ outbound, inbound, rules: config.rules })
 */
export function proposeRules(input: {
  readonly outbound: readonly SeenConnection[];
  readonly inbound: readonly SeenConnection[];
  readonly rules?: readonly Rule[];
  readonly options?: Partial<ProposalOptions>;
}): LearnProposal[] {
  const options = { ...PROPOSAL_DEFAULTS, ...input.options };
  const byTrigger = new Map<string, Attributed[]>();
  for (const x of attribute(input.outbound, input.inbound, options)) {
    byTrigger.set(x.group, [...(byTrigger.get(x.group) ?? []), x]);
  }
  const proposals: Omit<LearnProposal, 'id'>[] = [];
  for (const group of byTrigger.values()) {
    if (group.length < options.minAttempts) continue;
    const first = group[0];
    if (!first) continue;
    const { protocol, port } = first.trigger;
    const open = (['tcp', 'udp'] as const)
      .map((p) => ({
        protocol: p,
        ports: formatPortList(
          rangesOf(
            group.filter((x) => x.attempt.protocol === p).map((x) => x.attempt.port),
            options.portGap,
          ),
        ),
      }))
      .filter((s) => s.ports !== '');
    const contacted = group.every((x) => x.contacted);
    const times = group.map((x) => x.attempt.at).sort((a, b) => a - b);
    const delays = group.map((x) => x.attempt.at - x.trigger.at);
    const gaps = [...delays, ...times.slice(1).map((t, i) => t - (times[i] ?? t))];
    const rule: ProposedRule = {
      name: `Learned ${protocol} ${port}${contacted ? '' : ' from any host'}`,
      trigger: [{ protocol, ports: String(port) }],
      open,
      remote: contacted ? 'contacted' : 'any',
      idleTimeout: idleTimeoutFor(gaps),
    };
    const sources = [...new Set(group.map((x) => x.attempt.source))].sort();
    const devices = [...new Set(group.map((x) => x.trigger.source))].sort();
    const remotes = [...new Set(group.map((x) => x.trigger.destination))].sort();
    const openText = open.map((s) => `${s.protocol} ${s.ports}`).join(' and ');
    const evidence =
      `${group.length} inbound attempts on ${openText} from ${listText(sources)}, ${secondsText(delays)} after ` +
      `${listText(devices)} connected to ${listText(remotes)} ${protocol} ${port}` +
      (contacted
        ? ''
        : `; ${sources.some((s) => remotes.includes(s)) ? 'some' : 'all'} from hosts not contacted`);
    const triggers = new Set(
      group.flatMap((x) => before(input.outbound, x.attempt, options.windowMs).map(keyOf)),
    ).size;
    proposals.push({
      rule,
      confidence: confidenceOf(group.length, contacted, triggers),
      evidence,
      attempts: group.length,
      sources,
      conflicts: conflictsWith(rule, input.rules ?? []),
    });
  }
  return proposals
    .sort((a, b) => RANK[a.confidence] - RANK[b.confidence] || b.attempts - a.attempts)
    .map((p, i) => ({ id: i + 1, ...p }));
}
