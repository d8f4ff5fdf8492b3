/**
 * B6 change latency: one rule added, edited, disabled, deleted, and the global switch, through the service's
 * API at several table sizes, beside a bare `nft -f` of the same one-rule transaction in the same run.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runProgram } from '../src/adapters/exec.js';
import type { Config, Rule } from '../src/domain/types.js';
import { renderDelta } from '../src/nft/delta.js';
import { type Plan, planConfig, SHARED_SET_NAMES } from '../src/nft/plan.js';
import {
  baseChainNames,
  type ExistingObjects,
  kernelDispatchMaps,
  NO_TABLE,
  renderApplyScript,
} from '../src/nft/render.js';
import { renderSwitchDelta } from '../src/nft/switch-delta.js';
import type { BenchContext } from './lib/context.js';
import { freshNamespace } from './lib/namespaces.js';
import { newPart, type PartResult } from './lib/results.js';
import { benchConfig, rawConfig } from './lib/rulesets.js';
import { startBenchService } from './lib/service.js';
import { ratioOf, summarize, timeMs } from './lib/stats.js';

const OPERATIONS = ['add', 'edit', 'disable', 'delete', 'switch'] as const;
type Operation = (typeof OPERATIONS)[number];

const LABELS: Record<Operation, string> = {
  add: 'add a rule (POST /rules)',
  edit: 'edit a rule (PUT /rules/{name})',
  disable: 'disable a rule (POST /rules/{name}/disable)',
  delete: 'delete a rule (DELETE /rules/{name})',
  switch: 'global switch off (POST /disable)',
};

/** What the service's `<what>: time spent` record of each operation begins with (config-changes.ts). */
const SERVICE_WHAT: Record<Operation, string> = {
  add: 'create rule',
  edit: 'replace rule',
  disable: 'disable rule',
  delete: 'delete rule',
  switch: 'switch off',
};

/** The phases the service times for a change, in order (config-changes.ts, `#change`). */
const PHASES = ['checkMs', 'renderMs', 'readBeforeMs', 'applyMs', 'writeMs', 'readAfterMs'] as const;
type Phase = (typeof PHASES)[number];

/** Median ms of each phase, by operation. */
type PhaseMedians = Map<Operation, Partial<Record<Phase, number>>>;

const GOAL_MEDIAN_MS = 50;
const GOAL_P99_MS = 100;

/** The rule every change is made to: its ports are outside the bench rules' (10000+, 30000+). */
const PROBE = {
  name: 'b6-probe',
  trigger: [{ protocol: 'udp', ports: '4000' }],
  open: [{ protocol: 'udp', ports: '4001' }],
  idleTimeout: 300,
} as const;
const PROBE_RULE: Rule = {
  ...PROBE,
  trigger: [...PROBE.trigger],
  open: [...PROBE.open],
  enabled: true,
  family: 'both',
  lanHosts: 'any',
  remote: 'any',
  onExpire: 'keep',
};

/** The 99th percentile (the largest sample for fewer than 100). */
function p99(samples: readonly number[]): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
}

/** What the kernel holds after a full apply of `plan`: what a full apply from it deletes and keeps. */
function existingOf(plan: Plan): ExistingObjects {
  return {
    table: true,
    sets: new Set(SHARED_SET_NAMES),
    maps: new Set(kernelDispatchMaps(plan).map((m) => m.name)),
    chains: new Set([
      ...plan.rules.flatMap((r) => Object.values(r.chains).filter((c): c is string => !!c)),
      ...plan.fanouts.map((f) => f.name),
      ...baseChainNames(plan),
    ]),
  };
}

/**
 * The configs of one round, each change from the one before: the probe added, edited, disabled, deleted, then
 * the switch off and on again (the round ends where it began).
 */
function roundConfigs(base: Config): [Operation | 'switch-on', Config][] {
  const withProbe = (probe: Rule | undefined): Config => ({
    ...base,
    rules: probe ? [...base.rules, probe] : base.rules,
  });
  return [
    ['add', withProbe(PROBE_RULE)],
    ['edit', withProbe({ ...PROBE_RULE, idleTimeout: 301 })],
    ['disable', withProbe({ ...PROBE_RULE, idleTimeout: 301, enabled: false })],
    ['delete', withProbe(undefined)],
    ['switch', { ...base, enabled: false }],
    ['switch-on', base],
  ];
}

/** The bare transactions of one round: the delta a change makes (the switch's own), or the full apply. */
function bareScripts(base: Config): [Operation | 'switch-on', string][] {
  let before = planConfig(base);
  return roundConfigs(base).map(([op, config]) => {
    const after = planConfig(config);
    const delta = renderDelta(before, after, []) ?? renderSwitchDelta(before, after, []);
    const script = delta?.script ?? renderApplyScript(after, existingOf(before));
    before = after;
    return [op, script];
  });
}

/**
 * The nft of the Debian 13 root file system the booted-gateway tests cache (scripts/gateway-rootfs.sh), run
 * through chroot: a second bare baseline, because nft 1.0.6 (Debian 12) fetches every chain of the ruleset
 * before any change and nft 1.1 does not (bench/analysis.md).
 */
