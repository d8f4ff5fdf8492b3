import { describe } from 'vitest';

/** False only when `PORTTRIGGER_SKIP_KERNEL=1`: kernel suites (namespaces, nftables) must otherwise run. */
export const kernelAvailable: boolean = process.env['PORTTRIGGER_SKIP_KERNEL'] !== '1';

/** Declares a suite that needs the kernel (root, namespaces, nftables); skipped loudly when the gate is off. */
export function describeKernel(name: string, fn: () => void): void {
  if (!kernelAvailable) {
    console.warn(`!!! KERNEL TESTS SKIPPED (PORTTRIGGER_SKIP_KERNEL=1): "${name}" did not run !!!`);
  }
  describe.skipIf(!kernelAvailable)(name, fn);
}
