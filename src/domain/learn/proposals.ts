/**
 * From what a learning session saw to proposed rules. Scans, sweeps and knocks on well-known services are set
 * aside first; the remaining inbound attempts are grouped by the ports they aim at (across sources, so a swarm
 * with one try per peer counts), and each group gets the outbound connection that explains it best as its
 * trigger: causality, not frequency. Pure.
 */
import { LIMITS } from '../config.js';
import { formatPortList, rangesByProtocol, rangesOverlap } from '../ports.js';
import type { Protocol, RemotePolicy, Rule } from '../types.js';
import { findScanners, infrastructureOf, isServiceKnock, SCAN_DEFAULTS, type Scanner } from './noise.js';
import type { SeenConnection } from './recorder.js';
import { contiguousRanges, widenPorts } from './widen.js';

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
  /** Why this level, in words. */
  readonly confidenceReason: string;
  /** In words: what was seen, from whom, how long after which outbound connection. */
  readonly evidence: string;
  /** Why this trigger, and why the open ports are wider than those tried (one line each). */
  readonly reasons: readonly string[];
  readonly attempts: number;
  /** The WAN hosts the attempts came from. */
  readonly sources: readonly string[];
  /** Existing rules this one would clash with, in words. */
  readonly conflicts: readonly string[];
}

/** Tuning of {@link analyseSession}; the defaults are what the service uses. */
export interface ProposalOptions {
  /** An inbound attempt belongs to outbound connections at most this long before it. */
  readonly windowMs: number;
  /** Attempted ports this close are one group (games use a range; a session sees part of it). */
  readonly portGap: number;
  /** Fewer attempts than this are a stray, not an application. */
  readonly minAttempts: number;
  /** Distinct ports from one source within `scanBurstMs` that make it a scanner. */
  readonly scanBurstPorts: number;
  readonly scanBurstMs: number;
  /** Distinct ports from one source over the session that make it a scanner. */
  readonly scanSessionPorts: number;
}

/** The defaults of {@link ProposalOptions}. */
export const PROPOSAL_DEFAULTS: ProposalOptions = {
  windowMs: 300_000,
  portGap: 16,
  minAttempts: 2,
  scanBurstPorts: SCAN_DEFAULTS.burstPorts,
  scanBurstMs: SCAN_DEFAULTS.burstMs,
  scanSessionPorts: SCAN_DEFAULTS.sessionPorts,
};

/** The proposals of a session and what was set aside, in words. */
export interface SessionAnalysis {
  readonly proposals: readonly LearnProposal[];
  /** What was not proposed and why; what the user should do (restart the application). */
  readonly notes: readonly string[];
  /** The sources taken for scanners. */
  readonly scanners: readonly Scanner[];
}

/** What a session's analysis reads. */
export interface SessionFacts {
  readonly outbound: readonly SeenConnection[];
  readonly inbound: readonly SeenConnection[];
  /** The running config's rules, for conflicts. */
  readonly rules?: readonly Rule[];
  readonly options?: Partial<ProposalOptions>;
}

type Key = string;
const keyOf = (c: Pick<SeenConnection, 'protocol' | 'port'>): Key => `${c.protocol} ${c.port}`;

/** How one outbound service explains a group of attempts. */
interface Candidate {
  readonly key: Key;
  readonly protocol: Protocol;
  readonly port: number;
  /** The attempts that came after a connection to it (within the window, or while one opened before the session was alive). */
  readonly explained: readonly SeenConnection[];
  /** The attempts whose source is a remote the device reached on it. */
  readonly direct: readonly SeenConnection[];
  /** Remotes reached on it that then called in themselves. */
  readonly callingRemotes: number;
  /** DNS, NTP, web...: infrastructure every device uses. */
  readonly infrastructure?: string;
  /** The device connects out to the very ports it is called on: peer traffic of the application, not its rendezvous. */
  readonly symmetric: boolean;
  /**
   * Udp between the ports the attempts aim at (or their neighbours) and a remote that called them: the
   * application's media itself (a phone's RTP to its provider), whose remote port changes with every call.
   */
  readonly fromCalledPorts: boolean;
  /** Only connections open before the session explain the attempts. */
  readonly existingOnly: boolean;
  /** From the latest connection to it to the first attempt it explains. */
  readonly leadMs: number;
}