const NEWER_NFT_ROOT = join(
  process.env['PORTTRIGGER_GATEWAY_CACHE'] ?? '/var/cache/porttrigger-test',
  'trixie-base-v1',
);

/** The newer nft's version line, or undefined when the root file system is not cached on this machine. */
async function newerNft(): Promise<string | undefined> {
  if (!existsSync(join(NEWER_NFT_ROOT, 'usr/sbin/nft'))) return undefined;
  const { stdout } = await runProgram('chroot', [NEWER_NFT_ROOT, '/usr/sbin/nft', '--version']).catch(() => ({
    stdout: '',
  }));
  return stdout.trim() || undefined;
}

interface BareSamples {
  readonly nft: Map<Operation, number[]>;
  /** The same transactions with the newer nft, when there is one. */
  readonly newer?: Map<Operation, number[]>;
}

/** Times the bare transactions in a namespace that holds the same table, with each nft there is. */
async function measureBare(
  ctx: BenchContext,
  size: number,
  reps: number,
  newer: boolean,
): Promise<BareSamples> {
  const ns = await freshNamespace(ctx);
  const out = new Map<Operation, number[]>(OPERATIONS.map((op) => [op, []]));
  const outNewer = new Map<Operation, number[]>(OPERATIONS.map((op) => [op, []]));
  try {
    const base = benchConfig(size, { family: 'both' });
    await runProgram('nft', ['-f', '-'], {
      netns: ns.name,
      input: renderApplyScript(planConfig(base), NO_TABLE),
      timeoutMs: 300_000,
    });
    const scripts = bareScripts(base);
    for (let rep = 0; rep < reps; rep++) {
      for (const [op, script] of scripts) {
        const { ms } = await timeMs(() =>
          runProgram('nft', ['-f', '-'], { netns: ns.name, input: script, timeoutMs: 300_000 }),
        );
        if (op !== 'switch-on') out.get(op)!.push(ms);
      }
      // The same round again with the newer nft: each transaction leaves the table as the next one expects.
      if (!newer) continue;
      for (const [op, script] of scripts) {
        const { ms } = await timeMs(() =>
          runProgram('chroot', [NEWER_NFT_ROOT, '/usr/sbin/nft', '-f', '-'], {
            netns: ns.name,
            input: script,
            timeoutMs: 300_000,
          }),
        );
        if (op !== 'switch-on') outNewer.get(op)!.push(ms);
      }
    }
  } finally {
    await ns.remove();
  }
  return newer ? { nft: out, newer: outNewer } : { nft: out };
}

