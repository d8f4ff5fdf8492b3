import { canonicalAddress } from '../domain/address.js';
import type { ApplyReport, Datapath, DatapathReading, ReleaseSelector } from '../domain/datapath.js';
import { SerialQueue } from '../domain/serial-queue.js';
import type { Config, TriggerTable } from '../domain/types.js';
import { TABLE_NAME } from '../domain/types.js';
import type { Plan } from '../nft/plan.js';
import { planConfig, SHARED_SET_NAMES } from '../nft/plan.js';
import { readTriggerTable } from '../nft/read-back.js';
import { renderApplyScript, renderElementScript, renderRemoveScript } from '../nft/render.js';
import { planEntryChanges, releaseElements } from '../nft/seeds.js';
import type { KernelState } from '../nft/state.js';
import { parseKernelState } from '../nft/state.js';
import type { NftRunner } from './nft.js';
import { NftError } from './nft.js';

/** Options for {@link KernelDatapath}. */
export interface KernelDatapathOptions {
  readonly nft: NftRunner;
  readonly clock?: () => number;
}

// An element may expire between the read and the transaction that deletes it, which fails the whole
// transaction: such a transaction is read again and retried.
const ATTEMPTS = 3;

function vanished(error: unknown): boolean {
  return error instanceof NftError && /No such file or directory/.test(error.message);
}

/** The nftables implementation of the {@link Datapath} port: the kernel does the packet work. */
export class KernelDatapath implements Datapath {
  readonly #nft: NftRunner;
  readonly #clock: () => number;
  #plan: Plan | undefined;
  // Applies, releases and removals run one at a time, in call order.
  readonly #queue = new SerialQueue();

  constructor(options: KernelDatapathOptions) {
    this.#nft = options.nft;
    this.#clock = options.clock ?? Date.now;
  }

  /** Reads our table: sets with elements, map and chain names. */
  async readState(): Promise<KernelState> {
    const sets = await this.#nft.listJson(['list', 'sets', 'table', 'inet', TABLE_NAME]);
    if (sets === null) return parseKernelState(null);
    const [maps, chains] = await Promise.all([
      this.#nft.listJson(['list', 'maps', 'inet']),
      this.#nft.listJson(['list', 'chains', 'inet']),
    ]);
    return parseKernelState({ sets, maps, chains });
  }

  /**
   * Applies a config. `remembered` is a trigger table read earlier: entries of it whose sets the kernel lost
   * (another tool flushed the ruleset) are seeded back with their remaining time.
   */
  apply(config: Config, remembered?: TriggerTable): Promise<ApplyReport> {
    return this.#queue.run(async () => {
      const plan = planConfig(config);
      for (let attempt = 1; ; attempt++) {
        const state = await this.readState();
        const changes = planEntryChanges(plan, state, remembered, this.#clock());
        const existing = {
          table: state.table,
          sets: new Set(state.sets.keys()),
          maps: state.maps,
          chains: state.chains,
        };
        const script = renderApplyScript(plan, existing, changes.elements);
        try {
          // Check first: a refused script leaves the running ruleset exactly as it was.
          await this.#nft.check(script);
          await this.#nft.apply(script);
        } catch (error) {
          if (vanished(error) && attempt < ATTEMPTS) continue;
          throw error;
        }
        this.#plan = plan;
        return { kept: changes.kept, dropped: changes.dropped };
      }
    });
  }

  /**
   * The trigger table and whether our table is intact, from one listing of the sets and one of the forward
   * chain: the service's poll needs both every second, so they share the listing. A listing that fails is a
   * failure (thrown), not a table that is gone.
   */
  async read(): Promise<DatapathReading> {
    const now = this.#clock();
    const plan = this.#plan;
    if (!plan) return { table: { at: now, entries: [], conflicts: [], blocked: [] }, intact: false };
    const [sets, forward] = await Promise.all([
      this.#nft.listJson(['list', 'sets', 'table', 'inet', TABLE_NAME]),
      this.#nft.listJson(['list', 'chain', 'inet', TABLE_NAME, 'forward']),
    ]);
    const state = parseKernelState(
      sets === null ? null : { sets, maps: { nftables: [] }, chains: { nftables: [] } },
    );
    const table = readTriggerTable(plan, state, now);
    if (sets === null || forward === null) return { table, intact: false };
    const setsThere = SHARED_SET_NAMES.every((n) => state.sets.has(n) || /^r?target4$/.test(n));
    // `nft flush table` keeps the sets but empties every chain.
    const rules = ((forward as { nftables?: unknown[] }).nftables ?? []).filter(
      (o) => 'rule' in (o as object),
    );
    const expectRules = plan.config.mode === 'standalone' || plan.rules.length > 0;
    return { table, intact: setsThere && (!expectRules || rules.length > 0) };
  }

  release(selector: ReleaseSelector): Promise<number> {
    return this.#queue.run(async () => {
      const plan = this.#plan;
      if (!plan) return 0;
      const holder = selector.holder === undefined ? undefined : canonicalAddress(selector.holder);
      const remote = selector.remote === undefined ? undefined : canonicalAddress(selector.remote);
      for (let attempt = 1; ; attempt++) {
        const { table } = await this.read();
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
          await this.#nft.apply(renderElementScript(groups.flat()));
          return groups.length;
        } catch (error) {
          if (vanished(error) && attempt < ATTEMPTS) continue;
          throw error;
        }
      }
    });
  }

  remove(): Promise<void> {
    return this.#queue.run(async () => {
      await this.#nft.apply(renderRemoveScript());
      this.#plan = undefined;
    });
  }
}
