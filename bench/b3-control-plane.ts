import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProgram } from '../src/adapters/exec.js';
import { KernelDatapath } from '../src/adapters/kernel-datapath.js';
import { createNftRunner } from '../src/adapters/nft.js';
import { createSetReader } from '../src/adapters/set-reader.js';
import { validateConfig } from '../src/domain/config.js';
import type { Config } from '../src/domain/types.js';
import { planConfig } from '../src/nft/plan.js';
import { readBackSetNames } from '../src/nft/read-back.js';
import { NO_TABLE, renderApplyScript } from '../src/nft/render.js';
import { measureService } from './b3-service.js';
import type { BenchContext } from './lib/context.js';
import { freshNamespace } from './lib/namespaces.js';
import { perfNft, profileCall } from './lib/profile.js';
import { newPart, type PartResult, type Row } from './lib/results.js';
import {
  benchConfig,
  rawConfig,
  SEED_HOLDER,
  seedContactedScript,
  staticForwardScript,
} from './lib/rulesets.js';
import { ratioOf, type Summary, summarize, timeMs } from './lib/stats.js';

// The goals of issue #20 (fast changes): they replaced 2 s and 1 s.
const APPLY_GOAL_MS = 1000;
const READ_GOAL_MS = 500;

async function nftFile(netns: string, script: string, timeoutMs: number): Promise<number> {
  const { ms } = await timeMs(() => runProgram('nft', ['-f', '-'], { netns, input: script, timeoutMs }));
  return ms;
}

interface SizeSamples {
  validate: number[];
  compile: number[];
  apply: number[];
  total: number[];
  staticNft: number[];
  rawNft: number[];
  failures: string[];
  scriptBytes?: number;
  objects?: { sets: number; maps: number; chains: number; lines: number };
}

function shapeOf(script: string): NonNullable<SizeSamples['objects']> {
  const lines = script.split('\n');
  return {
    sets: lines.filter((l) => /^\tset /.test(l)).length,
    maps: lines.filter((l) => /^\tmap /.test(l)).length,
    chains: lines.filter((l) => /^\tchain /.test(l)).length,
    lines: lines.length,
  };
}

/** One repetition for one size: every phase timed, each nft load into a namespace of its own. */
async function applyOnce(ctx: BenchContext, size: number, s: SizeSamples, budgetEnd: number): Promise<void> {
  const raw = rawConfig(size, { family: 'both' });
  const v = await timeMs(() => validateConfig(raw));
  if (!v.value.ok) throw new Error(`validation refused the bench config: ${v.value.issues[0]?.message}`);
  const config = v.value.value;
  const c = await timeMs(() => renderApplyScript(planConfig(config), NO_TABLE));
  const script = c.value;
  s.scriptBytes = script.length;
  s.objects = shapeOf(script);
  s.validate.push(v.ms);
  s.compile.push(c.ms);

  const base = await freshNamespace(ctx);
  try {
    s.staticNft.push(await nftFile(base.name, staticForwardScript(size), 120_000));
  } finally {
    await base.remove();
  }

  const ns = await freshNamespace(ctx);
  try {
    const datapath = new KernelDatapath({ nft: createNftRunner({ netns: ns.name }) });
    const start = process.hrtime.bigint();
    try {
      await datapath.apply(config);
      const applyMs = Number(process.hrtime.bigint() - start) / 1e6;
      s.apply.push(applyMs);
      s.total.push(v.ms + c.ms + applyMs);
    } catch (error) {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const message = (error as Error).message.split('\n')[0] ?? '';
      // The runner kills nft after 120 s; the datapath then reports NFT_MISSING ("install nftables").
      const timedOut = ms >= 119_000 && /could not run/.test(message);
      s.failures.push(
        `apply failed after ${(ms / 1000).toFixed(1)} s: ${
          timedOut
            ? 'the nft runner\'s 120 s timeout killed `nft -c` (the datapath reports this as NFT_MISSING, "install nftables")'
            : message
        }`,
      );
      return;
    }
  } finally {
    await ns.remove();
  }

  const rest = budgetEnd - Date.now();
  if (rest <= 0) return;
  const rawNs = await freshNamespace(ctx);
  try {
    s.rawNft.push(await nftFile(rawNs.name, script, Math.max(rest, 10_000)));
  } catch (error) {
    s.failures.push(`nft -f of the same script: ${(error as Error).message.split('\n')[0]}`);
  } finally {
    await rawNs.remove();
  }
}

