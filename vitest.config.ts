import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real services (registry, dockerd) and child processes make file-level parallelism cheap but
    // CPU-bound on 2 cores; keep a small pool.
    pool: 'forks',
    maxWorkers: 2,
  },
});
