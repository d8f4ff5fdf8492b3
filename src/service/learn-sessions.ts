/**
 * Learning sessions: for one LAN device (or all) and a bounded time, the recorder marks its outbound connections
 * and the inbound attempts nothing forwarded; the session keeps them in memory and proposes rules from them.
 * One session at a time; the recording exists only while a session runs.
 */
import { canonicalAddress } from '../domain/address.js';
import { InvalidInputError, PorttriggerError } from '../domain/errors.js';
import type { ForeignRuleset } from '../domain/foreign-ruleset.js';
import { lanDeviceProblem } from '../domain/lan-device.js';
import {
  keptByLanScope,
  type LanScope,
  lanScopeNote,
  OUTSIDE_SOURCES_KEPT,
} from '../domain/learn/lan-scope.js';
import { analyseSession, type SessionAnalysis } from '../domain/learn/proposals.js';
import type { LearnRecorder, Recording, SeenConnection } from '../domain/learn/recorder.js';
import type { Config } from '../domain/types.js';
import type { ConfigChange } from './config-changes.js';
import { describeError, type ServiceContext } from './context.js';
import { type CheckedProposals, checkStaticForwards } from './learn-static-forwards.js';

/** Bounds of a session's length, in seconds. */
export const LEARN_DURATION = { min: 1, default: 300, max: 3600 } as const;
/** At most this many connections are kept per direction; more are counted as dropped. */
export const MAX_RECORDS = 10_000;
/** How many of the latest connections a status carries. */
export const RECENT = 50;

/** Why a session ended. */
export type LearnEndReason = 'stopped' | 'time-limit' | 'service-stopped' | 'failed';

/** The state of the learning sessions: none yet, one running, or the last one finished. */
export type LearnState = 'idle' | 'running' | 'finished';

/** A recorded connection with its number in the session, so that a live view can ask for what is new. */
export interface NumberedConnection extends SeenConnection {
  readonly seq: number;
}

/** What `GET /learn` reports; its LAN scope says which devices the session kept and what it ignored. */
export interface LearnStatus extends LanScope {
  readonly state: LearnState;
  /** The device watched; absent for every LAN host. */
  readonly host?: string;
  readonly startedAt?: number;
  /** When a running session ends by itself. */
  readonly endsAt?: number;
  readonly endedAt?: number;
  readonly endReason?: LearnEndReason;
  /** Why the recording failed, for `endReason: failed`. */
  readonly error?: string;
  readonly outbound: number;
  readonly inbound: number;
  /** Connections beyond {@link MAX_RECORDS}, not kept. */
  readonly dropped: number;
  /** The latest connections, oldest first. */
  readonly recent: readonly NumberedConnection[];
}

/** What starts a session. */
export interface LearnStart {
  readonly host?: string;
  readonly durationS?: number;
}

/** The learning sessions as the API and the panel see them. */
export interface Learning {
  /** Starts a session; LEARN_ACTIVE while one runs, LEARN_UNAVAILABLE without a recorder. */
  start(request: LearnStart): Promise<LearnStatus>;
  /** The current or last session; `after` keeps only connections numbered above it in `recent`. */
  status(after?: number): LearnStatus;
  /** Ends the running session (its recordings and proposals stay until the next one). */
  stop(): Promise<LearnStatus>;
  /** Every connection the current or last session recorded (what proposals are made from); empty before any. */
  facts(): { readonly outbound: readonly SeenConnection[]; readonly inbound: readonly SeenConnection[] };
  /**
   * The proposals from the current or last session's recordings, checked against the rules and the static
   * port forwards of other tools; LEARN_NOT_FOUND before any session.
   */
  proposals(): Promise<CheckedProposals>;
  /**
   * Adds proposal `id` as a rule through the normal config change; LEARN_NOT_FOUND if there is none, and
   * INVALID_INPUT for a low-confidence proposal unless `lowConfidence` confirms it.
   */
  apply(id: number, options?: ApplyOptions): Promise<ConfigChange>;
}

/** What applying a proposal confirms. */
export interface ApplyOptions {
  /** The user saw that the proposal has low confidence and applies it anyway. */
  readonly lowConfidence?: boolean;
}

interface Session {
  readonly host?: string;
  /** Read when the session started; undefined when the LAN interfaces' addresses were not known. */
  readonly lanSubnets: readonly string[] | undefined;
  outsideLan: number;
  readonly outsideLanSources: Set<string>;
  readonly startedAt: number;
  readonly endsAt: number;
  readonly outbound: NumberedConnection[];
  readonly inbound: NumberedConnection[];
  seq: number;
  dropped: number;
  recording?: Recording;
  timer?: NodeJS.Timeout;
  endedAt?: number;
  endReason?: LearnEndReason;
  error?: string;
  /** Set when the session starts to end: what arrives after is not recorded. */
  ending?: Promise<void>;
}

