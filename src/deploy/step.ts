/**
 * Pipeline steps for deployments: `deploy.docker(…)` and `rollback(…)`. The modules that talk to the
 * engine load inside `run`, so declaring a deploy in a pipeline costs nothing at start-up.
 */
import { VnfpipeError } from '../errors.js';
import type { ImageRef, Release, VerifyResult } from '../pipeline/kinds.js';
import type { Input, StepSpec } from '../pipeline/model.js';
import type { SecretRef } from '../pipeline/secret.js';
import type { ProbeSpec } from '../verify/probes.js';
import type { Workload } from './model.js';
import type { RollingUpdate } from './swarm/target.js';

export interface RegistryAuth {
  username: Input<string>;
  password: SecretRef | Input<string>;
}

export interface DockerDeployStepOptions {
  /** The workload; its image may be an output of a push step (pinned by digest). */
  workload: Omit<Workload, 'image'> & { image: Input<string> | Input<ImageRef> };
  /** `start-first` (default when both revisions can run side by side) or `recreate`. */
  strategy?: 'start-first' | 'recreate';
  /** Credentials for pulling from the registry. */
  auth?: RegistryAuth;
  /** How long the new revision may take to become ready, e.g. `60s`. */
  readyTimeout?: string;
}

/** `registry/repo:tag` + digest → `registry/repo@sha256:…`, the form every revision is pinned by. */
export function pinnedImage(image: string | ImageRef): string {
  if (typeof image === 'string') return image;
  if (image.ref.startsWith('oci:')) {
    throw new VnfpipeError('PIPELINE_INVALID', `cannot deploy ${image.ref} straight from an OCI layout yet`, {
      hint: 'push it first and deploy the push step’s output',
    });
  }
  const withoutDigest = image.ref.split('@')[0]!;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const repository = colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest;
  return `${repository}@${image.digest}`;
}

export const deploy: {
  docker(options: DockerDeployStepOptions): StepSpec<Release, DockerDeployStepOptions>;
  swarm(options: SwarmDeployStepOptions): StepSpec<Release, SwarmDeployStepOptions>;
} = {
  swarm: (options) => swarmStep(options),
  docker(options: DockerDeployStepOptions): StepSpec<Release, DockerDeployStepOptions> {
    return {
      kind: 'deploy',
      stage: 'deploy',
      options,
      validate(opts) {
        if (!opts?.workload || typeof opts.workload !== 'object') {
          throw new VnfpipeError('PIPELINE_INVALID', "deploy.docker: 'workload' is required");
        }
      },
      async run(ctx, opts) {
        const [{ DockerTarget }, { parseDuration }] = await Promise.all([
          import('./docker/target.js'),
          import('../pipeline/duration.js'),
        ]);
        const workload = {
          ...opts.workload,
          image: pinnedImage(opts.workload.image as string | ImageRef),
        } as Workload;
        const { DockerEngine, engineEndpoint } = await import('./engine/client.js');
        const target = new DockerTarget(ctx.stateDir, new DockerEngine(engineEndpoint(ctx.env)));
        return target.deploy(workload, {
          ...(opts.strategy ? { strategy: opts.strategy } : {}),
          ...(opts.auth
            ? { auth: { username: String(opts.auth.username), password: String(opts.auth.password) } }
            : {}),
          ...(opts.readyTimeout
            ? { readyTimeoutMs: parseDuration(opts.readyTimeout as never, 'readyTimeout') }
            : {}),
          runId: ctx.runId,
          signal: ctx.signal,
          log: (line) => ctx.log(line),
        });
      },
    };
  },
};

export interface SwarmDeployStepOptions {
  workload: Omit<Workload, 'image'> & { image: Input<string> | Input<ImageRef> };
  update?: RollingUpdate;
  auth?: RegistryAuth;
}

/** A swarm service; the rolling update's outcome is read from the service, not assumed. */
function swarmStep(options: SwarmDeployStepOptions): StepSpec<Release, SwarmDeployStepOptions> {
  return {
    kind: 'deploy',
    stage: 'deploy',
    options,
    validate(opts) {
      if (!opts?.workload || typeof opts.workload !== 'object') {
        throw new VnfpipeError('PIPELINE_INVALID', "deploy.swarm: 'workload' is required");
      }
    },
    async run(ctx, opts) {
      const [{ SwarmTarget }, { DockerEngine, engineEndpoint }] = await Promise.all([
        import('./swarm/target.js'),
        import('./engine/client.js'),
      ]);
      const workload = {
        ...opts.workload,
        image: pinnedImage(opts.workload.image as string | ImageRef),
      } as Workload;
      return new SwarmTarget(ctx.stateDir, new DockerEngine(engineEndpoint(ctx.env))).deploy(workload, {
        ...(opts.update ? { update: opts.update } : {}),
        ...(opts.auth
          ? { auth: { username: String(opts.auth.username), password: String(opts.auth.password) } }
          : {}),
        runId: ctx.runId,
        signal: ctx.signal,
        log: (line) => ctx.log(line),
      });
    },
  };
}

export interface RollbackStepOptions {
  release: Input<Release>;
  /** Probes to re-verify the restored revision with (usually the verify step's). */
  probes?: ProbeSpec[];
  /** Roll back to this revision instead of the newest one that passed verify. */
  to?: number;
}

export interface RollbackOutput {
  name: string;
  restored: number;
  from: number;
  verify?: VerifyResult;
}

/** Returns a deployment to its last verified revision, then re-verifies it. Wire it as verify's `onFailure`. */
export function rollback(options: RollbackStepOptions): StepSpec<RollbackOutput, RollbackStepOptions> {
  return {
    kind: 'rollback',
    stage: 'rollback',
    options,
    async run(ctx, opts) {
      const release = opts.release as Release;
      if (release.target !== 'docker') {
        throw new VnfpipeError(
          'PIPELINE_INVALID',
          `rollback of ${release.target} targets is not available yet`,
        );
      }
      const [{ DockerTarget }, { DockerEngine, engineEndpoint }, { verifyRelease }] = await Promise.all([
        import('./docker/target.js'),
        import('./engine/client.js'),
        import('../verify/verify.js'),
      ]);
      const target = new DockerTarget(ctx.stateDir, new DockerEngine(engineEndpoint(ctx.env)));
      const restored = await target.rollback(release.name, {
        ...(opts.to !== undefined ? { to: opts.to } : {}),
        log: (line) => ctx.log(line),
        signal: ctx.signal,
      });
      ctx.log(`rolled back ${release.name} from revision ${release.revision} to ${restored.revision}`);
      const output: RollbackOutput = {
        name: release.name,
        restored: restored.revision,
        from: release.revision,
      };
      if (opts.probes?.length) {
        const result = await verifyRelease(ctx, restored, opts.probes);
        output.verify = result;
        if (!result.passed) {
          throw new VnfpipeError(
            'STEP_FAILED',
            `revision ${restored.revision} was restored but fails verify too`,
            {
              where: `workload ${release.name}`,
            },
          );
        }
        await target.promote(restored, (line) => ctx.log(line));
      }
      return output;
    },
  };
}
