import { fileURLToPath } from 'node:url';
import { runProgram } from '../src/adapters/exec.js';
import type { BenchContext } from './lib/context.js';
import type { Hotspot } from './lib/profile.js';
import { newPart, type PartResult } from './lib/results.js';
import { ratioOf, summarize } from './lib/stats.js';

interface ModelRun {
  readonly rules: number;
  readonly entries: number;
  readonly batch: number;
  readonly pool: number;
  readonly model: number[];
  readonly baseline: number[];
  readonly hotspots: Hotspot[];
}

/**
 * B4: decisions per second of the reference model against Map lookups of the same size, one process. The model
 * states the semantics for the conformance suite and runs only in tests and benchmarks, so the rate is reported
 * without a goal.
 */
export async function runB4(ctx: BenchContext): Promise<PartResult> {
  const part = newPart('b4', 'B4 reference model');
  const { rules, entries, iterations } = ctx.plan.b4;
  part.method.push(
    `A separate Node process (bench/b4-model-main.ts) builds a ReferenceModel with ${rules.toLocaleString('en')} rules (remote: contacted, dual-stack) and ${entries.toLocaleString('en')} entries made by trigger packets, and a fixed pool of 100,000 IPv4 packets: 40 % inbound to an open port from a remote holding an entry, 20 % inbound from a remote holding none, 30 % triggers from holders, 10 % other LAN traffic.`,
    `Harness: warm-up of two passes over the pool, then ${iterations} iterations of 1,000,000 model.process() calls, each followed by 1,000,000 lookups in a Map of ${entries.toLocaleString('en')} string keys shaped like the model's entry keys (the baseline), so both see the same machine state. Median, min and max of the iterations; ratio = model ÷ Map.`,
  );
  const started = Date.now();
  const main = fileURLToPath(new URL('./b4-model-main.js', import.meta.url));
  const { stdout } = await runProgram(
    process.execPath,
    [main, String(rules), String(entries), String(iterations)],
    {
      timeoutMs: 600_000,
    },
  );
  const run = JSON.parse(stdout) as ModelRun;
  const value = summarize(run.model);
  const baseline = summarize(run.baseline);
  part.rows.push({
    id: 'model',
    group: 'B4 ReferenceModel.process() decisions per second',
    label: `${run.rules.toLocaleString('en')} rules, ${run.entries.toLocaleString('en')} entries`,
    unit: 'decisions/s',
    better: 'higher',
    baselineLabel: `Map.get over ${entries.toLocaleString('en')} keys, same process, interleaved`,
    baseline,
    value,
    ratio: ratioOf(value, baseline),
    note: `reported only: the model is written to be read next to docs/semantics.md, not to be fast${run.entries !== entries ? `; it held ${run.entries} entries, ${entries} were intended` : ''}`,
  });
  part.raw['run'] = run;
  if (value) {
    part.findings.push(
      `V8 CPU profile of 1,000,000 decisions (self time): ${run.hotspots
        .map((h) => `${(h.share * 100).toFixed(1)} % ${h.where}`)
        .join('; ')}.`,
    );
  }
  part.durationS = Math.round((Date.now() - started) / 1000);
  return part;
}
