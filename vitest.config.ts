import { defineConfig } from 'vitest/config';

const KERNEL = ['test/**/*.kernel.test.ts'];

export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
          exclude: KERNEL,
          testTimeout: 20_000,
        },
      },
      {
        // Kernel suites send real packets against real timeouts: one file at a time keeps the two cores free
        // enough for their timing. Scenarios inside a file may still run side by side, each in its own namespaces.
        test: {
          name: 'kernel',
          include: KERNEL,
          poolOptions: { forks: { singleFork: true } },
          maxConcurrency: 2,
          testTimeout: 90_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