function row(
  id: string,
  group: string,
  label: string,
  value: Summary | undefined,
  baseline: Summary | undefined,
  baselineLabel: string,
  extra: Partial<Row> = {},
): Row {
  return {
    id,
    group,
    label,
    unit: 'ms',
    better: 'lower',
    baselineLabel,
    baseline,
    value,
    ratio: ratioOf(value, baseline),
    ...extra,
  };
}

async function measureApply(ctx: BenchContext, part: PartResult): Promise<Map<number, SizeSamples>> {
  const { b3, reps } = ctx.plan;
  const bySize = new Map<number, SizeSamples>();
  for (const size of b3.ruleSizes) {
    const s: SizeSamples = {
      validate: [],
      compile: [],
      apply: [],
      total: [],
      staticNft: [],
      rawNft: [],
      failures: [],
    };
    bySize.set(size, s);
    const budgetEnd = Date.now() + b3.sizeBudgetS * 1000;
    for (let rep = 0; rep < reps && (rep === 0 || Date.now() < budgetEnd); rep++) {
      await applyOnce(ctx, size, s, budgetEnd);
      if (s.failures.some((f) => f.startsWith('apply failed'))) break;
    }
    ctx.log(
      `  B3: ${size} rules: ${s.total.length} full repetition(s)${s.failures.length ? `, ${s.failures[0]}` : ''}`,
    );
    const group = 'B3 validate + compile + apply into a fresh namespace (dual-stack rules)';
    const staticS = summarize(s.staticNft);
    const staticLabel = `nft -f of a static port-forward ruleset with ${size} DNAT rules, same run`;
    const n = size.toLocaleString('en');
    const applyFailure = s.failures.find((f) => f.startsWith('apply failed'));
    const goal =
      size === 10_000
        ? {
            goal: {
              text: `apply of 10,000 rules ≤ ${APPLY_GOAL_MS / 1000} s`,
              met: applyFailure
                ? false
                : s.total.length
                  ? summarize(s.total)!.median <= APPLY_GOAL_MS
                  : undefined,
            },
          }
        : {};
    part.rows.push(
      row(
        `total-${size}`,
        group,
        `${n} rules: validate + compile + apply`,
        summarize(s.total),
        staticS,
        staticLabel,
        {
          ...goal,
          ...(applyFailure ? { note: applyFailure } : {}),
        },
      ),
      row(
        `validate-${size}`,
        group,
        `${n} rules: validateConfig`,
        summarize(s.validate),
        staticS,
        staticLabel,
      ),
      row(
        `compile-${size}`,
        group,
        `${n} rules: planConfig + renderApplyScript`,
        summarize(s.compile),
        staticS,
        staticLabel,
        {
          note: s.objects
            ? `script: ${((s.scriptBytes ?? 0) / 1e6).toFixed(1)} MB, ${s.objects.lines.toLocaleString('en')} lines, ${s.objects.sets.toLocaleString('en')} sets, ${s.objects.maps} maps, ${s.objects.chains.toLocaleString('en')} chains`
            : '',
        },
      ),
      row(
        `apply-${size}`,
        group,
        `${n} rules: KernelDatapath.apply`,
        summarize(s.apply),
        staticS,
        staticLabel,
        {
          ...(applyFailure ? { note: applyFailure } : {}),
        },
      ),
      row(
        `apply-vs-raw-${size}`,
        'B3 KernelDatapath.apply against one nft -f of the same script',
        `${n} rules`,
        summarize(s.apply),
        summarize(s.rawNft),
        'nft -f of the same rendered script into a fresh namespace, same run',
        s.rawNft.length === 0
          ? {
              note: applyFailure
                ? 'not measured: the apply itself did not finish'
                : 'not measured: time budget',
            }
          : {},
      ),
    );
  }
  return bySize;
}

