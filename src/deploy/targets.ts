/** The target a release lives on, for the steps that act on releases (verify, rollback). */
import { VnfpipeError } from '../errors.js';
import type { Release } from '../pipeline/kinds.js';
import type { StepContext } from '../pipeline/model.js';

export interface ReleaseTarget {
  /** The release with the containers probes can reach (a swarm's local task containers). */
  probeable(release: Release): Promise<Release>;
  promote(release: Release, log: (line: string) => void): Promise<void>;
  rollback(
    release: Release,
    options: { to?: number; log: (line: string) => void; signal: AbortSignal },
  ): Promise<Release>;
}

export async function targetOf(ctx: StepContext, release: Release): Promise<ReleaseTarget> {
  const { DockerEngine, engineEndpoint } = await import('./engine/client.js');
  const engine = new DockerEngine(engineEndpoint(ctx.env));
  if (release.target === 'docker') {
    const { DockerTarget } = await import('./docker/target.js');
    const target = new DockerTarget(ctx.stateDir, engine);
    return {
      probeable: async (r) => r,
      promote: (r, log) => target.promote(r, log),
      rollback: (r, options) => target.rollback(r.name, { ...options, cwd: ctx.cwd }),
    };
  }
  if (release.target === 'swarm') {
    const { SwarmTarget } = await import('./swarm/target.js');
    const target = new SwarmTarget(ctx.stateDir, engine);
    return {
      async probeable(r) {
        const instances = await target.taskContainers(r.name);
        if (instances.length === 0) {
          throw new VnfpipeError(
            'STEP_FAILED',
            `service ${r.name} has no running task on this node to probe`,
            {
              where: r.endpoint,
            },
          );
        }
        return { ...r, instances };
      },
      promote: (r) => target.promote(r),
      rollback(r, options) {
        if (options.to !== undefined) {
          throw new VnfpipeError(
            'PIPELINE_INVALID',
            'a swarm service rolls back to its previous spec only: drop `to`',
          );
        }
        return target.rollback(r.name, options);
      },
    };
  }
  throw new VnfpipeError(
    'PIPELINE_INVALID',
    `releases on ${release.target} targets cannot be verified or rolled back yet`,
  );
}
