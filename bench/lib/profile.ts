import { Session } from 'node:inspector/promises';
import { relative } from 'node:path';
import { runProgram } from '../../src/adapters/exec.js';
import { REPO_ROOT } from './lab.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly hitCount?: number;
}

/** One line of a profile: where time went and its share of all samples. */
export interface Hotspot {
  readonly where: string;
  readonly share: number;
}

/**
 * Runs `fn` under the V8 CPU profiler (the same profiler as `node --cpu-prof`) and returns the functions with
 * the most self time.
 */
export async function profileCall(fn: () => unknown, top = 8): Promise<Hotspot[]> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    fn();
    const { profile } = (await session.post('Profiler.stop')) as { profile: { nodes: ProfileNode[] } };
    const self = new Map<string, number>();
    let total = 0;
    for (const node of profile.nodes) {
      const hits = node.hitCount ?? 0;
      total += hits;
      const { functionName, url, lineNumber } = node.callFrame;
      if (functionName === '(idle)' || functionName === '(program)') continue;
      const file = url.startsWith('file://') ? relative(REPO_ROOT, new URL(url).pathname) : url || 'native';
      const key = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
      self.set(key, (self.get(key) ?? 0) + hits);
    }
    return [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, hits]) => ({ where, share: total ? hits / total : 0 }));
  } finally {
    session.disconnect();
  }
}

/**
 * Records `nft -f` of a script with perf (inside a namespace) and returns the symbols with the most samples;
 * undefined when perf is not available.
 */
export async function perfNft(
  netns: string,
  scriptFile: string,
  dataFile: string,
  top = 8,
): Promise<Hotspot[]> {
  await runProgram(
    'perf',
    [
      'record',
      '-q',
      '-F',
      '999',
      '-o',
      dataFile,
      '--',
      'ip',
      'netns',
      'exec',
      netns,
      'nft',
      '-f',
      scriptFile,
    ],
    { timeoutMs: 300_000 },
  );
  const { stdout } = await runProgram(
    'perf',
    ['report', '-q', '-i', dataFile, '--stdio', '--no-children', '--sort', 'sym'],
    { timeoutMs: 120_000 },
  );
  return stdout
    .split('\n')
    .map((l) => /^\s*([\d.]+)%\s+\[[.k]\]\s+(.+?)\s*$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .slice(0, top)
    .map((m) => ({ where: m[2]!, share: Number(m[1]) / 100 }));
}
