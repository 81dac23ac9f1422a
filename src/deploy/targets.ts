/** The one factory for deploy targets: by address, or for the target a release lives on. */
import { resolve } from 'node:path';
import { VnfpipeError } from '../errors.js';
import type { Release } from '../pipeline/kinds.js';
import type { DeployTarget, TargetAddress, TargetEnvironment } from './target.js';

export async function openTarget(on: TargetEnvironment, address: TargetAddress): Promise<DeployTarget> {
  if (address.kind === 'kubernetes') {
    const [{ KubernetesTarget }, { KubeCluster }] = await Promise.all([
      import('./kubernetes/target.js'),
      import('./kubernetes/cluster.js'),
    ]);
    const { kind: _, ...where } = address;
    // Releases keep the path as the pipeline gave it, so a CI job with another checkout path finds it.
    const kubeconfig = where.kubeconfig ? resolve(on.cwd ?? '.', where.kubeconfig) : undefined;
    const cluster = KubeCluster.connect({ ...where, ...(kubeconfig ? { kubeconfig } : {}) }, on.env);
    return new KubernetesTarget(cluster, where);
  }
  const [{ DockerEngine }, { resolveEngine }, { engineScope }] = await Promise.all([
    import('./engine/client.js'),
    import('./engine/endpoint.js'),
    import('./engine/address.js'),
  ]);
  const { kind: _, ...choice } = address;
  const engine = new DockerEngine(resolveEngine(choice, on.env, on.cwd ?? '.'));
  const scope = engineScope(choice);
  if (address.kind === 'docker') {
    const { DockerTarget } = await import('./docker/target.js');
    return new DockerTarget(on.stateDir, engine, scope);
  }
  const { SwarmTarget } = await import('./swarm/target.js');
  return new SwarmTarget(on.stateDir, engine, scope);
}

/** The target `release` was deployed to, addressed as its deploy step addressed it. */
export function addressOf(release: Release): TargetAddress {
  if (release.target === 'kubernetes') {
    if (!release.kubernetes) {
      throw new VnfpipeError('PIPELINE_INVALID', `release ${release.name} does not say its namespace`);
    }
    return { kind: 'kubernetes', ...release.kubernetes };
  }
  return {
    kind: release.target,
    ...(release.engine ? { engine: release.engine } : {}),
    ...(release.context ? { context: release.context } : {}),
  };
}

export function targetOf(on: TargetEnvironment, release: Release): Promise<DeployTarget> {
  return openTarget(on, addressOf(release));
}