/** What a {@link LearnSessions} needs from the service. */
export interface LearnDeps {
  readonly recorder: LearnRecorder | undefined;
  readonly config: () => Config;
  readonly createRule: (input: unknown) => Promise<ConfigChange>;
  /** The whole ruleset, for other tools' static forwards; without it they are not checked. */
  readonly foreignRuleset?: ForeignRuleset;
  /**
   * The subnets of the LAN interfaces now; undefined (or empty) when they are not known. A session keeps only
   * devices inside them.
   */
  readonly lanSubnets?: () => readonly string[] | undefined;
}

function validHost(host: string | undefined, lanSubnets: readonly string[] | undefined): string | undefined {
  if (host === undefined) return undefined;
  const problem = lanDeviceProblem(host, lanSubnets);
  const canonical = canonicalAddress(host.trim());
  if (problem !== undefined || canonical === undefined) {
    throw new InvalidInputError('the device to learn from is not a LAN device address', [
      { path: ['host'], code: 'bad_address', message: problem ?? `"${host}" is not an IPv4 address` },
    ]);
  }
  return canonical;
}

function validDuration(durationS: number | undefined): number {
  const d = durationS ?? LEARN_DURATION.default;
  if (!Number.isInteger(d) || d < LEARN_DURATION.min || d > LEARN_DURATION.max) {
    throw new InvalidInputError('the duration of a learning session is out of range', [
      {
        path: ['durationS'],
        code: 'out_of_range',
        message: `durationS must be ${LEARN_DURATION.min}-${LEARN_DURATION.max} seconds`,
      },
    ]);
  }
  return d;
}

function scopeOf(s: Session | undefined): LanScope {
  return {
    ...(s?.lanSubnets !== undefined ? { lanSubnets: s.lanSubnets } : {}),
    outsideLan: s?.outsideLan ?? 0,
    outsideLanSources: [...(s?.outsideLanSources ?? [])],
  };
}

/** The learning sessions of a service. */
export class LearnSessions implements Learning {
  readonly #ctx: ServiceContext;
  readonly #deps: LearnDeps;
  #session: Session | undefined;
  #starting = false;

  constructor(ctx: ServiceContext, deps: LearnDeps) {
    this.#ctx = ctx;
    this.#deps = deps;
  }

  async start(request: LearnStart): Promise<LearnStatus> {
    const recorder = this.#deps.recorder;
    if (!recorder) {
      throw new PorttriggerError('LEARN_UNAVAILABLE', 'this datapath cannot record connections for learning');
    }
    if (this.#ctx.stopping()) throw new PorttriggerError('SERVICE_STOPPED', 'the service is stopping');
    const known = this.#deps.lanSubnets?.();
    const lanSubnets = known !== undefined && known.length > 0 ? [...known] : undefined;
    const host = validHost(request.host, lanSubnets);
    const durationS = validDuration(request.durationS);
    if (this.#starting || (this.#session && this.#session.endedAt === undefined)) {
      throw new PorttriggerError('LEARN_ACTIVE', 'a learning session is running: stop it first');
    }
    this.#starting = true;
    const now = this.#ctx.clock();
    const session: Session = {
      ...(host !== undefined ? { host } : {}),
      lanSubnets,
      outsideLan: 0,
      outsideLanSources: new Set(),
      startedAt: now,
      endsAt: now + durationS * 1000,
      outbound: [],
      inbound: [],
      seq: 0,
      dropped: 0,
    };
    try {
      session.recording = await recorder.start(
        host !== undefined ? { host } : {},
        (c) => this.#record(session, c),
        (error) => this.#ctx.log.warn('the learning recorder restarts', { error: error.message }),
      );
    } catch (error) {
      if (error instanceof PorttriggerError) throw error;
      throw new PorttriggerError('LEARN_UNAVAILABLE', `recording could not start: ${describeError(error)}`, {
        cause: error,
      });
    } finally {
      this.#starting = false;
    }
    if (this.#ctx.stopping()) {
      // The service began to stop while the recording started: it must not outlive the service.
      await session.recording.stop().catch(() => undefined);
      throw new PorttriggerError('SERVICE_STOPPED', 'the service is stopping');
    }
    this.#session = session;
    session.timer = setTimeout(() => void this.#end(session, 'time-limit'), durationS * 1000);
    session.timer.unref();
    this.#ctx.log.info('learning started', {
      host: host ?? 'every LAN host',
      durationS,
      lanSubnets: lanSubnets?.join(', ') ?? 'unknown',
    });
    return this.status();
  }

