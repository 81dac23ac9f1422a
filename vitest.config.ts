import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds the busybox base image once per run and leaves a swarm the run joined (test/support/).
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real services (registry, dockerd) and child processes make file-level parallelism cheap but
    // CPU-bound on 2 cores; keep a small pool.
    pool: 'forks',
    maxWorkers: 2,
  },
});
