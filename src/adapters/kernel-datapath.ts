import { setTimeout as delay } from 'node:timers/promises';
import { canonicalAddress } from '../domain/address.js';
import type {
  ApplyOptions,
  ApplyReport,
  Datapath,
  DatapathReading,
  ReadOptions,
  ReadScope,
  ReleaseSelector,
} from '../domain/datapath.js';
import { PorttriggerError } from '../domain/errors.js';
import type { LearnCapture } from '../domain/learn/recorder.js';
import { portInRanges } from '../domain/ports.js';
import type { PreparedApply } from '../domain/programs.js';
import { SerialQueue } from '../domain/serial-queue.js';
import type { Config, ConflictRecord, TriggerEntry, TriggerTable } from '../domain/types.js';
import { TABLE_NAME } from '../domain/types.js';
import { placeKey, planAdoptions } from '../nft/adoption.js';
import { connectionRole } from '../nft/conntrack-state.js';
import { findInconsistencies, planRepair } from '../nft/consistency.js';
import { renderDelta } from '../nft/delta.js';
import { parseElementExpiries } from '../nft/element-expiry.js';
import { CT_MARK } from '../nft/marks.js';
import type { Plan } from '../nft/plan.js';
import { planConfig, SHARED_SET_NAMES, sharedSetName } from '../nft/plan.js';
import { patchPlan, rulesToAdopt } from '../nft/plan-patch.js';
import { quietEntrySets } from '../nft/quiet-entry-sets.js';
import { readBackSetNames, readTriggerTable } from '../nft/read-back.js';
import { entriesFromConnections, entryKey, planRefresh } from '../nft/refresh.js';
import {
  kernelDispatchMaps,
  renderApplyScript,
  renderElementScript,
  renderRemoveScript,
} from '../nft/render.js';
import { entryExpiryElements, planEntryChanges, releaseElements, withElementChanges } from '../nft/seeds.js';
import type { KernelState } from '../nft/state.js';
import { mergeSetListings, parseKernelState } from '../nft/state.js';
import { renderSwitchDelta } from '../nft/switch-delta.js';
import { tableObjects } from '../nft/table-size.js';
import type { ConntrackRunner } from './conntrack.js';
import { createConntrackRunner } from './conntrack.js';
import type { KeeperRound } from './entry-keeper.js';
import { EntryKeeper } from './entry-keeper.js';
import type { NftRunner, NftRunnerOptions } from './nft.js';
import { createNftRunner, NftError } from './nft.js';
import type { SetReader } from './set-reader.js';
import { BUILT_SET_READER, createSetReader, SetReaderError } from './set-reader.js';

/** Options for {@link KernelDatapath}. */
export interface KernelDatapathOptions {
  readonly nft: NftRunner;
  readonly clock?: () => number;
  /**
   * The connection tracker. With it, traffic of an entry's connections keeps the entry open (docs/semantics.md,
   * 4); without it, an entry closes idleTimeout after its last new connection.
   */
  readonly conntrack?: ConntrackRunner;
  /** A failed background refresh (the keeper retries); it is reported, never thrown. */
  readonly onRefreshError?: (error: unknown) => void;
  /**
   * A live trigger connection took a rule outside any call (an entry ended and a contender took its place):
   * whoever shows the table reads it again. Applies and releases report theirs by resolving.
   */
  readonly onTakeover?: () => void;
  /**
   * From how many elements (seen at the last read) a read lists only the sets read-back needs, one nft call
   * each, instead of all sets in one call. Default {@link PER_SET_READ_FROM}.
   */
  readonly perSetReadFrom?: number;
  /** Reads the entry sets over netlink (native/set-reader); without it, or once it failed, nft lists them. */
  readonly setReader?: SetReader;
  /** The set reader is missing or failed: told once, the reads go on with nft (slower for a large table). */
  readonly onSetReaderFault?: (error: unknown) => void;
}

/** The sets (not maps) whose elements one listing of every set has: what the set reader lists for a small table. */
const ENTRY_LISTING_SETS = SHARED_SET_NAMES.filter((n) => !/^r?target4_/.test(n));

/**
 * Below this many elements one listing of every set is cheapest (one process); above it the elements
 * dominate, and listing only the sets read-back needs reads a third of them.
 */
export const PER_SET_READ_FROM = 3_000;

/**
 * A refresh runs this long before the earliest expiry, so that a slow round still lands in time; for short idle
 * timeouts half of it, so that rounds never run back to back.
 */
const CHECK_AHEAD_MS = 2_000;
/** The shortest pause while no entry is open: rounds of a quiet table must not keep the machine busy. */
const MIN_IDLE_PAUSE_MS = 1_000;
/**
 * The longest pause between refreshes, so that a quiet table is still looked at now and then. Correctness does
 * not need it: a round runs before the earliest expiry, every new entry expires at least the shortest idle
 * timeout later, and the reads that see one bring the round forward.
 */
const MAX_PAUSE_MS = 600_000;

/** How often the end of an entry is looked for once read-back says it is due, when nft cannot list text. */
const END_POLL_MS = 25;
/**
 * How long before an entry's end (as read-back shows it, whole seconds rounded down) its exact end is read:
 * time for that listing and the listing of the live connections to be done when it comes.
 */
const END_LEAD_MS = 1_500;
/**
 * How long before an entry's exact end the live connections are listed and nft is started, so that both are
 * ready when it comes (a listing a second old still tells last packets to the second, as the tracker does).
 */
const LIST_AHEAD_MS = 1_000;
/** How long before an entry's exact end the handover waits in the queue (other rounds then wait for it). */
const QUEUE_AHEAD_MS = 100;
/** Past the exact end: the kernel counts element timeouts in jiffies. */
const END_SLACK_MS = 2;
/** Exact reads and takeover tries per end: one more after a clash (a refresh came first, or a new claim). */
const END_TRIES = 3;
/** How long past its due time an entry's end is looked for: read-back rounds down to the second. */
const END_WATCH_MS = 2_500;
/** How old a listing of the entry sets a change may use instead of listing them again. */
const REUSE_ENTRY_SETS_MS = 1_000;
/** A listing of live connections older than this is taken again while an end is watched. */
const LIVE_LISTING_MAX_AGE_MS = 300;

/** Every tracked connection, the tracker's timeouts and the LAN networks, as listed at `at`. */
interface LiveListing {
  readonly at: number;
  readonly connections: Awaited<ReturnType<ConntrackRunner['listAll']>>;
  readonly timeouts: Awaited<ReturnType<ConntrackRunner['timeouts']>>;
  readonly lan: Awaited<ReturnType<ConntrackRunner['lanPrefixes']>>;
}

