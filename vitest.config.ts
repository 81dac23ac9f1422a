import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // What vnfpipe remembers per user (pushed blobs' repositories) goes to a folder of this run, not the home.
    env: { VNFPIPE_CACHE_DIR: mkdtempSync(join(tmpdir(), 'vnfpipe-test-user-cache-')) },
    // Builds the busybox base image once per run and leaves a swarm the run joined (test/support/).
    globalSetup: ['test/support/global-setup.ts'],
    // Generous: the bound is there to end a hung test, and the machine may be busy with other work.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Real services (registry, dockerd) and child processes make file-level parallelism cheap but
    // CPU-bound on 2 cores; keep a small pool.
    pool: 'forks',
    maxWorkers: 2,
  },
});
