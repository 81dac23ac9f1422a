/**
 * Pipeline steps for deployments: `deploy.docker(…)` and `rollback(…)`. The modules that talk to the
 * engine load inside `run`, so declaring a deploy in a pipeline costs nothing at start-up.
 */
import { VnfpipeError } from '../errors.js';
import type { ImageRef, Release, VerifyResult } from '../pipeline/kinds.js';
import type { Input, StepContext, StepSpec } from '../pipeline/model.js';
import type { SecretRef } from '../pipeline/secret.js';
import type { ProbeSpec } from '../verify/probes.js';
import type { DockerDeployOptions } from './docker/target.js';
import { checkEngineChoice, type EngineOption } from './engine/address.js';
import type { GithubOption } from './github.js';
import type { KubernetesDeployOptions } from './kubernetes/target.js';
import type { WorkloadKind } from './kubernetes/types.js';
import type { Workload } from './model.js';
import type { RollingUpdate, SwarmDeployOptions } from './swarm/target.js';
import type { DeployTarget } from './target.js';

export interface RegistryAuth {
  username: Input<string>;
  password: SecretRef | Input<string>;
}

/**
 * Deploy only what verifies: the image must carry a signature by `key` (a PEM public key file, relative to the
 * project) or a keyless signature of `keyless.identity`, plus the `attestations` named; else nothing is deployed.
 */
export interface DeployTrust {
  key?: string;
  keyless?: { identity: string; issuer: string; trustedRoot: string };
  /** Predicate types that must be attested with `key`: `slsaprovenance`, `cyclonedx` or a type URI. */
  attestations?: string[];
}

export interface DockerDeployStepOptions {
  /** The workload; its image may be an output of a push step (pinned by digest). */
  workload: Omit<Workload, 'image'> & { image: Input<string> | Input<ImageRef> };
  /**
   * `start-first` (the new revision starts beside the old one) or `recreate` (the old one stops first).
   * @default 'start-first' when both revisions can run side by side (no static addresses or host ports)
   */
  strategy?: 'start-first' | 'recreate';
  /**
   * The Docker engine to deploy to, in DOCKER_HOST form (`unix:///run/site-a.sock`, `tcp://10.0.0.5:2376`,
   * `ssh://deploy@10.0.0.5`), or `{ host, tls: { ca, cert, key }, ssh: { identity, knownHosts } }` with files
   * relative to the project; default: the environment's engine (DOCKER_HOST, DOCKER_CONTEXT, currentContext).
   * Verify and rollback reach the release on the same engine.
   */
  engine?: EngineOption;
  /** A docker context name (as `docker context ls` shows); default: DOCKER_CONTEXT, then the docker config's currentContext. */
  context?: string;
  /** Credentials for pulling from the registry. */
  auth?: RegistryAuth;
  /**
   * How long the new revision may take to become ready (and healthy, with a health command).
   * @default '60s'
   */
  readyTimeout?: string;
  /** Record a GitHub Deployment (default: inside GitHub Actions). */
  github?: GithubOption;
  /** Verify the image's signature (and attestations) before anything is deployed. */
  trust?: DeployTrust;
}

/** `registry/repo:tag` + digest → `registry/repo@sha256:…`, the form every revision is pinned by. */
export function pinnedImage(image: string | ImageRef): string {
  if (typeof image === 'string') return image;
  // Straight from an OCI layout: the docker target loads it into the engine.
  if (image.ref.startsWith('oci:')) return `${image.ref.split('@')[0]}@${image.digest}`;

  const withoutDigest = image.ref.split('@')[0]!;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  const repository = colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest;
  return `${repository}@${image.digest}`;
}

export interface SwarmDeployStepOptions {
  workload: Omit<Workload, 'image'> & { image: Input<string> | Input<ImageRef> };
  update?: RollingUpdate;
  /**
   * The swarm manager engine to deploy through, as `deploy.docker`'s `engine` (a DOCKER_HOST string, or with
   * TLS files / SSH settings). Verify and rollback reach the release on the same engine.
   */
  engine?: EngineOption;
  /** A docker context name (as `docker context ls` shows); default: DOCKER_CONTEXT, then the docker config's currentContext. */
  context?: string;
  auth?: RegistryAuth;
  /** Record a GitHub Deployment (default: inside GitHub Actions). */
  github?: GithubOption;
  /** Verify the image's signature (and attestations) before anything is deployed. */
  trust?: DeployTrust;
}

