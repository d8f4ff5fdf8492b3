import { describe, expect, it } from 'vitest';
import { watchLines } from './line-watch.js';

describe('watchLines', () => {
  it('hands over what a running program prints to stderr, without taking it for its end', async () => {
    const stderr: string[] = [];
    const errors: Error[] = [];
    const lines: string[] = [];
    const watch = watchLines({
      program: 'sh',
      // As `ip monitor` after its socket overflowed: it says so on stderr and prints on.
      args: [
        '-c',
        'echo "netlink receive error No buffer space available (105)" >&2; echo next; exec sleep 10',
      ],
      onLine: (line) => lines.push(line),
      onStderr: (text) => stderr.push(text),
      onError: (error) => errors.push(error),
    });
    try {
      await expect.poll(() => stderr.join(''), { timeout: 5_000 }).toContain('No buffer space available');
      await expect.poll(() => lines, { timeout: 5_000 }).toEqual(['next']);
      expect(watch.running).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await watch.close();
    }
  });
});
