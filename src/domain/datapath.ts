import type { Config, Family, TriggerTable } from './types.js';

/** Which entries to release: all of a rule's, or those of one holder, optionally for one remote. */
export interface ReleaseSelector {
  readonly rule: string;
  readonly holder?: string;
  readonly remote?: string;
  readonly family?: Family;
}

/** What an apply did to the entries that were active before it. */
export interface ApplyReport {
  /** Entries carried over to the new config. */
  readonly kept: number;
  /** Entries that closed because their rule changed, was disabled or removed. */
  readonly dropped: number;
}

/** How an apply may go about it. */
export interface ApplyOptions {
  /**
   * The config differs from the running one by one change (a rule added, edited, enabled, disabled or deleted,
   * the global switch): the datapath may change only what differs, in one transaction. Start-up, reloads and
   * repairs leave it out and get a full apply.
   */
  readonly change?: boolean;
  /** See {@link ReadOptions.quietSince}: a change may plan from the last listing of the entry sets. */
  readonly quietSince?: number;
}

/** What the caller knows that lets a read of the entries skip listing them. */
export interface ReadOptions {
  /**
   * When the last kernel signal came (the service's clock), given only while both signal streams run: a
   * listing of the entry sets taken after it still holds, with the time passed (no entry was opened, no
   * record added since; src/nft/quiet-entry-sets.ts says when that is enough).
   */
  readonly quietSince?: number;
}

/** One read of the datapath: the trigger table, and whether what the last apply installed is all still there. */
export interface DatapathReading {
  readonly table: TriggerTable;
  /**
   * False before the first apply, and when another tool removed or flushed what the last apply installed: the
   * service then applies again with the entries it remembers.
   */
  readonly intact: boolean;
  /** What a full read found broken (another tool flushed or edited one of our sets), in words. */
  readonly problems?: readonly string[];
}

/**
 * How much a read looks at: `entries` only the sets that hold entries and records (after a new connection);
 * `full` also whether everything the last apply installed is there and consistent (after another tool's change,
 * and at the slow reconciliation); `change` right after a one-rule change: the entries as the change left them,
 * which a datapath may know without listing them again (it planned the change from a listing of them).
 */
export type ReadScope = 'entries' | 'full' | 'change';

/**
 * The port that both implementations of the semantics provide: the reference model and the kernel datapath.
 * The service talks only to this.
 */
export interface Datapath {
  /**
   * Makes the config the running one, keeping the entries that still fit it (docs/semantics.md, 12).
   * `remembered` is a table read earlier: entries of it that the datapath lost are seeded back with the time
   * they had left.
   */
  apply(config: Config, remembered?: TriggerTable, options?: ApplyOptions): Promise<ApplyReport>;
  /** The trigger table as it is now and whether the datapath is intact, from one read (default `full`). */
  read(scope?: ReadScope, options?: ReadOptions): Promise<DatapathReading>;
  /** Drops the selected entries now; resolves with how many were dropped. */
  release(selector: ReleaseSelector): Promise<number>;
  /** Removes everything this datapath installed. */
  remove(): Promise<void>;
}
