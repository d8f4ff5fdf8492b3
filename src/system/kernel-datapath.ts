import { canonicalAddress } from '../core/address.js';
import type { ApplyReport, Datapath, ReleaseSelector } from '../core/datapath.js';
import type { Config, TriggerTable } from '../core/types.js';
import { TABLE_NAME } from '../core/types.js';
import type { Plan } from '../nft/plan.js';
import { parseEntrySetName, planConfig } from '../nft/plan.js';
import { readTriggerTable } from '../nft/read-back.js';
import { renderApplyScript, renderRemoveScript } from '../nft/render.js';
import { planSeeds } from '../nft/seeds.js';
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

function countEntries(state: KernelState): number {
  let n = 0;
  for (const set of state.sets.values()) {
    const parsed = parseEntrySetName(set.name);
    if (parsed?.letter === 'h' || parsed?.letter === 'p') n += set.elements.length;
  }
  return n;
}

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
    return renderApplyScript(plan, this.#existing(state), planSeeds(plan, state));
  }

  #existing(state: KernelState) {
    return { table: state.table, sets: new Set([...state.sets.keys(), ...state.maps]), chains: state.chains };
  }

  /**
   * Applies a config. `remembered` is a trigger table read earlier: entries of it whose sets the kernel lost
   * (another tool flushed the ruleset) are seeded back with their remaining time.
   */
  apply(config: Config, remembered?: TriggerTable): Promise<ApplyReport> {
    return this.#serial(async () => {
      const plan = planConfig(config);
      const state = await this.readState();
      const seeds = planSeeds(plan, state, remembered, this.#clock());
      const script = renderApplyScript(plan, this.#existing(state), seeds);
      // Check first: a refused script leaves the running ruleset exactly as it was.
      await this.#nft.check(script);
      await this.#nft.apply(script);
      this.#plan = plan;
      const before = countEntries(state);
      const stayed = plan.rules.reduce((n, r) => {
        const gate = state.sets.get(r.entrySets.h ?? r.entrySets.p ?? '');
        return n + (gate?.elements.length ?? 0);
      }, 0);
      const seeded = seeds.filter((s) => /^[hp]/.test(s.set)).length;
      return { kept: stayed + seeded, dropped: Math.max(0, before - stayed - seeded) };
    });
  }

  /**
   * True when the kernel still holds everything the last apply installed. Another tool flushing the ruleset or
   * deleting our table makes it false; the service then applies again with the table it remembered.
   */
  async isIntact(): Promise<boolean> {
    const plan = this.#plan;
    if (!plan) return false;
    // Two cheap listings: the sets (not the rules of every chain) and the one base chain that dispatches.
    const [sets, forward] = await Promise.all([
      this.#nft.listJson(['list', 'sets', 'table', 'inet', TABLE_NAME]),
      this.#nft.listJson(['list', 'chain', 'inet', TABLE_NAME, 'forward']).catch(() => null),
    ]);
    if (sets === null || forward === null) return false;
    const names = parseKernelState({ sets, maps: { nftables: [] }, chains: { nftables: [] } }).sets;
    const setsThere = plan.rules.every((r) =>
      [r.entrySets.h, r.entrySets.t, r.entrySets.p, r.conflictSet, r.blockedSet].every(
        (n) => !n || names.has(n),
      ),
    );
    // `nft flush table` keeps the sets but empties every chain.
    const rules = ((forward as { nftables?: unknown[] }).nftables ?? []).filter(
      (o) => 'rule' in (o as object),
    );
    const expectRules = plan.config.mode === 'standalone' || plan.rules.length > 0;
    return setsThere && (!expectRules || rules.length > 0);
  }

  /** The config of the last successful apply. */
  get config(): Config | undefined {
    return this.#plan?.config;
  }

  async readTable(): Promise<TriggerTable> {
    const now = this.#clock();
    if (!this.#plan) return { at: now, entries: [], conflicts: [], blocked: [] };
    const sets = await this.#nft.listJson(['list', 'sets', 'table', 'inet', TABLE_NAME]);
    return readTriggerTable(
      this.#plan,
      parseKernelState(sets === null ? null : { sets, maps: { nftables: [] }, chains: { nftables: [] } }),
      now,
    );
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
    const out: { entry: string; line: string }[] = [];
    for (const e of table.entries) {
      if (e.rule !== selector.rule || (selector.family !== undefined && e.family !== selector.family))
        continue;
      if ((holder !== undefined && e.holder !== holder) || (remote !== undefined && e.remote !== remote))
        continue;
      const r = plan.rules.find((p) => p.rule.name === e.rule && p.family === e.family);
      if (!r) continue;
      const s = r.entrySets;
      const entry = `${e.family} ${e.holder} ${e.remote ?? ''}`;
      // Addresses are canonical output of the core's parser, so they are safe in a script.
      const lines =
        r.rule.remote === 'any'
          ? [
              `delete element ${T} ${s.h} { ${e.holder} }`,
              ...(s.d ? [`delete element ${T} ${s.d} { ipv4 }`] : []),
            ]
          : [
              ...(s.m ? [`delete element ${T} ${s.m} { ${e.remote} }`] : []),
              `delete element ${T} ${s.p} { ${e.remote} . ${e.holder} }`,
              `delete element ${T} ${s.t} { ${e.remote} }`,
            ];
      out.push(...lines.map((line) => ({ entry, line })));
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
