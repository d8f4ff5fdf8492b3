import { describe, expect, it } from 'vitest';
import { ExecError, KILL_GRACE_MS, runProgram } from './exec.js';

describe('runProgram', () => {
  it('feeds standard input and returns the output', async () => {
    expect((await runProgram('cat', [], { input: 'a "quoted; $(not run)" line' })).stdout).toBe(
      'a "quoted; $(not run)" line',
    );
  });

  it('starts the program at once and feeds it the input a promise gives later', async () => {
    let give: (text: string) => void = () => undefined;
    let started = false;
    const running = runProgram('cat', [], {
      input: new Promise<string>((resolve) => {
        give = resolve;
      }),
      onSpawn: () => {
        started = true;
      },
    });
    expect(started).toBe(true);
    give('given later');
    expect((await running).stdout).toBe('given later');
  });

  it.each([
    [
      'a program that exits non-zero',
      'sh',
      ['-c', 'echo oops >&2; exit 3'],
      'EXEC_EXIT',
      /exited with 3: oops/,
    ],
    ['a program that does not exist', 'porttrigger-no-such-program', [], 'EXEC_MISSING', /not found/],
    ['a program that runs too long', 'sleep', ['5'], 'EXEC_TIMEOUT', /timed out after 200 ms/],
  ])('names %s', async (_what, program, args, code, message) => {
    const error = await runProgram(program, args, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecError);
    expect((error as ExecError).code).toBe(code);
    expect((error as ExecError).message).toMatch(message);
  });
});

describe('runProgram with a program that will not stop', () => {
  it('answers within the timeout and the kill grace although the program ignores SIGTERM and has a child', async () => {
    // The shell ignores SIGTERM and its child holds stdout open: neither the exit nor the pipes end the call.
    const started = Date.now();
    const error = await runProgram('sh', ['-c', "trap '' TERM; sleep 10 & sleep 10; wait"], {
      timeoutMs: 300,
    }).catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(error).toBeInstanceOf(ExecError);
    expect((error as ExecError).code).toBe('EXEC_TIMEOUT');
    // Bounded by timeout + grace (with slack for a loaded machine), far below the program's 10 s.
    expect(took).toBeLessThan(300 + KILL_GRACE_MS + 5_000);
  });
});