/** What one refresh from the connection tracker did. */
export interface RefreshReport extends KeeperRound {
  readonly entries: number;
  readonly connections: number;
  readonly extended: number;
}

// An element may expire between the read and the transaction that deletes it, which fails the whole
// transaction: such a transaction is read again and retried.
const ATTEMPTS = 3;

function vanished(error: unknown): boolean {
  return error instanceof NftError && /No such file or directory/.test(error.message);
}

/** An element add met a live element of the same key with another value: the table changed since the read. */
function clashed(error: unknown): boolean {
  return error instanceof NftError && /File exists/.test(error.message);
}

/** The keys of the entries whose expiry as the refresh last set it (`extended`) is later than `by`. */
function movedEnds(
  entries: readonly TriggerEntry[],
  extended: ReadonlyMap<string, number>,
  by: number,
): Set<string> {
  return new Set(entries.map(entryKey).filter((key) => (extended.get(key) ?? 0) > by));
}

/** Whether a listing of our table has a rule in `chain`. */
function hasRule(doc: unknown, chain: string): boolean {
  const list = (doc as { nftables?: unknown[] }).nftables ?? [];
  return list.some((o) => (o as { rule?: { chain?: string } }).rule?.chain === chain);
}

/**
 * The dispatch maps whose elements are not what the plan put there (another tool flushed or edited one): the
 * sets and chains would look intact while no trigger or inbound connection reaches a rule.
 */
function dispatchProblems(plan: Plan, doc: unknown): string[] {
  const list = (doc as { nftables?: { map?: { name?: string; elem?: unknown[] } }[] }).nftables ?? [];
  const counts = new Map(list.filter((o) => o.map).map((o) => [o.map?.name, o.map?.elem?.length ?? 0]));
  return kernelDispatchMaps(plan)
    .map(({ name, elements }) => ({ name, planned: elements.length }))
    .filter(({ name, planned }) => counts.get(name) !== planned)
    .map(({ name, planned }) => `dispatch map ${name}: ${counts.get(name) ?? 0} of ${planned} elements`);
}

/** The nftables implementation of the {@link Datapath} port: the kernel does the packet work. */
export class KernelDatapath implements Datapath {
  readonly #nft: NftRunner;
  readonly #clock: () => number;
  #plan: Plan | undefined;
  #lastApply: 'full' | 'change' | undefined;
  /**
   * The entry sets as the last `entries` read listed them at `at` (`after`: with a change's own element
   * operations applied, at `usedAt`), until our next other write.
   */
  #entrySets:
    | { readonly at: number; readonly usedAt: number; readonly state: KernelState; readonly after: boolean }
    | undefined;
  /** A learning session's recording: part of every apply while it is set. */
  #capture: LearnCapture | undefined;
  readonly #conntrack: ConntrackRunner | undefined;
  readonly #onRefreshError: ((error: unknown) => void) | undefined;
  readonly #keeper: EntryKeeper | undefined;
  /** The expiries the last refreshes set, to the millisecond: read-back only has whole seconds. */
  #extended = new Map<string, number>();
  // Applies, releases, refreshes and removals run one at a time, in call order.
  readonly #queue = new SerialQueue();
  readonly #perSetReadFrom: number;
  /** Elements of our sets at the last read: picks how the next read lists them. */
  #lastElements = 0;
  /** Entries at the last read; until a first read, unknown. */
  #lastEntries: number | undefined;
  /** The table of the last read: the entries whose end is watched. */
  #lastTable: TriggerTable | undefined;
  readonly #onTakeover: (() => void) | undefined;
  #setReader: SetReader | undefined;
  readonly #onSetReaderFault: ((error: unknown) => void) | undefined;
  /** The watch for the next end of an entry, when a contender may take its place (docs/semantics.md, 5). */
  #endTimer: NodeJS.Timeout | undefined;
  #endAt = Number.POSITIVE_INFINITY;
  #ending = false;
  #closed = false;
  /** The holder each conflict record had when first read, kept while the record is (docs/semantics.md). */
  #conflictHolders = new Map<string, { holder: string; at: number }>();

  constructor(options: KernelDatapathOptions) {
    this.#nft = options.nft;
    this.#clock = options.clock ?? Date.now;
    this.#conntrack = options.conntrack;
    this.#onRefreshError = options.onRefreshError;
    this.#onTakeover = options.onTakeover;
    this.#perSetReadFrom = options.perSetReadFrom ?? PER_SET_READ_FROM;
    this.#setReader = options.setReader;
    this.#onSetReaderFault = options.onSetReaderFault;
    this.#keeper = options.conntrack
      ? new EntryKeeper({
          refresh: () => this.refreshFromConntrack(),
          clock: this.#clock,
          ...(options.onRefreshError ? { onError: options.onRefreshError } : {}),
        })
      : undefined;
  }

  /** Reads our table in one listing: sets and target maps with elements, map and chain names. */
  async readState(): Promise<KernelState> {
    return parseKernelState(await this.#listTable());
  }

  async #listTable(): Promise<{ sets: unknown; maps: unknown; chains: unknown } | null> {
    const doc = await this.#nft.listJson(['list', 'table', 'inet', TABLE_NAME]);
    return doc === null ? null : { sets: doc, maps: doc, chains: doc };
  }

