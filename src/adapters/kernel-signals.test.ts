import { describe, expect, it } from 'vitest';
import { monitorReader, OwnWriters } from './kernel-signals.js';

/** `nft monitor` output as this kernel prints it (checked on Linux 6.18, nft 1.0.6). */
const FLUSH_SET_BY = (pid: number) => [
  'delete element inet porttrigger hold4 { 6912102 . 192.168.1.10 timeout 1m expires 59s792ms }',
  `# new generation 41 by process ${pid} (nft)`,
];
const FLUSH_RULESET_BY = (pid: number) => [
  'delete set inet porttrigger hold4',
  'delete chain inet porttrigger dstnat',
  'delete table inet porttrigger',
  `# new generation 42 by process ${pid} (nft)`,
];
const OTHER_TABLE = [
  'add element inet filter allowed { 10.0.0.1 }',
  '# new generation 43 by process 777 (nft)',
];

function feed(writers: OwnWriters, lines: readonly string[]): number {
  let changes = 0;
  const read = monitorReader(writers, () => changes++);
  for (const line of lines) read(line);
  return changes;
}

describe('monitorReader', () => {
  it("signals one change per transaction of another process on our table, none for our own or others' tables", () => {
    const writers = new OwnWriters();
    writers.add(1000);
    expect(feed(writers, FLUSH_SET_BY(2000))).toBe(1);
    expect(feed(writers, FLUSH_RULESET_BY(2000))).toBe(1);
    expect(feed(writers, [...FLUSH_SET_BY(2000), ...FLUSH_RULESET_BY(2001)])).toBe(2);
    expect(feed(writers, FLUSH_RULESET_BY(1000))).toBe(0);
    expect(feed(writers, OTHER_TABLE)).toBe(0);
    // A transaction of ours between two of another tool's does not hide them.
    expect(feed(writers, [...FLUSH_SET_BY(2000), ...FLUSH_SET_BY(1000), ...FLUSH_RULESET_BY(2000)])).toBe(2);
  });

  it('does not take a table whose name starts like ours for ours', () => {
    const lines = ['delete table inet porttrigger2', '# new generation 44 by process 5 (nft)'];
    expect(feed(new OwnWriters(), lines)).toBe(0);
  });

  it('forgets the oldest writers beyond a bound', () => {
    const writers = new OwnWriters();
    for (let pid = 1; pid <= 300; pid++) writers.add(pid);
    expect(writers.has(1)).toBe(false);
    expect(writers.has(300)).toBe(true);
  });
});