  #record(session: Session, c: SeenConnection): void {
    if (session.ending !== undefined) return;
    if (!keptByLanScope(c, session.lanSubnets)) {
      session.outsideLan++;
      if (session.outsideLanSources.size < OUTSIDE_SOURCES_KEPT) session.outsideLanSources.add(c.source);
      return;
    }
    const list = c.direction === 'inbound' ? session.inbound : session.outbound;
    if (list.length >= MAX_RECORDS) {
      session.dropped++;
      return;
    }
    list.push({ ...c, seq: ++session.seq });
  }

  status(after = 0): LearnStatus {
    const s = this.#session;
    if (!s) return { state: 'idle', outbound: 0, inbound: 0, dropped: 0, recent: [], ...scopeOf(undefined) };
    const recent = [...s.outbound.slice(-RECENT), ...s.inbound.slice(-RECENT)]
      .filter((c) => c.seq > after)
      .sort((a, b) => a.seq - b.seq)
      .slice(-RECENT);
    return {
      state: s.endedAt === undefined ? 'running' : 'finished',
      ...(s.host !== undefined ? { host: s.host } : {}),
      startedAt: s.startedAt,
      ...(s.endedAt === undefined ? { endsAt: s.endsAt } : { endedAt: s.endedAt }),
      ...(s.endReason ? { endReason: s.endReason } : {}),
      ...(s.error ? { error: s.error } : {}),
      outbound: s.outbound.length,
      inbound: s.inbound.length,
      dropped: s.dropped,
      recent,
      ...scopeOf(s),
    };
  }

  async stop(): Promise<LearnStatus> {
    const s = this.#session;
    if (s) await this.#end(s, 'stopped');
    return this.status();
  }

  facts(): { readonly outbound: readonly SeenConnection[]; readonly inbound: readonly SeenConnection[] } {
    const s = this.#session;
    const plain = (list: readonly NumberedConnection[]) => list.map(({ seq: _, ...c }) => c);
    return s ? { outbound: plain(s.outbound), inbound: plain(s.inbound) } : { outbound: [], inbound: [] };
  }

  async proposals(): Promise<CheckedProposals> {
    const analysis = this.#analyse();
    const checked = await checkStaticForwards(analysis.proposals, this.#deps.foreignRuleset);
    const scope = this.#session ? lanScopeNote(scopeOf(this.#session)) : undefined;
    return {
      proposals: checked.proposals,
      notes: [...(scope ? [scope] : []), ...analysis.notes, ...checked.notes],
    };
  }

  #analyse(): SessionAnalysis {
    const s = this.#session;
    if (!s) throw new PorttriggerError('LEARN_NOT_FOUND', 'no learning session has run yet');
    return analyseSession({ outbound: s.outbound, inbound: s.inbound, rules: this.#deps.config().rules });
  }

  async apply(id: number, options: ApplyOptions = {}): Promise<ConfigChange> {
    // The ids do not depend on the check of static forwards: it only adds conflicts.
    const proposal = this.#analyse().proposals.find((p) => p.id === id);
    if (!proposal) throw new PorttriggerError('LEARN_NOT_FOUND', `no proposal number ${id}`);
    if (proposal.confidence === 'low' && options.lowConfidence !== true) {
      throw new InvalidInputError(`proposal ${id} has low confidence: confirm it to apply it`, [
        {
          path: ['lowConfidence'],
          code: 'confirmation_required',
          message: `${proposal.confidenceReason}; apply it only with lowConfidence: true (porttrigger learn --apply ${id} --low-confidence)`,
        },
      ]);
    }
    const change = await this.#deps.createRule(proposal.rule);
    this.#ctx.log.info('learned rule added', { rule: proposal.rule.name, evidence: proposal.evidence });
    return change;
  }

  /** Ends the running session as the service stops; the recording rule goes with it. */
  async close(): Promise<void> {
    const s = this.#session;
    if (s) await this.#end(s, 'service-stopped');
  }

  #end(session: Session, reason: LearnEndReason): Promise<void> {
    session.ending ??= (async () => {
      if (session.timer) clearTimeout(session.timer);
      const endedAt = this.#ctx.clock();
      // Finished only once the recording rule and its listener are gone.
      try {
        await session.recording?.stop();
        session.endReason = reason;
      } catch (error) {
        session.endReason = 'failed';
        session.error = `the recording could not be removed: ${describeError(error)}`;
        this.#ctx.log.error('removing the learning recording failed', { error });
      }
      session.endedAt = endedAt;
      this.#ctx.log.info('learning ended', {
        reason,
        outbound: session.outbound.length,
        inbound: session.inbound.length,
      });
    })();
    return session.ending;
  }
}