  /**
   * Applies a config. `remembered` is a trigger table read earlier: entries of it whose sets the kernel lost
   * (another tool flushed the ruleset) are seeded back with their remaining time.
   */
  apply(config: Config, remembered?: TriggerTable, options: ApplyOptions = {}): Promise<ApplyReport> {
    return this.#queue.run(async () => {
      if (options.change && remembered === undefined) {
        const report = await this.#applyChange(config, options.quietSince);
        if (report) return report;
      }
      return this.#applyNow(config, remembered);
    });
  }

  /** Every write to the kernel: our own writes make the last listing of the entry sets stale. */
  #write(script: string): Promise<void> {
    this.#entrySets = undefined;
    return this.#nft.apply(script);
  }

  /** How the last apply went: `change` when it was a delta, for the metrics and the tests. */
  get lastApply(): 'full' | 'change' | undefined {
    return this.#lastApply;
  }

  /**
   * One change as a delta of the plan the kernel holds (docs/architecture.md): reads only the sets that hold
   * entries, then one transaction of the changed chains, dispatch elements and the entries the change closes.
   * Undefined when a full apply is needed: the base chains change (other than by the switch, the first rule or
   * the last one gone), or nft refused the delta (the kernel is not what the last apply left: the full apply
   * reads it and puts it right).
   */
  async #applyChange(config: Config, quietSince?: number): Promise<ApplyReport | undefined> {
    const before = this.#plan;
    if (!before || this.#closed) return undefined;
    // Only the changed rules are planned (plan-patch.ts); the whole config when the patch cannot say.
    const planned = patchPlan(before, config) ?? planConfig(config);
    const plan = this.#capture ? { ...planned, learn: this.#capture } : planned;
    this.#expectSize(plan);
    for (let attempt = 1; ; attempt++) {
      const listed = await this.#entryState(plan, attempt === 1 ? quietSince : null);
      if (!listed) return undefined;
      const { state } = listed;
      const changes = planEntryChanges(plan, state, undefined, this.#clock());
      // The switch changes the base chains alone (the rule delta flushes them); a plan of no rule chains on one
      // side (the first rule, the last one gone) changes which dispatch maps exist: the switch delta.
      const delta =
        renderDelta(before, plan, changes.elements) ?? renderSwitchDelta(before, plan, changes.elements);
      if (!delta) return undefined;
      // Live trigger connections of the rules added, changed or switched on count at once; the others were
      // adopted before.
      const touched = rulesToAdopt(before, plan, [...delta.chainsAdded, ...delta.chainsReplaced]);
      // The connections are listed while nft runs: they do not depend on the transaction. nft starts first:
      // starting a program holds this process until the system has forked it.
      const writing = delta.script !== '' ? this.#write(delta.script) : Promise.resolve();
      writing.catch(() => undefined);
      const conntrack = this.#conntrack;
      const live = touched.size > 0 && conntrack ? this.#listLive(conntrack, plan) : undefined;
      live?.catch(() => undefined);
      try {
        await writing;
      } catch (error) {
        if (vanished(error) && attempt < ATTEMPTS) continue;
        if (error instanceof NftError && error.code === 'NFT_REJECTED') return undefined;
        throw error;
      }
      this.#plan = plan;
      this.#expectSize();
      this.#lastApply = 'change';
      this.#entrySets = {
        at: listed.at,
        usedAt: this.#clock(),
        state: withElementChanges(state, changes.elements),
        after: true,
      };
      if (live) {
        await live
          .then((listed) => this.#adoptNow(undefined, listed, undefined, touched))
          .catch((error: unknown) => this.#onRefreshError?.(error));
      }
      return { kept: changes.kept, dropped: changes.dropped };
    }
  }

  /**
   * The entry sets for a change, and when they were listed: those the service's read just before listed (it
   * reads first, so that entries that expired before the change are told as expired), or an older listing no
   * signal has made stale ({@link KernelDatapath.#knownEntrySets}), else listed now (`reuse` null: always). An
   * entry opened in between is in neither; so it is with any listing before a transaction, and the kernel
   * expires it on its idle timeout.
   */
  async #entryState(
    plan: Plan,
    reuse: number | undefined | null,
  ): Promise<{ state: KernelState; at: number } | undefined> {
    const known = reuse === null ? undefined : this.#knownEntrySets(reuse);
    if (known) return known;
    const at = this.#clock();
    const sets = await (this.#listSetBySet(plan) ? this.#listReadBackSets(plan) : this.#listAllSets());
    return sets === null
      ? undefined
      : { state: parseKernelState({ sets, maps: { nftables: [] }, chains: { nftables: [] } }), at };
  }

  /**
   * The last listing of the entry sets as it stands now, without listing them again: within a moment of the
   * listing (or of the change planned from it), or, given `quietSince` (the last kernel signal; the service
   * gives it only while both signal streams run), at any age when it holds no entry
   * (src/nft/quiet-entry-sets.ts); never when a signal came since the listing. Our own writes other than a
   * change drop the listing. `after`: only the listing a change left.
   */
  #knownEntrySets(
    quietSince: number | undefined,
    after = false,
  ): { state: KernelState; at: number } | undefined {
    const known = this.#entrySets;
    if (!known || (after && !known.after)) return undefined;
    const now = this.#clock();
    // A signal since the listing: the kernel may have opened an entry or added a record that it does not show.
    if (quietSince !== undefined && quietSince >= known.at) return undefined;
    if (now - known.usedAt <= REUSE_ENTRY_SETS_MS) return { state: known.state, at: known.at };
    if (quietSince === undefined) return undefined;
    const state = quietEntrySets(known.state, now - known.at);
    // Aged: the records' times now count from this moment.
    return state ? { state, at: now } : undefined;
  }

  /** An apply, inside the queue. */
  async #applyNow(config: Config, remembered?: TriggerTable): Promise<ApplyReport> {
    const planned = planConfig(config);
    const plan = this.#capture ? { ...planned, learn: this.#capture } : planned;
    // A restore also brings back entries opened after the service last read (their trigger connections say
    // who holds them), and repairs entries another tool broke by flushing one of their sets.
    this.#expectSize(plan);
    const known = remembered ? await this.#knownEntries(plan, remembered) : undefined;
    for (let attempt = 1; ; attempt++) {
      const state = await this.readState();
      const now = this.#clock();
      const changes = planEntryChanges(plan, state, known, now);
      const repair = known ? planRepair(plan, state, known.entries, now) : undefined;
      const existing = {
        table: state.table,
        sets: new Set(state.sets.keys()),
        maps: state.maps,
        chains: state.chains,
      };
      const script = renderApplyScript(plan, existing, [...changes.elements, ...(repair?.elements ?? [])]);
      try {
        // One `nft -f` is one transaction: a refused script leaves the running ruleset exactly as it was.
        await this.#write(script);
      } catch (error) {
        if (vanished(error) && attempt < ATTEMPTS) continue;
        throw error;
      }
      this.#plan = plan;
      this.#expectSize();
      this.#lastApply = 'full';
      this.#closed = false;
      this.#keeper?.start();
      // A rule added, enabled or changed, or the service started: live trigger connections count at once.
      await this.#adoptNow().catch((error: unknown) => this.#onRefreshError?.(error));
      return {
        kept: changes.kept + (repair?.restored ?? 0),
        dropped: changes.dropped + (repair?.dropped ?? 0),
      };
    }
  }

  /**
   * Adds a learning session's recording rules to the running table (undefined removes them), by applying the
   * running config again: applies flush and rebuild the table, so the rules must be part of every plan while the
   * session runs. Entries are kept as by any apply of an unchanged config.
   */
  setCapture(capture: LearnCapture | undefined): Promise<void> {
    // In the queue: after a removal (the service stopping) nothing is applied again.
    return this.#queue.run(async () => {
      const previous = this.#capture;
      this.#capture = capture;
      const config = this.#plan?.config;
      if (!config) return;
      try {
        await this.#applyNow(config);
      } catch (error) {
        // A refused script changed nothing: neither does the capture.
        this.#capture = previous;
        throw error;
      }
    });
  }

  /** The remembered entries, with those that marked trigger connections show and the table does not. */
  async #knownEntries(plan: Plan, remembered: TriggerTable): Promise<TriggerTable> {
    if (!this.#conntrack) return remembered;
    let derived: TriggerEntry[];
    try {
      const [connections, timeouts] = await Promise.all([
        this.#conntrack.listMarked(),
        this.#conntrack.timeouts(),
      ]);
      derived = entriesFromConnections(plan, connections, timeouts, this.#clock());
    } catch {
      // Without the tracker a restore still brings back what the service saw.
      return remembered;
    }
    const byRule = (e: TriggerEntry) => `${e.rule}\u0000${e.family}\u0000${e.remote ?? ''}`;
    const seen = new Set(remembered.entries.map(byRule));
    return {
      ...remembered,
      entries: [...remembered.entries, ...derived.filter((e) => !seen.has(byRule(e)))],
    };
  }

  /**
   * The trigger table and whether our table is intact. `entries`: one listing of the sets. `full`: one listing
   * of the whole table, which also shows whether the plan's chains still hold their rules (`nft flush table`
   * keeps the sets but empties every chain) and whether every entry's elements are all there. A listing that
   * fails is a failure (thrown), not a table that is gone.
   */
  async read(scope: ReadScope = 'full', options: ReadOptions = {}): Promise<DatapathReading> {
    const now = this.#clock();
    const plan = this.#plan;
    if (!plan) return { table: { at: now, entries: [], conflicts: [], blocked: [] }, intact: false };
    if (scope === 'entries' || scope === 'change') {
      // After a change: the listing the change planned from, with what the change did to it (it touched
      // nothing else, and our writes since would have dropped it). Before one: a listing no signal made stale.
      const known =
        scope === 'change' || options.quietSince !== undefined
          ? this.#knownEntrySets(options.quietSince, scope === 'change')
          : undefined;
      if (known) return this.#entriesReading(plan, known.state, now, true);
      const state = await this.#readEntrySets(plan);
      this.#entrySets = state.table ? { at: now, usedAt: now, state, after: false } : undefined;
      return this.#entriesReading(plan, state, now, state.table);
    }
    const listing = await this.#listTable();
    const state = parseKernelState(listing);
    // The listing holds the entry sets too: a change that follows needs no listing of its own.
    this.#entrySets = listing === null ? undefined : { at: now, usedAt: now, state, after: false };
    this.#lastElements = [...state.sets.values()].reduce((n, x) => n + x.elements.length, 0);
    this.#expectSize();
    const table = this.#withConflictHolders(readTriggerTable(plan, state, now));
    this.#keepEntriesOf(table);
    if (listing === null) return { table, intact: false };
    const probe = plan.rules.length > 0 ? 'dstnat' : plan.config.mode === 'standalone' ? 'srcnat' : undefined;
    const rules = probe === undefined || hasRule(listing.chains, probe);
    const setsThere = SHARED_SET_NAMES.every((n) => state.sets.has(n));
    const problems = [...dispatchProblems(plan, listing.maps), ...findInconsistencies(plan, state)];
    return {
      table,
      intact: setsThere && rules && problems.length === 0,
      ...(problems.length > 0 ? { problems } : {}),
    };
  }

  /**
   * Tells nft how large our table is, so that a listing or an apply of a large table gets time in proportion:
   * while `next` is applied the table holds the old plan or the new (the listing before the apply reads the
   * one, the listing after it the other), with the elements of our sets at the last read.
   */
  #expectSize(next?: Plan): void {
    if (!this.#nft.expectTableSize) return;
    const plans = next ? [this.#plan, next] : [this.#plan];
    const objects = Math.max(0, ...plans.map((p) => (p ? tableObjects(p) : 0)));
    this.#nft.expectTableSize(objects + this.#lastElements);
  }

  /**
   * The frequent read (on every signal): the sets alone, with the set reader when there is one, else with nft,
   * set by set once the table is large. Either lists the elements of the same sets.
   */
  async #readEntrySets(plan: Plan): Promise<KernelState> {
    const bySet = this.#listSetBySet(plan);
    const read = await this.#readWithSetReader(bySet ? readBackSetNames(plan) : ENTRY_LISTING_SETS);
    if (read !== undefined) return read;
    const sets = await (bySet
      ? this.#listReadBackSets(plan)
      : this.#listAllSets().catch((error: unknown) => {
          // A listing of every set that fails (a timeout, most likely: too many elements) is not tried
          // again the same way: the next read lists set by set.
          this.#lastElements = this.#perSetReadFrom;
          throw error;
        }));
    return parseKernelState(
      sets === null ? null : { sets, maps: { nftables: [] }, chains: { nftables: [] } },
    );
  }

  /**
   * The entry sets from the set reader; undefined when there is none, a set is missing (nft's listing then
   * tells what is left) or it failed: a failure is reported once and the reader not used again.
   */
  async #readWithSetReader(names: readonly string[]): Promise<KernelState | undefined> {
    const reader = this.#setReader;
    if (!reader) return undefined;
    try {
      return (await reader.read(names)) ?? parseKernelState(null);
    } catch (error) {
      if (error instanceof SetReaderError && error.missingSet) return undefined;
      this.#setReader = undefined;
      this.#onSetReaderFault?.(error);
      return undefined;
    }
  }

  /**
   * Whether the frequent read lists set by set: one listing of every set also lists the dispatch maps with
   * their elements, so a table of many rules pays for them as for as many entries.
   */
  #listSetBySet(plan: Plan): boolean {
    const dispatch = Object.values(plan.dispatch).reduce((n, list) => n + list.length, 0);
    return this.#lastElements + dispatch >= this.#perSetReadFrom;
  }

  /** The reading of the entry sets in `state`. */
  #entriesReading(plan: Plan, state: KernelState, now: number, listed: boolean): DatapathReading {
    this.#lastElements = [...state.sets.values()].reduce((n, x) => n + x.elements.length, 0);
    this.#expectSize();
    const setsThere = SHARED_SET_NAMES.every((n) => state.sets.has(n) || /^r?target4_/.test(n));
    const table = this.#withConflictHolders(readTriggerTable(plan, state, now));
    this.#keepEntriesOf(table);
    return { table, intact: listed && setsThere };
  }

  #listAllSets(): Promise<unknown> {
    return this.#nft.listJson(['list', 'sets', 'table', 'inet', TABLE_NAME]);
  }

  /**
   * The names of every set (terse: no elements) and the elements of the sets read-back needs, one listing
   * each, side by side. A set that is gone is left to the names: the table then reads as not intact.
   */
  async #listReadBackSets(plan: Plan): Promise<unknown> {
    const wanted = readBackSetNames(plan);
    const [names, ...full] = await Promise.all([
      this.#nft.listJson(['-t', 'list', 'sets', 'table', 'inet', TABLE_NAME]),
      ...wanted.map((name) =>
        this.#nft.listJson(['list', 'set', 'inet', TABLE_NAME, name]).catch((error: unknown) => error),
      ),
    ]);
    if (names === null) return null;
    const present = new Set(
      parseKernelState({ sets: names, maps: { nftables: [] }, chains: { nftables: [] } }).sets.keys(),
    );
    const listings: unknown[] = [];
    for (const [i, listing] of full.entries()) {
      if (listing === null) continue;
      if (!(listing instanceof Error)) listings.push(listing);
      // A listing fails only for a set that is not there; anything else is a failed read.
      else if (present.has(wanted[i]!)) throw listing;
    }
    return mergeSetListings(names, listings);
  }

  release(selector: ReleaseSelector): Promise<number> {
    return this.#queue.run(async () => {
      const plan = this.#plan;
      if (!plan) return 0;
      const holder = selector.holder === undefined ? undefined : canonicalAddress(selector.holder);
      const remote = selector.remote === undefined ? undefined : canonicalAddress(selector.remote);
      for (let attempt = 1; ; attempt++) {
        const { table } = await this.read('entries');
        const selected = table.entries.filter(
          (e) =>
            e.rule === selector.rule &&
            (selector.family === undefined || e.family === selector.family) &&
            (holder === undefined || e.holder === holder) &&
            (remote === undefined || e.remote === remote),
        );
        const groups = releaseElements(plan, selected).filter((g) => g.length > 0);
        if (groups.length === 0) return 0;
        try {
          await this.#write(renderElementScript(groups.flat()));
        } catch (error) {
          if (vanished(error) && attempt < ATTEMPTS) continue;
          throw error;
        }
        // The released holders' trigger connections never take the rule again; a contender may, at once.
        await this.#giveUp(plan, selected).catch((error: unknown) => this.#onRefreshError?.(error));
        const places = new Set(selected.map((e) => placeKey(e.family, e.rule, e.remote)));
        await this.#adoptNow(places).catch((error: unknown) => this.#onRefreshError?.(error));
        return groups.length;
      }
    });
  }

  /** Marks the released holders' trigger connections as given up: no longer the entry's, never a trigger again. */
  async #giveUp(plan: Plan, released: readonly TriggerEntry[]): Promise<void> {
    const conntrack = this.#conntrack;
    if (!conntrack || released.length === 0) return;
    const marked = await conntrack.listMarked();
    const mine = marked.filter((c) => {
      const role = connectionRole(c);
      return (
        role.kind === 'trigger' &&
        released.some((e) => {
          const r = plan.rules.find((p) => p.rule.name === e.rule && p.family === e.family);
          return (
            r !== undefined &&
            c.family === e.family &&
            role.holder === e.holder &&
            (e.remote === undefined || role.remote === e.remote) &&
            portInRanges(role.port, r.trigger[c.protocol])
          );
        })
      );
    });
    await Promise.all(
      mine.map((c) => conntrack.setMark(c, CT_MARK.released, CT_MARK.mask | CT_MARK.released)),
    );
  }

  /**
   * Gives free places of rules to live trigger connections (docs/semantics.md, 5): all free places after an
   * apply, `only` these after a release or an entry's end. The new holder's connections are marked as the
   * entry's, so that the refresh and a restore count them like any trigger connection. Inside the queue.
   */
  async #adoptNow(
    only?: ReadonlySet<string>,
    listed?: LiveListing,
    read?: TriggerTable,
    rules?: ReadonlySet<string>,
  ): Promise<number> {
    const taken = await this.#adoptOrClash(only, listed, read, undefined, rules);
    return taken === 'clashed' ? 0 : taken;
  }

  /**
   * {@link KernelDatapath.#adoptNow}, saying when an element add met a live entry of another holder. `rules`:
   * only these rules' places (a change).
   */
  async #adoptOrClash(
    only?: ReadonlySet<string>,
    listed?: LiveListing,
    read?: TriggerTable,
    prepared?: PreparedApply,
    rules?: ReadonlySet<string>,
  ): Promise<number | 'clashed'> {
    const all = this.#plan;
    const plan = all && rules ? { ...all, rules: all.rules.filter((r) => rules.has(r.rule.name)) } : all;
    const conntrack = this.#conntrack;
    if (!plan || !conntrack || plan.rules.length === 0 || only?.size === 0) return 0;
    let live: LiveListing;
    let table: TriggerTable;
    if (rules && !read) {
      // The rules of one change: the table is read only when a live connection could take one of them.
      live = listed ?? (await this.#listLive(conntrack, plan));
      const none = { at: live.at, entries: [], conflicts: [], blocked: [] };
      const any = planAdoptions(plan, none, live.connections, live.timeouts, live.at, live.lan, only);
      if (any.elements.length === 0) return 0;
      table = (await this.read('entries')).table;
    } else {
      [live, table] = await Promise.all([
        listed ?? this.#listLive(conntrack, plan),
        read ?? this.read('entries').then((r) => r.table),
      ]);
    }
    // Ages are counted from the listing: a taken entry expires from its connection's last packet seen there.
    const adoption = planAdoptions(plan, table, live.connections, live.timeouts, live.at, live.lan, only);
    if (adoption.elements.length === 0) return 0;
    const now = this.#clock();
    // A listing is up to a moment old, so the last packet may be later than it shows: never less than that left.
    const adopted = adoption.adoptions.map((a) => ({
      ...a,
      entry: { ...a.entry, expiresAt: Math.max(a.entry.expiresAt, now + LIVE_LISTING_MAX_AGE_MS) },
    }));
    const elements = adopted.flatMap((a) => entryExpiryElements(plan, a.entry, a.entry.expiresAt - now));
    try {
      const script = renderElementScript(elements);
      // At an entry's end nothing was read since its exact end: `create` fails on any live element of the
      // place, even the holder's own (refreshed by traffic meanwhile), where `add` would overwrite its expiry.
      this.#entrySets = undefined;
      await (prepared
        ? prepared.apply(script.replaceAll(/^add element /gm, 'create element '))
        : this.#write(script));
    } catch (error) {
      // A new connection claimed the place since the read: it holds, as a trigger does.
      if (clashed(error)) return 'clashed';
      throw error;
    }
    for (const a of adopted) this.#extended.set(entryKey(a.entry), a.entry.expiresAt);
    // The taken entries' ends are watched too, before any read shows them.
    this.#lastTable = { ...table, entries: [...table.entries, ...adopted.map((a) => a.entry)] };
    const bits = CT_MARK.ours | CT_MARK.notify;
    await Promise.all(
      adopted.flatMap((a) => a.connections.map((c) => conntrack.setMark(c, bits, CT_MARK.mask))),
    );
    this.#keeper?.dueBy(Math.min(...adopted.map((a) => a.entry.expiresAt)) - CHECK_AHEAD_MS);
    this.#watchEnds(this.#lastTable);
    return adopted.length;
  }

  /** Lists what a takeover needs from the connection tracker and the interfaces. */
  async #listLive(conntrack: ConntrackRunner, plan: Plan): Promise<LiveListing> {
    const at = this.#clock();
    const [connections, timeouts, lan] = await Promise.all([
      conntrack.listAll(),
      conntrack.timeouts(),
      conntrack.lanPrefixes(plan.config.interfaces.lan),
    ]);
    return { at, connections, timeouts, lan };
  }

  /**
   * Conflict records as the kernel keeps them name no holder: each gets the holder it had when first read,
   * which the service does within milliseconds of the conflict (its connection signals it).
   */
  #withConflictHolders(table: TriggerTable): TriggerTable {
    const seen = new Map<string, { holder: string; at: number }>();
    const conflicts = table.conflicts.map((c): ConflictRecord => {
      const key = `${c.rule}\u0000${c.family}\u0000${c.contender}\u0000${c.remote ?? ''}`;
      const known = this.#conflictHolders.get(key);
      // The same record, read again (its time is known to the second); a later one is a new record.
      const holder = known !== undefined && Math.abs(known.at - c.at) <= 2_000 ? known.holder : c.holder;
      if (holder !== undefined) seen.set(key, { holder, at: known?.holder === holder ? known.at : c.at });
      const { holder: _readHolder, ...rest } = c;
      return holder !== undefined ? { ...rest, holder } : rest;
    });
    this.#conflictHolders = seen;
    return { ...table, conflicts };
  }

  /** Watches for the next end of an entry: a contender may take its place at once. */
  #watchEnds(table: TriggerTable): void {
    if (!this.#conntrack || this.#closed || this.#ending || table.entries.length === 0) return;
    const earliest = Math.min(...table.entries.map((e) => this.#expiryOf(e)));
    if (earliest >= this.#endAt) return;
    if (this.#endTimer) clearTimeout(this.#endTimer);
    this.#endAt = earliest;
    const lead = this.#nft.listText ? END_LEAD_MS : 0;
    this.#endTimer = setTimeout(() => void this.#onEnds(), Math.max(0, earliest - lead - this.#clock()));
    this.#endTimer.unref();
  }

  /** An entry's expiry as best known: a refresh's, to the millisecond, or read-back's. */
  #expiryOf(e: TriggerEntry): number {
    return Math.max(this.#extended.get(entryKey(e)) ?? 0, e.expiresAt);
  }

  /**
   * Entries are due to end: gives their places to contenders the moment the kernel drops them. With nft's text
   * listing the exact end is read (milliseconds) and the takeover scheduled at it; without it, read-back (whole
   * seconds) is polled until they are gone.
   */
  async #onEnds(): Promise<void> {
    this.#endTimer = undefined;
    this.#endAt = Number.POSITIVE_INFINITY;
    this.#ending = true;
    try {
      const lead = this.#nft.listText ? END_LEAD_MS : 0;
      const due = (this.#lastTable?.entries ?? []).filter((e) => this.#expiryOf(e) <= this.#clock() + lead);
      const conntrack = this.#conntrack;
      const plan = this.#plan;
      if (!conntrack || !plan || due.length === 0) return;
      if (this.#nft.listText) await this.#takeOverAtEnd(conntrack, plan, due);
      else await this.#pollForEnds(conntrack, plan, due);
    } catch (error) {
      this.#onRefreshError?.(error);
    } finally {
      this.#ending = false;
      if (this.#lastTable) this.#watchEnds(this.#lastTable);
    }
  }

  /**
   * Reads when each due entry ends, to the millisecond, and gives the places away at that moment: the live
   * connections are listed just before, and one element transaction opens the contender's entry. The refresh
   * may move an end later meanwhile (the tracker counts in whole seconds, docs/semantics.md): it runs in the
   * queue, so at the end the handover knows, reads that entry's end again and waits for it, instead of running
   * a transaction that would clash. A clash (a new connection claimed the place, or the holder's own new
   * connection refreshed it) reads again; an entry that now ends later than the watch is left to the next read.
   */
  async #takeOverAtEnd(conntrack: ConntrackRunner, plan: Plan, due: readonly TriggerEntry[]): Promise<void> {
    const deadline = this.#clock() + END_LEAD_MS + END_WATCH_MS;
    // The entries whose end the refresh moved later while the handover waited for it.
    let moved: ReadonlySet<string> | undefined;
    for (let attempt = 1; attempt <= END_TRIES && !this.#closed; attempt++) {
      const ends = await this.#exactEnds(plan, due);
      if (ends.size === 0) return;
      // Exact ends are known: the next watch starts from them, not from read-back's whole seconds.
      // An entry already gone has no end to wait for: a refresh's later one would only be taken for a move.
      for (const [key, end] of ends) {
        if (end > this.#clock()) this.#extended.set(key, end);
        else this.#extended.delete(key);
      }
      const first = Math.min(...ends.values());
      if (first > deadline) return;
      const ending = due.filter(
        (e) => (ends.get(entryKey(e)) ?? Number.POSITIVE_INFINITY) <= first + END_SLACK_MS,
      );
      await delay(Math.max(0, first - LIST_AHEAD_MS - this.#clock()));
      // The programs start well before the end (starting one holds this process until the system has forked
      // it, long on a loaded machine): at the end only the transaction itself runs, in an nft already started.
      const listing = this.#listLive(conntrack, plan);
      listing.catch(() => undefined);
      const prepared = this.#nft.prepareApply?.();
      let listed: LiveListing;
      try {
        listed = await listing;
      } catch (error) {
        prepared?.cancel();
        throw error;
      }
      // Into the queue just before the end: a round queued meanwhile (a refresh) runs after the handover.
      await delay(Math.max(0, first - QUEUE_AHEAD_MS - this.#clock()));
      if (movedEnds(ending, this.#extended, first + END_SLACK_MS).size === ending.length) {
        // Every end moved while the handover waited: read them again now, with time left before them.
        prepared?.cancel();
        attempt--;
        continue;
      }
      const taken = await this.#queue
        .run(async () => {
          await delay(Math.max(0, first + END_SLACK_MS - this.#clock()));
          if (this.#closed) return 0;
          // A refresh that ran since the ends were read (it runs in this queue) moved these ends later.
          const later = movedEnds(ending, this.#extended, first + END_SLACK_MS);
          if (later.size > 0) moved = later;
          const ended = new Set(
            ending.filter((e) => !later.has(entryKey(e))).map((e) => placeKey(e.family, e.rule, e.remote)),
          );
          if (ended.size === 0) return 0;
          const last = this.#lastTable;
          const table: TriggerTable = {
            at: this.#clock(),
            entries: (last?.entries ?? []).filter((e) => !ended.has(placeKey(e.family, e.rule, e.remote))),
            conflicts: last?.conflicts ?? [],
            blocked: last?.blocked ?? [],
          };
          const outcome = await this.#adoptOrClash(ended, listed, table, prepared);
          // Without a contender the places stay free: the ended entries are no longer watched.
          if (outcome === 0) this.#lastTable = table;
          return outcome;
        })
        .finally(() => prepared?.cancel());
      if (taken !== 'clashed' && taken > 0) this.#onTakeover?.();
      if (moved && taken !== 'clashed') {
        // Only the moved entries are still due. Their new ends are read: the refresh counted them from before
        // its transaction ran, so the kernel's are a little later than it knows.
        const later = moved;
        due = due.filter((e) => later.has(entryKey(e)));
        moved = undefined;
        attempt--;
        continue;
      }
      if (taken === 'clashed') continue;
      return;
    }
    // Clashed every time: what the kernel holds now is read again (and watched from there).
    if (!this.#closed) await this.read('entries');
  }

  /**
   * When each entry ends, on this clock, from the milliseconds its element has left: the set reader's listing
   * (netlink, a few milliseconds) or nft's text listing (one per set, side by side). An entry whose element is
   * gone ended at the listing. Entries of rules no longer planned are left out.
   */
  async #exactEnds(plan: Plan, entries: readonly TriggerEntry[]): Promise<Map<string, number>> {
    const located = entries.flatMap((e) => {
      const r = plan.rules.find((p) => p.rule.name === e.rule && p.family === e.family);
      const set = sharedSetName(e.remote === undefined ? 'hold' : 'pair', e.family);
      if (!r || !set) return [];
      const key = e.remote === undefined ? `${r.id} . ${e.holder}` : `${r.id} . ${e.remote} . ${e.holder}`;
      return [{ entry: e, set, key }];
    });
    const sets = [...new Set(located.map((l) => l.set))];
    const before = this.#clock();
    const read = await this.#readExpiries(sets);
    const left = read ?? (await this.#listExpiries(sets));
    // The kernel is read late in the program's run (after its start), rather than early and then a clash with an
    // entry that has a moment left: the set reader exits right after its read, nft prints and parses after it.
    const at = before + (this.#clock() - before) * (read ? 1 : 0.75);
    return new Map(
      located.map((l) => [entryKey(l.entry), at + (left.get(l.set)?.get(l.key) ?? before - at)]),
    );
  }

  /** The milliseconds each element of `sets` has left, by set, from the set reader; undefined without it. */
  async #readExpiries(sets: readonly string[]): Promise<Map<string, Map<string, number>> | undefined> {
    if (!this.#setReader) return undefined;
    let state: KernelState | null;
    try {
      state = await this.#setReader.read(sets);
    } catch {
      // The entry reads report a failing reader (and stop using it); nft's listing answers here.
      return undefined;
    }
    if (state === null) return new Map();
    return new Map(
      sets.map((set) => [
        set,
        new Map(
          (state.sets.get(set)?.elements ?? []).flatMap((e) =>
            e.expiresMs === undefined ? [] : [[e.key.join(' . '), e.expiresMs] as const],
          ),
        ),
      ]),
    );
  }

  /** The milliseconds each element of `sets` has left, by set, from nft's text listings. */
  async #listExpiries(sets: readonly string[]): Promise<Map<string, Map<string, number>>> {
    const listings = await Promise.all(
      sets.map((set) => this.#nft.listText!(['list', 'set', 'inet', TABLE_NAME, set])),
    );
    return new Map(sets.map((set, i) => [set, parseElementExpiries(listings[i]!)]));
  }

  /** Polls read-back (whole seconds) until due entries are gone, then gives their places to contenders. */
  async #pollForEnds(conntrack: ConntrackRunner, plan: Plan, due: readonly TriggerEntry[]): Promise<void> {
    const deadline = this.#clock() + END_WATCH_MS;
    // The connections are listed while the end is awaited, so that a contender takes it without that delay.
    let listing: Promise<LiveListing> | undefined;
    let listedAt = Number.NEGATIVE_INFINITY;
    let table = this.#lastTable;
    for (;;) {
      if (this.#clock() - listedAt > LIVE_LISTING_MAX_AGE_MS) {
        listedAt = this.#clock();
        const next = this.#listLive(conntrack, plan);
        next.catch(() => undefined);
        listing = next;
      }
      table = (await this.read('entries')).table;
      const ending = due.filter((d) =>
        table!.entries.some((e) => entryKey(e) === entryKey(d) && e.expiresAt < this.#clock() + 1_000),
      );
      if (ending.length === 0 || this.#clock() > deadline || this.#closed) break;
      await delay(END_POLL_MS);
    }
    const present = new Set(table?.entries.map((e) => placeKey(e.family, e.rule, e.remote)));
    const ended = new Set(
      due.map((e) => placeKey(e.family, e.rule, e.remote)).filter((place) => !present.has(place)),
    );
    if (ended.size > 0 && !this.#closed) {
      const listed = await listing;
      // The table just read: a place taken since by a new connection makes the element add clash (then it holds).
      const taken = await this.#queue.run(() => this.#adoptNow(ended, listed, table));
      if (taken > 0) this.#onTakeover?.();
    }
  }

  /**
   * One refresh from the connection tracker: every entry whose marked connections carried a packet within its
   * idle timeout gets its expiry moved to the last packet + idleTimeout. Entries are never re-created here: the
   * kernel closes an entry that nothing refreshes, and that stays the safe failure when this does not run.
   */
  refreshFromConntrack(): Promise<RefreshReport> {
    return this.#queue.run(async () => {
      const plan = this.#plan;
      const now = this.#clock();
      const minIdleMs = Math.min(...(plan?.rules.map((r) => r.rule.idleTimeout * 1000) ?? []), MAX_PAUSE_MS);
      const ahead = Math.min(CHECK_AHEAD_MS, minIdleMs / 2);
      const pause = Math.max(minIdleMs - ahead, MIN_IDLE_PAUSE_MS);
      const idle = { entries: 0, connections: 0, extended: 0, nextCheckAt: now + pause };
      if (!plan || !this.#conntrack || plan.rules.length === 0)
        return { ...idle, nextCheckAt: now + MAX_PAUSE_MS };
      // While nothing was open, the entry sets alone say whether the kernel opened something since: a listing
      // of every set costs what the whole ruleset costs nft to load (30 ms at 1,000 rules), these next to nothing.
      if (this.#lastEntries === 0 && !(await this.#anyEntryElements(plan))) return idle;
      const { table } = await this.read('entries');
      if (table.entries.length === 0) return idle;
      let connections: Awaited<ReturnType<ConntrackRunner['listMarked']>>;
      let timeouts: Awaited<ReturnType<ConntrackRunner['timeouts']>>;
      try {
        [connections, timeouts] = await Promise.all([
          this.#conntrack.listMarked(),
          this.#conntrack.timeouts(),
        ]);
      } catch (error) {
        // Without the program, trying every second helps nobody: say it once a long pause, entries then close
        // idleTimeout after their last new connection (the kernel's own timeout).
        if (error instanceof PorttriggerError && error.code === 'EXEC_MISSING') {
          this.#onRefreshError?.(error);
          return { ...idle, nextCheckAt: now + MAX_PAUSE_MS };
        }
        throw error;
      }
      const refresh = planRefresh(plan, table, connections, timeouts, this.#clock(), this.#extended);
      if (refresh.elements.length > 0) {
        try {
          await this.#write(renderElementScript(refresh.elements));
        } catch (error) {
          // The entry changed holder since the read (it ended and another host took it): the next round
          // reads again, at once.
          if (!clashed(error)) throw error;
          return { ...idle, nextCheckAt: now };
        }
      }
      const known = new Map<string, number>();
      for (const e of table.entries) {
        const at = this.#extended.get(entryKey(e));
        if (at !== undefined && at > now) known.set(entryKey(e), at);
      }
      for (const x of refresh.extensions) known.set(entryKey(x.entry), x.expiresAt);
      this.#extended = known;
      const earliest = Math.min(
        ...table.entries.map((e) => Math.max(known.get(entryKey(e)) ?? 0, e.expiresAt)),
      );
      return {
        entries: table.entries.length,
        connections: connections.length,
        extended: refresh.extensions.length,
        nextCheckAt: Math.min(earliest - ahead, idle.nextCheckAt),
      };
    });
  }

  /** Whether a set that holds entries (`hold`, `pair`) has an element; true when one cannot be listed. */
  async #anyEntryElements(plan: Plan): Promise<boolean> {
    const names = readBackSetNames(plan).filter((n) => /^(hold|pair)/.test(n));
    const listings = await Promise.all(
      names.map((name) => this.#nft.listJson(['list', 'set', 'inet', TABLE_NAME, name]).catch(() => null)),
    );
    return listings.some((listing) => {
      if (listing === null) return true;
      const state = parseKernelState({ sets: listing, maps: { nftables: [] }, chains: { nftables: [] } });
      return state.sets.size === 0 || [...state.sets.values()].some((s) => s.elements.length > 0);
    });
  }

  /** The refresh from the connection tracker runs before the earliest of these entries would expire. */
  #keepEntriesOf(table: TriggerTable): void {
    this.#lastEntries = table.entries.length;
    this.#lastTable = table;
    this.#watchEnds(table);
    if (!this.#keeper || table.entries.length === 0) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const e of table.entries) earliest = Math.min(earliest, e.expiresAt);
    this.#keeper.dueBy(earliest - CHECK_AHEAD_MS);
  }

  /** Stops background work (the refresh from the connection tracker); the table stays as it is. */
  close(): Promise<void> {
    this.#stopWatchingEnds();
    return this.#keeper?.stop() ?? Promise.resolve();
  }

  #stopWatchingEnds(): void {
    this.#closed = true;
    if (this.#endTimer) clearTimeout(this.#endTimer);
    this.#endTimer = undefined;
    this.#endAt = Number.POSITIVE_INFINITY;
  }

  async remove(): Promise<void> {
    // Stopped outside the queue: a round already queued runs first and finds no plan afterwards; awaiting it
    // inside the queue would wait for itself.
    const stopping = this.#keeper?.stop();
    this.#stopWatchingEnds();
    await this.#queue.run(async () => {
      await this.#write(renderRemoveScript());
      this.#plan = undefined;
    });
    await stopping;
  }
}

/**
 * The kernel datapath of a gateway (or of a namespace): nft for the table, conntrack for the refresh.
 * @example const datapath = createKernelDatapath({ onRefreshError: (e) => log.warn(String(e)) })
 */
export function createKernelDatapath(
  options: {
    netns?: string;
    /** The nft program, its timeouts, and who hears of its writes (the ruleset monitor's own-writer filter). */
    nft?: Omit<NftRunnerOptions, 'netns'>;
    /** The conntrack program (tests point it at a missing one). */
    conntrackBinary?: string;
    /** The set reader (default: the one the build made; false: none, nft lists the sets). */
    setReaderBinary?: string | false;
  } & Omit<KernelDatapathOptions, 'nft' | 'conntrack' | 'setReader'> = {},
): KernelDatapath {
  const { netns, nft, conntrackBinary, setReaderBinary, ...rest } = options;
  const where = netns ? { netns } : {};
  const setReader =
    setReaderBinary === false
      ? undefined
      : createSetReader({ ...where, ...(setReaderBinary ? { binary: setReaderBinary } : {}) });
  if (setReaderBinary !== false && !setReader) {
    rest.onSetReaderFault?.(
      new PorttriggerError(
        'NFT_LIST_FAILED',
        `no set reader at ${setReaderBinary || BUILT_SET_READER}: nft lists the entry sets, slower`,
      ),
    );
  }
  return new KernelDatapath({
    ...rest,
    ...(setReader ? { setReader } : {}),
    nft: createNftRunner({ ...nft, ...where }),
    conntrack: createConntrackRunner({ ...where, ...(conntrackBinary ? { binary: conntrackBinary } : {}) }),
  });
}