/** A deploy step says its target, so `vnfpipe render` and `plan` can find the kubernetes ones. */
export type DeployStepSpec<O> = StepSpec<Release, O> & { readonly deployTarget: Release['target'] };

export interface KubernetesDeployStepOptions {
  /** The workload; its image may be an output of a push step (pinned by digest). */
  workload: Omit<Workload, 'image'> & { image: Input<string> | Input<ImageRef> };
  namespace: string;
  /** The kubeconfig context (default: the current one). */
  context?: string;
  /** The kubeconfig file, relative to the project (default: KUBECONFIG, ~/.kube/config, in-cluster). */
  kubeconfig?: string;
  /** Deployment (default), StatefulSet or DaemonSet. */
  kind?: WorkloadKind;
  /** Apply the Namespace object too (default false). */
  createNamespace?: boolean;
  /** Take over fields another field manager owns instead of failing (default false). */
  forceConflicts?: boolean;
  /** How long the rollout may take, e.g. `5m` (default 5m). */
  rolloutTimeout?: string;
  /** Record a GitHub Deployment (default: inside GitHub Actions). */
  github?: GithubOption;
  /** Verify the image's signature (and attestations) before anything is deployed. */
  trust?: DeployTrust;
}

interface TargetContext {
  ctx: StepContext;
  workload: Workload;
  common: {
    auth?: { username: string; password: string };
    runId: string;
    signal: AbortSignal;
    log: (line: string) => void;
  };
}

/** What the deploy steps share: validation, the pinned image, credentials, logging. */
function deployStep<
  O extends { workload: unknown; auth?: RegistryAuth; github?: GithubOption; trust?: DeployTrust },
>(
  target: Release['target'],
  options: O,
  deployWith: (on: TargetContext, opts: O) => Promise<Release>,
): DeployStepSpec<O> {
  return {
    kind: 'deploy',
    deployTarget: target,
    stage: 'deploy',
    options,
    validate(opts) {
      if (!opts?.workload || typeof opts.workload !== 'object') {
        throw new VnfpipeError('PIPELINE_INVALID', `deploy.${target}: 'workload' is required`);
      }
      const namespace = (opts as { namespace?: unknown }).namespace;
      if (target === 'kubernetes' && (typeof namespace !== 'string' || namespace === '')) {
        throw new VnfpipeError('PIPELINE_INVALID', "deploy.kubernetes: 'namespace' is required");
      }
      if (target !== 'kubernetes') checkEngineChoice(`deploy.${target}`, opts as { engine?: unknown });
      const trust = opts.trust;
      if (trust !== undefined && (typeof trust !== 'object' || !trust || !trust.key === !trust.keyless)) {
        throw new VnfpipeError(
          'PIPELINE_INVALID',
          `deploy.${target}: 'trust' names either a public key file ('key') or a keyless identity ('keyless')`,
        );
      }
    },
    async run(ctx, resolved) {
      const opts = resolved as unknown as O & { workload: Workload };
      maskEngineSecrets(ctx);
      const workload = { ...opts.workload, image: pinnedImage(opts.workload.image as string | ImageRef) };
      // A cluster pulls with its own pull secrets; the engine targets pull with vnfpipe's credentials.
      const auth = opts.auth
        ? { username: String(opts.auth.username), password: String(opts.auth.password) }
        : target === 'kubernetes'
          ? undefined
          : await storedCredentials(ctx, workload.image);
      if (opts.trust) workload.image = await verifiedImage(ctx, workload.image, opts.trust, auth);
      const common = {
        ...(auth ? { auth } : {}),
        runId: ctx.runId,
        signal: ctx.signal,
        log: (line: string) => ctx.log(line),
      };
      const { emitReleaseEvent } = await import('./release-events.js');
      const recorded = await emitReleaseEvent(ctx, {
        type: 'deploy.start',
        name: workload.name,
        ...(opts.github !== undefined ? { github: opts.github } : {}),
      });
      let release: Release;
      try {
        release = await deployWith({ ctx, workload, common }, opts);
      } catch (error) {
        await emitReleaseEvent(ctx, { type: 'deploy.failed', name: workload.name, release: recorded });
        throw error;
      }
      return { ...release, ...recorded };
    },
  };
}

