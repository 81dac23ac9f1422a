/**
 * Once per test run, before any worker starts: the busybox base layout (see base-image.ts) is made ready and
 * handed to the tests through `inject`, and the engine's swarm state is noted so that a swarm the run's
 * tests joined (swarm.ts) is left again at the very end, never while another worker may still deploy. The
 * built dist/ must not change during the run (dist-guard.ts).
 */

import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { ensureBaseLayout } from './base-image.js';
import { distFingerprint } from './dist-guard.js';
import { leaveSwarmIfOurs, swarmState } from './swarm.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** OCI layout of the busybox base (ref `latest`); read it, never write to it. */
    busyboxLayout: string;
    /** The content key of that layout, used to tag its copy in the Docker engine. */
    busyboxKey: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const { layout, key } = await ensureBaseLayout();
  project.provide('busyboxLayout', layout);
  project.provide('busyboxKey', key);
  const swarmAtStart = swarmState();
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const distAtStart = distFingerprint(root);
  return () => {
    leaveSwarmIfOurs(swarmAtStart);
    if (distFingerprint(root) !== distAtStart) {
      // vitest logs an error thrown here but still exits 0, so the run's exit code is set instead.
      console.error(
        'dist/ changed during the test run: a test rebuilt it while others spawned the CLI from it',
      );
      process.exitCode = 1;
    }
  };
}
