/**
 * `npm run bench [-- --quick] [-- --only b1,b3,b5] [-- --render-only]`: the benchmarks side by side, each against a baseline in the same run. The only bench file
 * that touches the process: arguments, signals, exit code, the output files.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runProgram } from '../src/adapters/exec.js';
import { removeStaleNamespaces } from '../src/lab/virtual-network.js';
import { runB1 } from './b1-forwarding.js';
import { runB2 } from './b2-trigger-open.js';
import { runB3 } from './b3-control-plane.js';
import { runB4 } from './b4-model.js';
import { runB5 } from './b5-observer.js';
import { runB6 } from './b6-change.js';
import { runB7 } from './b7-trigger-to-screen.js';
import { BenchContext, benchPlan } from './lib/context.js';
import { busyOthers, processTicks } from './lib/cpu.js';
import { REPO_ROOT } from './lib/lab.js';
import { describeMachine, ensureTools, loadNow, preflight, type ToolName } from './lib/machine.js';
import { newPart, type PartResult, type RunResults } from './lib/results.js';
import { formatRatio, renderResults } from './report.js';

const PARTS = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7'] as const;
type PartId = (typeof PARTS)[number];

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** Formats a markdown file with the project's formatter (biome checks bench/**), so `npm run lint` stays clean. */
async function formatMarkdown(path: string): Promise<void> {
  try {
    await runProgram(`${REPO_ROOT}node_modules/.bin/biome`, ['format', '--write', path], {
      timeoutMs: 60_000,
    });
  } catch (error) {
    log(`could not format ${path} with biome: ${(error as Error).message.split('\n')[0]}`);
  }
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${REPO_ROOT}bench/results/raw-${process.pid}.json.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      'render-only': { type: 'boolean', default: false },
    },
  });
  if (values['render-only']) {
    // Re-renders RESULTS.md from the last full run's JSON (after editing bench/analysis.md); measures nothing.
    const results = JSON.parse(readFileSync(`${REPO_ROOT}bench/results/full.json`, 'utf8')) as RunResults;
    writeFileSync(`${REPO_ROOT}bench/RESULTS.md`, renderResults(results, `${REPO_ROOT}bench/analysis.md`));
    await formatMarkdown(`${REPO_ROOT}bench/RESULTS.md`);
    log('wrote bench/RESULTS.md from bench/results/full.json');
    return 0;
  }
  const only = values.only ? values.only.split(',').map((s) => s.trim().toLowerCase()) : [...PARTS];
  const unknown = only.filter((p) => !PARTS.includes(p as PartId));
  if (unknown.length > 0) {
    log(`unknown part(s): ${unknown.join(', ')} (use ${PARTS.join(', ')})`);
    return 2;
  }
  const problems = await preflight();
  if (problems.length > 0) {
    log('cannot run the bench:');
    for (const p of problems) log(`  - ${p}`);
    return 1;
  }
  const plan = benchPlan(values.quick);
  const ctx = new BenchContext(plan, log);
  let interrupted = false;
  const onSignal = (signal: string) => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: cleaning up (namespaces, processes, files)`);
    // A cleanup that hangs must not keep the process (and whatever it spins) alive.
    setTimeout(() => {
      log('cleanup did not finish within 20 s; exiting anyway (run the bench again to remove leftovers)');
      process.exit(130);
    }, 20_000).unref();
    ctx.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('uncaughtException', (error) => {
    log(`unexpected error: ${error.stack ?? String(error)}`);
    onSignal('error');
  });
  try {
    for (const prefix of ['ptb', 'ptbx']) {
      const stale = await removeStaleNamespaces(runProgram, prefix);
      if (stale.length > 0) log(`removed ${stale.length} namespace(s) left by an earlier run`);
    }
    const wanted: ToolName[] = ['cc', 'iperf3', 'miniupnpd', 'upnpc', 'conntrack', 'perf'];
    const missing = await ensureTools(wanted, log);
    for (const [tool, why] of missing) log(`${tool} unavailable: ${why}`);
    const { machine, versions } = await describeMachine();
    const results: RunResults = {
      meta: {
        startedAt: new Date().toISOString(),
        mode: plan.mode,
        machine,
        versions,
        loadBefore: loadNow(),
        notes: [
          `Mode: ${plan.mode} (${plan.reps} repetitions).${only.length < PARTS.length ? ` Parts run: ${only.join(', ')}.` : ''}`,
          ...[...missing].map(
            ([tool, why]) => `${tool} unavailable: ${why}; the figures that need it are not measured.`,
          ),
        ],
      },
      parts: [],
    };
    const ticksBefore = processTicks();
    const started = Date.now();
    const runners: Record<PartId, () => Promise<PartResult>> = {
      b1: () => runB1(ctx, missing),
      b2: () => runB2(ctx, missing),
      b3: () => runB3(ctx, missing),
      b4: () => runB4(ctx),
      b5: () => runB5(ctx),
      b6: () => runB6(ctx),
      b7: () => runB7(ctx),
    };
    const titles: Record<PartId, string> = {
      b1: 'B1 forwarding cost',
      b2: 'B2 trigger-to-open',
      b3: 'B3 control plane',
      b4: 'B4 reference model',
      b5: 'B5 observing the kernel',
      b6: 'B6 change latency',
      b7: 'B7 trigger to screen',
    };
    for (const id of PARTS) {
      if (!only.includes(id)) continue;
      log(`${titles[id]}: starting`);
      let part: PartResult;
      try {
        part = await runners[id]();
      } catch (error) {
        part = newPart(id, titles[id]);
        part.status = 'failed';
        part.reason = (error as Error).message.split('\n')[0] ?? 'failed';
        log(`${titles[id]}: FAILED: ${(error as Error).stack ?? String(error)}`);
      }
      results.parts.push(part);
      for (const r of part.rows) {
        if (r.ratio !== undefined)
          log(`  ${r.label} [${r.group.slice(0, 60)}]: ${formatRatio(r.ratio)}× baseline`);
      }
      log(`${titles[id]}: ${part.status}${part.reason ? ` (${part.reason})` : ''}`);
    }
    results.meta.finishedAt = new Date().toISOString();
    results.meta.loadAfter = loadNow();
    results.meta.busyNeighbours = busyOthers(ticksBefore, processTicks(), (Date.now() - started) / 1000);
    mkdirSync(`${REPO_ROOT}bench/results`, { recursive: true });
    const complete = only.length === PARTS.length;
    const name = complete ? plan.mode : 'partial';
    writeAtomically(`${REPO_ROOT}bench/results/${name}.json`, `${JSON.stringify(results, null, 1)}\n`);
    const markdown = renderResults(results, `${REPO_ROOT}bench/analysis.md`);
    const mdPath =
      complete && plan.mode === 'full'
        ? `${REPO_ROOT}bench/RESULTS.md`
        : `${REPO_ROOT}bench/results/${name}.md`;
    writeFileSync(mdPath, markdown);
    await formatMarkdown(mdPath);
    log(`wrote ${mdPath} and bench/results/${name}.json`);
    return results.parts.some((p) => p.status === 'failed') ? 1 : 0;
  } finally {
    await ctx.close();
  }
}

process.exitCode = await main();