/** Times the same changes through the running service's API. */
async function measureService(
  ctx: BenchContext,
  size: number,
  reps: number,
): Promise<{ samples: Map<Operation, number[]>; phases: PhaseMedians }> {
  const ns = await freshNamespace(ctx);
  const out = new Map<Operation, number[]>(OPERATIONS.map((op) => [op, []]));
  // At debug level the service logs each change's phases; its other debug lines cost little next to a change.
  const service = await startBenchService(ctx, ns.name, rawConfig(size, { family: 'both' }), `b6-${size}`, {
    yaml: true,
    logLevel: 'debug',
  });
  let phases: PhaseMedians = new Map();
  try {
    const call = async (method: string, path: string, body?: unknown): Promise<void> => {
      const reply = await fetch(`${service.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${service.token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      if (!reply.ok) throw new Error(`${method} ${path}: ${reply.status} ${await reply.text()}`);
      await reply.arrayBuffer();
    };
    const steps: [Operation | 'switch-on', () => Promise<void>][] = [
      ['add', () => call('POST', '/rules', PROBE)],
      ['edit', () => call('PUT', `/rules/${PROBE.name}`, { ...PROBE, idleTimeout: 301 })],
      ['disable', () => call('POST', `/rules/${PROBE.name}/disable`)],
      ['delete', () => call('DELETE', `/rules/${PROBE.name}`)],
      ['switch', () => call('POST', '/disable')],
      ['switch-on', () => call('POST', '/enable')],
    ];
    for (let rep = 0; rep < reps; rep++) {
      for (const [op, step] of steps) {
        const { ms } = await timeMs(step);
        if (op !== 'switch-on') out.get(op)!.push(ms);
      }
    }
    // The last record is written before the last answer; the pipe may hand it over a moment later.
    await new Promise((resolve) => setTimeout(resolve, 200));
    phases = phaseMedians(service.timeSpent());
  } finally {
    await service.stop();
    await ns.remove();
  }
  return { samples: out, phases };
}

/** The median of each phase of each operation's `time spent` records. */
function phaseMedians(
  records: readonly { readonly what: string; readonly fields: Readonly<Record<string, unknown>> }[],
): PhaseMedians {
  const out: PhaseMedians = new Map();
  for (const op of OPERATIONS) {
    const mine = records.filter((r) => r.what === SERVICE_WHAT[op]);
    const medians: Partial<Record<Phase, number>> = {};
    for (const phase of PHASES) {
      const values = mine.map((r) => r.fields[phase]).filter((v): v is number => typeof v === 'number');
      const median = summarize(values)?.median;
      if (median !== undefined) medians[phase] = median;
    }
    out.set(op, medians);
  }
  return out;
}

/** The newer nft's bare median as a note. */
function newerNote(samples: readonly number[] | undefined): string {
  const median = samples ? summarize(samples)?.median : undefined;
  return median === undefined ? '' : `; bare with nft 1.1 (Debian 13): median ${median.toFixed(1)} ms`;
}

/** The phases of one operation as a note: `check 0.4, render 3.1, …` (ms, medians). */
function phaseNote(medians: Partial<Record<Phase, number>> | undefined): string {
  const parts = PHASES.flatMap((phase) => {
    const ms = medians?.[phase];
    return ms === undefined ? [] : [`${phase.replace(/Ms$/, '')} ${ms.toFixed(1)}`];
  });
  return parts.length > 0
    ? `; service phases, median ms: ${parts.join(', ')}`
    : '; service phases not logged';
}

/**
 * Runs B6 at every size of the plan.
 * @example const part = await runB6(ctx)
 */
export async function runB6(ctx: BenchContext): Promise<PartResult> {
  const part = newPart('b6', 'B6 change latency');
  const { b6 } = ctx.plan;
  part.method.push(
    `Each size (${b6.ruleSizes.join(', ')} dual-stack rules, the bench rule set) runs the service (\`node dist/main/daemon.js\` in a namespace of its own, API on loopback) and times, from request to answer, ${b6.reps} rounds of: add a rule, edit it (idle timeout), disable it, delete it, switch port triggering off (\`POST /disable\`: the file's top-level \`enabled:\` line and one transaction) and on again (\`POST /enable\`, not counted). Baseline, in the same run: a bare \`nft -f\` (through \`ip netns exec\`, as the service runs it) of the same transaction in a namespace that holds the same table: the delta the compiler renders for the change (for the switch, the switch delta of \`src/nft/switch-delta.ts\`). The service runs at debug level and logs each change's phases (\`<what>: time spent\`: check, render, readBefore, apply, write, readAfter; src/service/config-changes.ts): each row's note gives their medians, and the raw results keep them per size and operation. Goal per operation and size: median ≤ ${GOAL_MEDIAN_MS} ms and p99 ≤ ${GOAL_P99_MS} ms (with ${b6.reps} rounds, p99 is the largest sample).`,
  );
  const newerVersion = await newerNft();
  part.method.push(
    newerVersion
      ? `Second baseline: the same bare transactions with ${newerVersion} of the cached Debian 13 root file system (\`chroot\`, same namespace and table), given in each row's note: nft 1.0.6 fetches every chain of the ruleset before any change, nft 1.1 does not.`
      : 'Second baseline (nft 1.1 of the Debian 13 root file system the booted-gateway tests cache) not measured: that root file system is not on this machine.',
  );
  const raw: Record<string, unknown> = {};
  for (const size of b6.ruleSizes) {
    ctx.log(`B6: ${size} rules`);
    let bare: Map<Operation, number[]>;
    let bareNewer: Map<Operation, number[]> | undefined;
    let service: Map<Operation, number[]>;
    let phases: PhaseMedians;
    try {
      ({ nft: bare, newer: bareNewer } = await measureBare(ctx, size, b6.reps, newerVersion !== undefined));
      ({ samples: service, phases } = await measureService(ctx, size, b6.reps));
    } catch (error) {
      // One size that cannot be measured (a service that does not start in time) leaves the others standing.
      const reason = (error as Error).message.split('\n')[0] ?? 'failed';
      ctx.log(`B6: ${size} rules not measured: ${reason}`);
      part.status = 'partial';
      part.reason = `${size} rules: ${reason}`;
      continue;
    }
    raw[String(size)] = {
      bare: Object.fromEntries(bare),
      ...(bareNewer ? { bareNewerNft: Object.fromEntries(bareNewer) } : {}),
      service: Object.fromEntries(service),
      servicePhaseMedians: Object.fromEntries(phases),
    };
    for (const op of OPERATIONS) {
      const value = summarize(service.get(op)!);
      const baseline = summarize(bare.get(op)!);
      const worst = p99(service.get(op)!);
      part.rows.push({
        id: `b6-${op}-${size}`,
        group: `B6 one change at ${size.toLocaleString('en')} rules`,
        label: LABELS[op],
        unit: 'ms',
        better: 'lower',
        baselineLabel: 'bare nft -f of the same transaction',
        baseline,
        value,
        ratio: ratioOf(value, baseline),
        goal: {
          text: `median ≤ ${GOAL_MEDIAN_MS} ms, p99 ≤ ${GOAL_P99_MS} ms`,
          met:
            value && worst !== undefined ? value.median <= GOAL_MEDIAN_MS && worst <= GOAL_P99_MS : undefined,
        },
        note: `${worst !== undefined ? `p99 ${worst.toFixed(0)} ms` : 'not measured'}${newerNote(bareNewer?.get(op))}${phaseNote(phases.get(op))}`,
      });
    }
  }
  part.raw['b6'] = raw;
  return part;
}