/** B3's read-back rows: exported so that the read can be measured alone (it needs no applies of large tables). */
export async function measureReadBack(ctx: BenchContext, part: PartResult): Promise<void> {
  const { b3, reps } = ctx.plan;
  const ns = await freshNamespace(ctx);
  try {
    const nft = createNftRunner({ netns: ns.name });
    // As the service's datapath: the set reader when the build made it (nft -j otherwise, said in the note).
    const reader = createSetReader({ netns: ns.name });
    let readerFault: string | undefined;
    const datapath = new KernelDatapath({
      nft,
      ...(reader ? { setReader: reader } : {}),
      onSetReaderFault: (e) => {
        readerFault = String(e);
      },
    });
    const config: Config = benchConfig(1, { family: 'both', remote: 'contacted' });
    await datapath.apply(config);
    const plan = planConfig(config);
    const readBackSets = readBackSetNames(plan);
    let seeded = 0;
    for (const size of b3.entrySizes) {
      await runProgram('nft', ['-f', '-'], {
        netns: ns.name,
        input: seedContactedScript(plan, seeded, size - seeded, SEED_HOLDER),
        timeoutMs: 300_000,
      });
      seeded = size;
      const read: number[] = [];
      const full: number[] = [];
      const list: number[] = [];
      const bare: number[] = [];
      let count = -1;
      for (let rep = 0; rep < reps; rep++) {
        // What the service reads on each signal; the full read (reconciliation, other tools' changes) aside.
        const r = await timeMs(async () => (await datapath.read('entries')).table);
        read.push(r.ms);
        count = r.value.entries.length;
        full.push((await timeMs(() => datapath.read('full'))).ms);
        list.push(
          (
            await timeMs(() =>
              runProgram('nft', ['-j', 'list', 'sets', 'table', 'inet', 'porttrigger'], {
                netns: ns.name,
                timeoutMs: 120_000,
              }),
            )
          ).ms,
        );
        if (reader) bare.push((await timeMs(() => reader.read(readBackSets))).ms);
      }
      const n = size.toLocaleString('en');
      const how = !reader
        ? `; no set reader built: read through nft -j`
        : readerFault
          ? `; the set reader failed (${readerFault}): read through nft -j`
          : `; through the set reader, which alone (its run and decoding, the ${readBackSets.length} sets read-back needs) took median ${summarize(bare)?.median.toFixed(0) ?? '?'} ms`;
      const value = summarize(read);
      part.rows.push(
        row(
          `read-${size}`,
          "B3 read-back of active entries (KernelDatapath.read('entries'), the read of each signal)",
          `${n} entries (1 remote: contacted rule)`,
          value,
          summarize(list),
          '`nft -j list sets table inet porttrigger` alone (the listing read parses), same run',
          {
            ...(size === 65_000
              ? {
                  goal: {
                    text: `read 65,000 entries ≤ ${READ_GOAL_MS / 1000} s`,
                    met: value ? value.median <= READ_GOAL_MS : undefined,
                  },
                }
              : {}),
            note: `full read (one listing of the whole table, with chains and maps): median ${summarize(full)?.median.toFixed(0) ?? '?'} ms${how}${count !== size ? `; read returned ${count} entries, ${size} were seeded` : ''}`,
            extra: { full: summarize(full), ...(reader ? { reader: summarize(bare) } : {}) },
          },
        ),
      );
    }
  } finally {
    await ns.remove();
  }
}

