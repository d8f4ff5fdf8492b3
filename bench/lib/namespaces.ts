import { runProgram } from '../../src/adapters/exec.js';
import type { BenchContext } from './context.js';

let namespaces = 0;

/** A new, empty network namespace, removed at cleanup or earlier through the returned function. */
export async function freshNamespace(
  ctx: BenchContext,
): Promise<{ name: string; remove: () => Promise<void> }> {
  // The `-router` suffix lets removeStaleNamespaces('ptbx') clear what a killed run left behind.
  const name = `ptbx-${process.pid}-${namespaces++}-router`;
  await runProgram('ip', ['netns', 'add', name], { timeoutMs: 10_000 });
  const remove = ctx.defer(`namespace ${name}`, async () => {
    await runProgram('ip', ['netns', 'delete', name], { timeoutMs: 10_000 });
  });
  return { name, remove };
}