/** The image pinned to the digest whose signature verified: what runs is what was verified. */
async function verifiedImage(
  ctx: StepContext,
  image: string,
  trust: DeployTrust,
  auth: { username: string; password: string } | undefined,
): Promise<string> {
  if (image.startsWith('oci:')) {
    throw new VnfpipeError(
      'USAGE',
      'trust checks signatures in a registry; this image comes from an OCI layout',
      {
        where: image,
        hint: 'push the image and deploy the push step’s output, or drop `trust` for layout deploys',
      },
    );
  }
  const [{ readFile }, { resolve }, { verifyImage }] = await Promise.all([
    import('node:fs/promises'),
    import('node:path'),
    import('../trust/verify.js'),
  ]);
  const keyFile = trust.key ? resolve(ctx.cwd, trust.key) : undefined;
  const key = keyFile
    ? await readFile(keyFile, 'utf8').catch((error: unknown) => {
        throw new VnfpipeError('USAGE', 'cannot read the trust key', { where: keyFile, cause: error });
      })
    : undefined;
  const verified = await verifyImage(image, {
    ...(key !== undefined ? { key } : {}),
    ...(trust.keyless
      ? { keyless: { ...trust.keyless, trustedRoot: resolve(ctx.cwd, trust.keyless.trustedRoot) } }
      : {}),
    ...(trust.attestations?.length ? { attestations: trust.attestations } : {}),
    client: {
      env: ctx.env,
      signal: ctx.signal,
      ...(auth ? { credentials: { kind: 'basic' as const, ...auth } } : {}),
    },
  });
  const attested = Object.keys(verified.attestations);
  ctx.log(
    `verified ${verified.reference}: ${verified.signatures} signature(s)${attested.length ? `, attested ${attested.join(', ')}` : ''}`,
  );
  return verified.reference;
}

/**
 * Without explicit `auth`, the engine pulls with the credentials vnfpipe itself would use for that registry
 * (VNFPIPE_REGISTRY_* or the docker config), so a private registry works the same for push and deploy.
 */
async function storedCredentials(ctx: StepContext, image: string) {
  if (image.startsWith('oci:')) return undefined;
  const { resolveCredentials } = await import('../registry/auth/credentials.js');
  const { parseRegistryReference } = await import('../oci/reference.js');
  const credentials = await resolveCredentials(parseRegistryReference(image).registry, { env: ctx.env });
  if (credentials?.kind !== 'basic') return undefined;
  ctx.addSecret(credentials.password);
  return { username: credentials.username, password: credentials.password };
}

/** An SSH key's passphrase reaches the engine connection only: masked should anything echo it. */
function maskEngineSecrets(ctx: StepContext): void {
  const passphrase = ctx.env.VNFPIPE_SSH_PASSPHRASE;
  if (passphrase) ctx.addSecret(passphrase);
}

/** Where a docker or swarm step deploys; the release remembers it for verify and rollback. */
function engineAddress(kind: 'docker' | 'swarm', opts: { engine?: EngineOption; context?: string }) {
  return {
    kind,
    ...(opts.engine ? { engine: opts.engine } : {}),
    ...(opts.context ? { context: opts.context } : {}),
  };
}

/**
 * Deploy steps, one per target; each outputs a `Release` that `verify` and `rollback` take.
 *
 * @example
 * ```ts
 * const rel = p.step('deploy', deploy.docker({ workload: {
 *   name: 'vfw', image: pushed.out,
 *   networks: [{ role: 'mgmt' }, { role: 'data', driver: 'macvlan', parent: 'eth1', subnet: '10.1.2.0/24' }],
 *   resources: { cpuset: '1', memory: '128Mi' }, security: { capabilities: ['NET_ADMIN'] },
 * } }));
 * ```
 * @see {@link verify} and {@link rollback}; `vnfpipe render` for the Kubernetes objects without a cluster.
 */