function explains(o: SeenConnection, a: SeenConnection, windowMs: number): boolean {
  if (o.family !== a.family) return false;
  if (o.existing) return true;
  return o.at <= a.at && a.at - o.at <= windowMs;
}

/** Attempts grouped by the ports they aim at: neighbours at most `gap` apart, tcp and udp together. */
function portGroups(attempts: readonly SeenConnection[], gap: number): SeenConnection[][] {
  const sorted = [...attempts].sort((a, b) => a.port - b.port || a.at - b.at);
  const out: SeenConnection[][] = [];
  for (const a of sorted) {
    const last = out[out.length - 1];
    const prev = last?.[last.length - 1];
    if (last && prev && a.port - prev.port <= gap) last.push(a);
    else out.push([a]);
  }
  return out;
}

function candidatesFor(
  group: readonly SeenConnection[],
  outbound: readonly SeenConnection[],
  windowMs: number,
  gap: number,
): Candidate[] {
  const tried = new Set(group.map((a) => a.port));
  const lowest = Math.min(...tried) - gap;
  const highest = Math.max(...tried) + gap;
  // Only udp: a tcp client connects from an ephemeral port, which may fall near the attempts by chance.
  const fromCalled = (o: SeenConnection) =>
    o.protocol === 'udp' && o.sourcePort >= lowest && o.sourcePort <= highest;
  const byKey = new Map<Key, SeenConnection[]>();
  for (const o of outbound) byKey.set(keyOf(o), [...(byKey.get(keyOf(o)) ?? []), o]);
  const out: Candidate[] = [];
  for (const [key, conns] of byKey) {
    const first = conns[0];
    if (!first) continue;
    const explained: SeenConnection[] = [];
    const direct: SeenConnection[] = [];
    const calling = new Set<string>();
    let leadMs = Number.POSITIVE_INFINITY;
    let onlyExisting = true;
    for (const a of group) {
      const prior = conns.filter((o) => explains(o, a, windowMs));
      if (prior.length === 0) continue;
      explained.push(a);
      if (prior.some((o) => !o.existing)) onlyExisting = false;
      const reached = prior.find((o) => o.destination === a.source);
      if (reached) {
        direct.push(a);
        calling.add(reached.destination);
      }
      if (explained.length === 1) leadMs = Math.max(0, a.at - Math.max(...prior.map((o) => o.at)));
    }
    if (explained.length === 0) continue;
    const infrastructure = infrastructureOf(first);
    out.push({
      key,
      protocol: first.protocol,
      port: first.port,
      explained,
      direct,
      callingRemotes: calling.size,
      ...(infrastructure ? { infrastructure } : {}),
      symmetric: tried.has(first.port),
      fromCalledPorts: direct.length > 0 && conns.every(fromCalled),
      existingOnly: onlyExisting,
      leadMs,
    });
  }
  return out;
}

/** 0 is best: a server that called back on every attempt; then services that precede them; peers and infrastructure last. */
function tier(c: Candidate): number {
  // A call's media flows outlive it in the connection tracker, as old as the signalling at a session's start.
  if (c.symmetric || c.fromCalledPorts) return 4;
  if (c.infrastructure) return 3;
  if (c.direct.length === c.explained.length) return 0;
  if (c.direct.length === 0) return 1;
  // Some of the callers were reached on it, most were not: peers of a swarm, which a rendezvous announced.
  const sources = new Set(c.explained.map((a) => a.source)).size;
  if (c.callingRemotes > 1 || c.callingRemotes * 2 < sources) return 2;
  return 1;
}

