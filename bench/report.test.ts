import { describe, expect, it } from 'vitest';
import { memoryGoal } from './b3-service.js';
import { goalOn } from './lib/goals.js';
import { newPart, type Row, type RunResults } from './lib/results.js';
import { summarize } from './lib/stats.js';
import { renderResults } from './report.js';

function run(rows: Row[]): string {
  const part = newPart('b3', 'B3 control plane');
  part.rows.push(...rows);
  const results: RunResults = {
    meta: {
      startedAt: '2026-12-06T00:00:00Z',
      mode: 'full',
      machine: {},
      versions: {},
      loadBefore: [0, 0, 0],
      notes: [],
    },
    parts: [part],
  };
  return renderResults(results, '/nonexistent/analysis.md');
}

function memoryRow(samples: number[], goalMb: number): Row {
  const value = summarize(samples);
  const baseline = summarize(samples.map(() => 40));
  return {
    id: 'service-rss-entries',
    group: 'B3 service at rest',
    label: 'resident memory (VmRSS), 1,000 rules, 10,000 entries',
    unit: 'MB',
    better: 'lower',
    baselineLabel: 'idle node process, same time',
    baseline,
    value,
    ratio: value!.median / baseline!.median,
    goal: memoryGoal(value, goalMb),
  };
}

function goalLine(markdown: string): string {
  return markdown.split('\n').find((l) => l.startsWith('| B3 ') && l.includes('resident memory')) ?? '';
}

describe('the Goals table of RESULTS.md', () => {
  it('calls 92 MB against a goal of ≤ 100 MB met, though one sample reached 104 MB', () => {
    const line = goalLine(run([memoryRow([...Array(29).fill(92), 104], 100)]));
    expect(line).toContain('92 MB (median)');
    expect(line).toMatch(/\| met \|$/);
  });

  it('calls a resting level above the goal missed, next to the figure it compared', () => {
    const line = goalLine(run([memoryRow(Array(30).fill(69), 50)]));
    expect(line).toContain('69 MB (median)');
    expect(line).toContain('**missed**');
  });

  it('shows the figure a goal was judged on when it is not the median (a p99, a maximum)', () => {
    const value = summarize([10, 10, 10, 10, 400]);
    const line = run([
      {
        id: 'takeover',
        group: 'B5 live trigger connections take a free rule',
        label: 'an entry ends → the contender opens',
        unit: 'ms',
        better: 'lower',
        baselineLabel: '—',
        baseline: undefined,
        value,
        ratio: undefined,
        goal: goalOn('≤ 300 ms', value, 'max', { atMost: 300 }),
      },
    ])
      .split('\n')
      .find((l) => l.startsWith('| B3 ') && l.includes('contender'));
    expect(line).toContain('400 ms (max)');
    expect(line).toContain('**missed**');
  });
});
