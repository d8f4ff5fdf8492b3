import { defineConfig } from 'vitest/config';

// Kernel suites build their own network namespaces with unique names, so files run in parallel safely.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