function compareCandidates(x: Candidate, y: Candidate): number {
  return (
    tier(x) - tier(y) ||
    y.explained.length - x.explained.length ||
    y.direct.length - x.direct.length ||
    x.leadMs - y.leadMs ||
    x.key.localeCompare(y.key)
  );
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

function listText(items: readonly string[], shown = 1): string {
  if (items.length <= 2) return items.join(' and ');
  if (items.length <= shown + 1) return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
  return `${items.slice(0, shown).join(', ')} and ${items.length - shown} others`;
}

function portsText(attempts: readonly SeenConnection[], gap: number): string {
  return (['tcp', 'udp'] as const)
    .map((p) => ({
      p,
      r: contiguousRanges(
        attempts.filter((a) => a.protocol === p).map((a) => a.port),
        gap,
      ),
    }))
    .filter((x) => x.r.length > 0)
    .map((x) => `${x.p} ${formatPortList(x.r)}`)
    .join(' and ');
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

function confidenceOf(
  chosen: Candidate,
  rivals: readonly Candidate[],
  attempts: readonly SeenConnection[],
): { confidence: Confidence; reason: string } {
  const sources = new Set(attempts.map((a) => a.source)).size;
  const contacted = chosen.direct.length === attempts.length;
  if (chosen.fromCalledPorts && !chosen.symmetric) {
    return {
      confidence: 'low',
      reason: `low: the only outbound connections before the attempts (${chosen.key}) were the application's own media with the host that called, from the ports it called; its port changes with every call`,
    };
  }
  if (chosen.symmetric) {
    return {
      confidence: 'low',
      reason: `low: the only outbound connections before the attempts went to the same ports they aim at (${chosen.key}), which is the application's own peer traffic rather than what announced the device`,
    };
  }
  if (chosen.infrastructure) {
    return {
      confidence: 'low',
      reason: `low: only ${chosen.infrastructure} traffic (${chosen.key}) came before the attempts; every device makes it all day, so it is a trigger only because nothing else explains them`,
    };
  }
  if (!contacted && sources === 1 && attempts.length < 3) {
    return {
      confidence: 'low',
      reason: `low: ${attempts.length} attempts from one host the device did not contact on ${chosen.key}`,
    };
  }
  const rival = rivals.find(
    (r) => tier(r) === tier(chosen) && r.explained.length === chosen.explained.length,
  );
  if (rival) {
    return {
      confidence: 'medium',
      reason: `medium: ${rival.key} came before the attempts as well and explains them as well as ${chosen.key} does`,
    };
  }
  if (chosen.existingOnly) {
    return {
      confidence: 'medium',
      reason: `medium: the connection on ${chosen.key} was open before learning started, so its timing cannot be checked; restart the application while learning to confirm`,
    };
  }
  if (contacted && attempts.length >= 3) {
    return {
      confidence: 'high',
      reason: `high: the remote the device reached on ${chosen.key} called back ${attempts.length} times, and no other outbound connection explains the attempts as well`,
    };
  }
  if (sources >= 3) {
    return {
      confidence: 'high',
      reason: `high: ${sources} hosts tried after the device reached ${chosen.key}, and no other outbound connection explains the attempts as well`,
    };
  }
  return {
    confidence: 'medium',
    reason: contacted
      ? `medium: the remote reached on ${chosen.key} called back, but only ${attempts.length} times`
      : `medium: ${attempts.length} attempts from ${sources} host${sources === 1 ? '' : 's'} after ${chosen.key}, none from a remote the device reached on it`,
  };
}

function triggerReason(chosen: Candidate, rivals: readonly Candidate[]): string {
  const why =
    chosen.direct.length === chosen.explained.length
      ? `the attempts came from the remote${chosen.callingRemotes > 1 ? 's' : ''} the device reached on ${chosen.key}`
      : `${chosen.key} came before every attempt${chosen.existingOnly ? ' (a connection open before learning started)' : ''}`;
  const passed = rivals
    .filter((r) => tier(r) > tier(chosen))
    .map((r) =>
      r.symmetric
        ? `${r.key} (the ports called on themselves)`
        : r.fromCalledPorts
          ? `${r.key} (sent from the ports called: the application's own media)`
          : r.infrastructure
            ? `${r.key} (${r.infrastructure})`
            : r.direct.length === 0
              ? // e.g. a STUN lookup just before a call: it came first, but nobody it reached called.
                `${r.key} (came before, but no host reached on it called)`
              : `${r.key} (peers that also called)`,
    );
  return `trigger ${chosen.key}: ${why}${passed.length > 0 ? `; not ${listText([...new Set(passed)], 4)}` : ''}`;
}

interface Built extends Omit<LearnProposal, 'id'> {
  readonly existingOnly: boolean;
}

function buildProposal(
  chosen: Candidate,
  rivals: readonly Candidate[],
  attempts: readonly SeenConnection[],
  outbound: readonly SeenConnection[],
  options: ProposalOptions,
  rules: readonly Rule[],
): Built {
  const contacted = chosen.direct.length === attempts.length;
  const reasons = [triggerReason(chosen, rivals)];
  const open: { protocol: Protocol; ports: string }[] = [];
  let presetName: string | undefined;
  for (const p of ['tcp', 'udp'] as const) {
    const ports = attempts.filter((a) => a.protocol === p).map((a) => a.port);
    if (ports.length === 0) continue;
    const widened = widenPorts(chosen, p, ports, options.portGap);
    open.push({ protocol: p, ports: formatPortList(widened.ranges) });
    reasons.push(...widened.reasons);
    presetName ??= widened.preset?.name;
  }
  const triggers = outbound.filter((o) => keyOf(o) === chosen.key);
  const delays = attempts.map((a) => {
    const prior = triggers.filter((o) => explains(o, a, options.windowMs)).map((o) => o.at);
    return Math.max(0, a.at - Math.max(...prior));
  });
  const times = attempts.map((a) => a.at).sort((a, b) => a - b);
  const gaps = [...delays, ...times.slice(1).map((t, i) => t - (times[i] ?? t))];
  const rule: ProposedRule = {
    name: `Learned ${chosen.key}${contacted ? '' : ' from any host'}`,
    trigger: [{ protocol: chosen.protocol, ports: String(chosen.port) }],
    open,
    remote: contacted ? 'contacted' : 'any',
    idleTimeout: idleTimeoutFor(gaps),
  };
  const sources = [...new Set(attempts.map((a) => a.source))].sort();
  const used = triggers.filter((o) => attempts.some((a) => explains(o, a, options.windowMs)));
  const devices = [...new Set(used.map((o) => o.source))].sort();
  const remotes = [...new Set(used.map((o) => o.destination))].sort();
  const evidence =
    `${attempts.length} inbound attempts on ${portsText(attempts, options.portGap)} from ${listText(sources)}, ` +
    `${secondsText(delays)} after ${listText(devices)} connected to ${listText(remotes)} ${chosen.key}` +
    (contacted
      ? ''
      : `; ${sources.some((s) => remotes.includes(s)) ? 'some' : 'all'} from hosts not contacted`);
  if (presetName) reasons.push(`this is how the preset "${presetName}" is set up`);
  const { confidence, reason } = confidenceOf(chosen, rivals, attempts);
  return {
    rule,
    confidence,
    confidenceReason: reason,
    evidence,
    reasons,
    attempts: attempts.length,
    sources,
    conflicts: conflictsWith(rule, rules),
    existingOnly: chosen.existingOnly,
  };
}

const RANK: Record<Confidence, number> = { high: 0, medium: 1, low: 2 };

/**
 * The rules a session's recordings suggest, most certain first, with notes on what was set aside.
 * @example analyseSession({ outbound, inbound, rules: config.rules }).proposals[0]?.rule
 */
export function analyseSession(input: SessionFacts): SessionAnalysis {
  const options = { ...PROPOSAL_DEFAULTS, ...input.options };
  const contactedEver = new Set(input.outbound.map((o) => o.destination));
  const scanners = findScanners(input.inbound, contactedEver, {
    burstPorts: options.scanBurstPorts,
    burstMs: options.scanBurstMs,
    sessionPorts: options.scanSessionPorts,
    portGap: options.portGap,
  });
  const scanning = new Set(scanners.map((s) => s.source));
  const reachedBefore = (a: SeenConnection) =>
    input.outbound.some((o) => o.destination === a.source && explains(o, a, options.windowMs));
  let knocks = 0;
  const kept: SeenConnection[] = [];
  for (const a of input.inbound) {
    if (scanning.has(a.source)) continue;
    if (!reachedBefore(a) && isServiceKnock(a)) knocks++;
    else kept.push(a);
  }

  const built: Built[] = [];
  const unexplained: SeenConnection[] = [];
  let strays = 0;
  // A group's attempts that its trigger does not explain are looked at again on their own, a bounded number of times.
  const queue = portGroups(kept, options.portGap);
  for (let rounds = 0; queue.length > 0 && rounds < 1000; rounds++) {
    const group = queue.shift() ?? [];
    const candidates = candidatesFor(group, input.outbound, options.windowMs, options.portGap).sort(
      compareCandidates,
    );
    let chosen = candidates[0];
    if (!chosen) {
      unexplained.push(...group);
      continue;
    }
    const explainedAll = chosen.explained;
    const rest = group.filter((a) => !explainedAll.includes(a));
    let attempts = explainedAll;
    // A server that called back, plus a stray try or two from elsewhere: the server's callbacks are the rule.
    const direct = chosen.direct;
    const others = attempts.filter((a) => !direct.includes(a));
    if (tier(chosen) === 1 && direct.length > 0 && others.length < options.minAttempts) {
      strays += others.length;
      attempts = direct;
      chosen = { ...chosen, explained: attempts };
    }
    if (rest.length > 0) queue.push(rest);
    if (attempts.length < options.minAttempts) {
      strays += attempts.length;
      continue;
    }
    built.push(
      buildProposal(chosen, candidates.slice(1), attempts, input.outbound, options, input.rules ?? []),
    );
  }

  const sorted = built.sort((a, b) => RANK[a.confidence] - RANK[b.confidence] || b.attempts - a.attempts);
  const proposals = sorted.map(({ existingOnly: _, ...p }, i) => ({ id: i + 1, ...p }));
  const notes: string[] = [];
  for (const s of scanners) {
    notes.push(
      `${s.source} scanned the gateway (${s.ports} ports: ${s.why}): its ${s.attempts} attempts propose nothing`,
    );
  }
  if (knocks > 0) {
    notes.push(
      `${knocks} attempt${knocks === 1 ? '' : 's'} on well-known or commonly attacked ports from hosts the device did not contact propose nothing`,
    );
  }
  if (unexplained.length >= options.minAttempts) {
    notes.push(
      `${unexplained.length} inbound attempts on ${portsText(unexplained, options.portGap)} followed no outbound connection of the device seen: if the application was already running, restart it while learning so that its pattern shows`,
    );
  }
  sorted.forEach((p, i) => {
    if (p.existingOnly) {
      notes.push(
        `proposal ${i + 1} rests on a connection that was open before learning started: restart the application while learning to see its pattern from the start`,
      );
    }
  });
  if (strays > 0 && proposals.length === 0) {
    notes.push(
      `${strays} single attempt${strays === 1 ? '' : 's'} on separate ports: too few to propose a rule`,
    );
  }
  return { proposals, notes, scanners };
}

/**
 * The rules a session's recordings suggest, most certain first; see {@link analyseSession} for the notes.
 * @example proposeRules({ outbound, inbound, rules: config.rules })
 */
export function proposeRules(input: SessionFacts): LearnProposal[] {
  return [...analyseSession(input).proposals];
}