export const deploy = {
  /** One container per revision on a Docker engine, every network attached before start. */
  docker: (options: DockerDeployStepOptions): DeployStepSpec<DockerDeployStepOptions> =>
    deployStep('docker', options, async ({ ctx, workload, common }, opts) => {
      const [{ openTarget }, { parseDuration }] = await Promise.all([
        import('./targets.js'),
        import('../pipeline/duration.js'),
      ]);
      const target = (await openTarget(
        ctx,
        engineAddress('docker', opts),
      )) as DeployTarget<DockerDeployOptions>;
      const release = await target.deploy(workload, {
        ...common,
        cwd: ctx.cwd,
        ...(opts.strategy ? { strategy: opts.strategy } : {}),
        ...(opts.readyTimeout
          ? { readyTimeoutMs: parseDuration(opts.readyTimeout as never, 'readyTimeout') }
          : {}),
      });
      const { kind: _, ...where } = engineAddress('docker', opts);
      return { ...release, ...where };
    }),
  /** A swarm service; the rolling update's outcome is read from the service, not assumed. */
  swarm: (options: SwarmDeployStepOptions): DeployStepSpec<SwarmDeployStepOptions> =>
    deployStep('swarm', options, async ({ ctx, workload, common }, opts) => {
      const { openTarget } = await import('./targets.js');
      const target = (await openTarget(
        ctx,
        engineAddress('swarm', opts),
      )) as DeployTarget<SwarmDeployOptions>;
      const release = await target.deploy(workload, {
        ...common,
        ...(opts.update ? { update: opts.update } : {}),
      });
      const { kind: _, ...where } = engineAddress('swarm', opts);
      return { ...release, ...where };
    }),
  /**
   * Server-side apply of the rendered objects to a cluster, the rollout waited for; revisions are kept in
   * Secrets in the namespace. The image must be pinned by digest (a push step's output is).
   */
  kubernetes: (options: KubernetesDeployStepOptions): DeployStepSpec<KubernetesDeployStepOptions> =>
    deployStep('kubernetes', options, async ({ ctx, workload, common }, opts) => {
      const [{ openTarget }, { parseDuration }] = await Promise.all([
        import('./targets.js'),
        import('../pipeline/duration.js'),
      ]);
      const target = (await openTarget(ctx, {
        kind: 'kubernetes',
        namespace: opts.namespace,
        ...(opts.context ? { context: opts.context } : {}),
        ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
      })) as DeployTarget<KubernetesDeployOptions>;
      return target.deploy(workload, {
        ...common,
        ...(opts.kind ? { kind: opts.kind } : {}),
        ...(opts.createNamespace ? { createNamespace: true } : {}),
        ...(opts.forceConflicts ? { forceConflicts: true } : {}),
        ...(opts.rolloutTimeout
          ? { timeoutMs: parseDuration(opts.rolloutTimeout as never, 'rolloutTimeout') }
          : {}),
      });
    }),
};

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
  /** One or a few lines for the end of a run: what was rolled back to what, and the re-verify. */
  summary: string;
}

/** Returns a deployment to its last verified revision, then re-verifies it. Wire it as verify's `onFailure`. */
export function rollback(options: RollbackStepOptions): StepSpec<RollbackOutput, RollbackStepOptions> {
  return {
    kind: 'rollback',
    stage: 'rollback',
    options,
    async run(ctx, opts) {
      const release = opts.release as Release;
      const [{ targetOf }, { verifyRelease, verifySummary }, { emitReleaseEvent }] = await Promise.all([
        import('./targets.js'),
        import('../verify/verify.js'),
        import('./release-events.js'),
      ]);
      maskEngineSecrets(ctx);
      const target = await targetOf(ctx, release);
      const restored = await target.rollback(release.name, {
        ...(opts.to !== undefined ? { to: opts.to } : {}),
        log: (line) => ctx.log(line),
        signal: ctx.signal,
        cwd: ctx.cwd,
      });
      const what = `rolled back ${release.name} from revision ${release.revision} to ${restored.revision}`;
      ctx.log(what);
      await emitReleaseEvent(ctx, { type: 'rolled-back', release, restored: restored.revision });
      const output: RollbackOutput = {
        name: release.name,
        restored: restored.revision,
        from: release.revision,
        summary: `${what}, not re-verified (no probes given)`,
      };
      if (opts.probes?.length) {
        const result = await verifyRelease(ctx, await target.probeRuntime(restored), opts.probes);
        output.verify = result;
        if (!result.passed) {
          throw new VnfpipeError(
            'STEP_FAILED',
            `revision ${restored.revision} was restored but fails verify too`,
            {
              where: `workload ${release.name}`,
              hint: verifySummary(restored, result),
            },
          );
        }
        await target.promote(restored, (line) => ctx.log(line));
        const passed = `${result.probes.length} of ${result.probes.length} probes passed`;
        output.summary = `${what}, verified (${passed})`;
      }
      return output;
    },
  };
}