/** Profiles and ruleset shape, captured when a goal is missed, so RESULTS.md shows where the time goes. */
async function investigate(
  ctx: BenchContext,
  part: PartResult,
  missing: ReadonlyMap<string, string>,
  nftSize: number,
): Promise<void> {
  const size = 2000;
  const raw = rawConfig(size, { family: 'both' });
  const validateHot = await profileCall(() => validateConfig(raw));
  const v = validateConfig(raw);
  if (!v.ok) return;
  const compileHot = await profileCall(() => renderApplyScript(planConfig(v.value), NO_TABLE));
  const fmt = (h: { where: string; share: number }[]) =>
    h.map((x) => `${(x.share * 100).toFixed(1)} % ${x.where}`).join('; ');
  part.findings.push(`V8 CPU profile of validateConfig, ${size} rules (self time): ${fmt(validateHot)}.`);
  part.findings.push(
    `V8 CPU profile of planConfig + renderApplyScript, ${size} rules (self time): ${fmt(compileHot)}.`,
  );
  part.raw['profiles'] = { validate: validateHot, compile: compileHot };
  if (missing.has('perf')) {
    part.findings.push(`perf profile of nft -f not taken: ${missing.get('perf')}.`);
    return;
  }
  const file = join(ctx.scratch, `pt-${nftSize}.nft`);
  writeFileSync(file, renderApplyScript(planConfig(benchConfig(nftSize, { family: 'both' })), NO_TABLE));
  const ns = await freshNamespace(ctx);
  try {
    const hot = await perfNft(ns.name, file, join(ctx.scratch, 'perf.data'));
    part.findings.push(
      `perf profile of \`nft -f\` of porttrigger's ${nftSize}-rule script (kernel and nft, by symbol): ${fmt(hot)}.`,
    );
    part.raw['profiles'] = { ...(part.raw['profiles'] as object), nft: hot };
  } catch (error) {
    part.findings.push(`perf profile of nft -f failed: ${(error as Error).message.split('\n')[0]}.`);
  } finally {
    await ns.remove();
  }
}

/** B3: control-plane costs: apply at three sizes, read-back at three sizes, the service's memory and CPU. */
export async function runB3(ctx: BenchContext, missing: ReadonlyMap<string, string>): Promise<PartResult> {
  const part = newPart('b3', 'B3 control plane');
  const { b3, reps } = ctx.plan;
  part.method.push(
    'Rules: the measured rule plus fillers (trigger 10000+i, open 30000+i, both protocols), default `family: both`, standalone mode; given to validateConfig as a parsed document.',
    "Phases per repetition: validateConfig; planConfig + renderApplyScript (against an empty table); KernelDatapath.apply into a fresh namespace (reads the table, `nft -c -f -`, then `nft -f -`, as the service does). Baseline: one `nft -f` of a static port-forward ruleset with the same number of DNAT rules into a fresh namespace; second reference: one `nft -f` of porttrigger's own rendered script.",
    `Repetitions: ${reps}, or fewer when one size has used its ${b3.sizeBudgetS} s budget (at least one runs); a failed apply ends that size.`,
    "Read-back: one `remote: contacted` rule; entries seeded with `nft add element` batches into its IPv4 sets (remotes from 198.18.0.0/15, holder lan2), cumulatively to each size; KernelDatapath.read('entries') (the read the service makes on each kernel signal: through the set reader, native/set-reader, when it is built; else one `nft -j` listing of the sets, or set by set from 3,000 elements on) timed against the bare `nft -j list sets table inet porttrigger`; the full read (one `nft -j list table`, at the reconciliation and after other tools' changes) is in the note.",
  );
  const started = Date.now();
  const bySize = await measureApply(ctx, part);
  part.raw['apply'] = Object.fromEntries(bySize);
  await measureReadBack(ctx, part);
  const missed = part.rows.some((r) => r.goal?.met === false);
  // perf the largest apply that finished (an unfinished one could take minutes under perf too).
  const applied = [...bySize].filter(([, v]) => v.apply.length > 0).map(([k]) => k);
  if (missed) await investigate(ctx, part, missing, Math.max(2000, ...applied));
  await measureService(ctx, part);
  const failures = [...bySize.values()].flatMap((s) => s.failures);
  if (failures.length > 0) {
    part.status = 'partial';
    part.reason = failures.join('; ');
  }
  part.durationS = Math.round((Date.now() - started) / 1000);
  return part;
}
