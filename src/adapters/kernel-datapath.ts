import { canonicalAddress } from '../domain/address.js';
import type { ApplyReport, Datapath, ReleaseSelector } from '../domain/datapath.js';
import type { Config, TriggerTable } from '../domain/types.js';
import { TABLE_NAME } from '../domain/types.js';
import type { Plan } from '../nft/plan.js';
import { planConfig, SHARED_SET_NAMES, sharedSetName } from '../nft/plan.js';
import { readTriggerTable } from '../nft/read-back.js';
import { renderApplyScript, renderRemoveScript } from '../nft/render.js';
import { planEntryChanges } from '../nft/seeds.js';
import type { KernelState } from '../nft/state.js';
import { parseKernelState } from '../nft/state.js';
import type { NftRunner } from './nft.js';
import { NftError } from './nft.js';

/** Options for {@link KernelDatapath}. */
export interface KernelDatapathOptions {
  readonly nft: NftRunner;
  readonly clock?: () => number;
}

const T = `inet ${TABLE_NAME}`;

/** The nftables implementation of the {@link Datapath} port: the kernel does the packet work. */
export class KernelDatapath implements Datapath {
  readonly #nft: NftRunner;
  readonly #clock: () => number;
  #plan: Plan | undefined;
  // Applies, releases and removals run one at a time, in call order.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: KernelDatapathOptions) {
    this.#nft = options.nft;
    this.#clock = options.clock ?? Date.now;
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
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

  /** The script an apply of this config would run now, for `compile` and dry runs. */
  async renderApply(config: Config): Promise<string> {
    const plan = planConfig(config);
    const state = await this.readState();
    return renderApplyScript(plan, this.#existing(state), planEntryChanges(plan, state).elements);
  }

  #existing(state: KernelState) {
    return { table: state.table, sets: new Set(state.sets.keys()), maps: state.maps, chains: state.chains };
  }

  /**
   * Applies a config. `remembered` is a trigger table read earlier: entries of it whose sets the kernel lost
   * (another tool flushed the ruleset) are seeded back with their remaining time.
   */
  apply(config: Config, remembered?: TriggerTable): Promise<ApplyReport> {
    return this.#serial(async () => {
      const plan = planConfig(config);
      // An element may expire between the read and the transaction that deletes it: read again and retry.
      for (let attempt = 1; ; attempt++) {
        const state = await this.readState();
        const changes = planEntryChanges(plan, state, remembered, this.#clock());
        const script = renderApplyScript(plan, this.#existing(state), changes.elements);
        try {
          // Check first: a refused script leaves the running ruleset exactly as it was.
          await this.#nft.check(script);
          await this.#nft.apply(script);
        } catch (error) {
          const vanished = error instanceof NftError && /No such file or directory/.test(error.message);
          if (vanished && attempt < 3) continue;
          throw error;
        }
        this.#plan = plan;
        return { kept: changes.kept, dropped: changes.dropped };
      }
    });
  }

  /**
   * True when the kernel still holds everything the last apply installed. Another tool flushing the ruleset or
   * deleting our table makes it false; the service then applies again with the table it remembered.
   */
  async isIntact(): Promise<boolean> {
    return (await this.readTableChecked()).intact;
  }

  /** The config of the last successful apply. */
  get config(): Config | undefined {
    return this.#plan?.config;
  }

  async readTable(): Promise<TriggerTable> {
    return (await this.readTableChecked()).table;
  }

  /**
   * The trigger table and whether our table is intact, from one listing of the sets and one of the forward
   * chain: the service's poll needs both every second, so they share the listing.
   */
  async readTableChecked(): Promise<{ table: TriggerTable; intact: boolean }> {
    const now = this.#clock();
    const plan = this.#plan;
    if (!plan) return { table: { at: now, entries: [], conflicts: [], blocked: [] }, intact: false };
    const [sets, forward] = await Promise.all([
      this.#nft.listJson(['list', 'sets', 'table', 'inet', TABLE_NAME]),
      this.#nft.listJson(['list', 'chain', 'inet', TABLE_NAME, 'forward']).catch(() => null),
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
    return this.#serial(async () => {
      // An entry may expire between the read and the delete, which fails the whole transaction: read again.
      for (let attempt = 1; ; attempt++) {
        const lines = await this.#releaseLines(selector);
        if (lines.length === 0) return 0;
        try {
          await this.#nft.apply(`${lines.map((l) => l.line).join('\n')}\n`);
          return new Set(lines.map((l) => l.entry)).size;
        } catch (error) {
          if (attempt >= 3 || !(error instanceof NftError && /No such file or directory/.test(error.message)))
            throw error;
        }
      }
    });
  }

  async #releaseLines(selector: ReleaseSelector): Promise<{ entry: string; line: string }[]> {
    const plan = this.#plan;
    if (!plan) return [];
    const holder = selector.holder === undefined ? undefined : canonicalAddress(selector.holder);
    const remote = selector.remote === undefined ? undefined : canonicalAddress(selector.remote);
    const table = await this.readTable();
    const byName = new Map(plan.rules.map((r) => [`${r.family}/${r.rule.name}`, r]));
    const out: { entry: string; line: string }[] = [];
    for (const e of table.entries) {
      if (e.rule !== selector.rule || (selector.family !== undefined && e.family !== selector.family))
        continue;
      if ((holder !== undefined && e.holder !== holder) || (remote !== undefined && e.remote !== remote))
        continue;
      const r = byName.get(`${e.family}/${e.rule}`);
      if (!r) continue;
      const entry = `${e.family} ${e.holder} ${e.remote ?? ''}`;
      const set = (kind: Parameters<typeof sharedSetName>[0]) => sharedSetName(kind, e.family);
      // Addresses are canonical output of the core's parser and ids are numbers, so they are safe in a script.
      const keys: [string | undefined, string][] =
        e.remote === undefined
          ? [
              [set('target'), `${r.id}`],
              [set('hold'), `${r.id} . ${e.holder}`],
              [set('held'), `${r.id}`],
            ]
          : [
              [set('rtarget'), `${r.id} . ${e.remote}`],
              [set('pair'), `${r.id} . ${e.remote} . ${e.holder}`],
              [set('taken'), `${r.id} . ${e.remote}`],
            ];
      for (const [name, key] of keys)
        if (name) out.push({ entry, line: `delete element ${T} ${name} { ${key} }` });
    }
    return out;
  }

  remove(): Promise<void> {
    return this.#serial(async () => {
      await this.#nft.apply(renderRemoveScript());
      this.#plan = undefined;
    });
  }
}
