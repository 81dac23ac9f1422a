/**
 * The `kubernetes` target: renders the workload, records the revision (a Secret, pending), applies the
 * objects with server-side apply in order, prunes what an earlier revision owned and this one does not,
 * waits for the rollout, and records the outcome. A failed rollout is rolled back to the last verified
 * revision (re-applied, waited for) when there is one.
 */
import { VnfpipeError } from '../../errors.js';
import type { Release } from '../../pipeline/kinds.js';
import type { ProbeRuntime } from '../../verify/runtime.js';
import { lastVerifiedOf, rollbackTargetOf } from '../history.js';
import { LABEL } from '../labels.js';
import type { Workload } from '../model.js';
import type {
  CommonDeployOptions,
  DeployTarget,
  HistoryRow,
  KubernetesAddress,
  Log,
  RollbackOptions,
  TargetStatus,
} from '../target.js';
import { describe, KubeCluster } from './cluster.js';
import { NETWORKS_ANNOTATION } from './networks.js';
import { preflight } from './preflight.js';
import { KubernetesProbeRuntime } from './probe-runtime.js';
import { renderKubernetes } from './render.js';
import { RevisionStore } from './revisions.js';
import { waitForRollout } from './rollout.js';
import type { KubeObject, WorkloadKind, WorkloadObject } from './types.js';

export interface KubernetesDeployOptions {
  kind?: WorkloadKind;
  /** Apply the Namespace too (default false: namespaces are often an admin's). */
  createNamespace?: boolean;
  /** Take over fields another field manager owns instead of failing on the conflict. */
  forceConflicts?: boolean;
  /** How long the rollout may take (default 300 s). */
  timeoutMs?: number;
  /** Between status reads (default 2 s). */
  pollMs?: number;
  /** Re-apply the last verified revision when the rollout fails (default true). */
  rollbackOnFailure?: boolean;
  /** Check that the nodes and the namespace quota can hold the pods before applying (default true). */
  preflight?: boolean;
}

const REVISION_ANNOTATION = 'io.vnfpipe.revision';
/** Kinds render can produce, so kinds a revision no longer renders are found for pruning. */
const PRUNABLE: Array<[string, string]> = [
  ['v1', 'ServiceAccount'],
  ['v1', 'ConfigMap'],
  ['v1', 'Service'],
  ['policy/v1', 'PodDisruptionBudget'],
  ['k8s.cni.cncf.io/v1', 'NetworkAttachmentDefinition'],
  ['apps/v1', 'Deployment'],
  ['apps/v1', 'StatefulSet'],
  ['apps/v1', 'DaemonSet'],
];

export class KubernetesTarget implements DeployTarget<KubernetesDeployOptions> {
  readonly kind = 'kubernetes';
  readonly revisions: RevisionStore;

  constructor(
    readonly cluster: KubeCluster,
    readonly address: KubernetesAddress,
    private readonly defaults: KubernetesDeployOptions = {},
  ) {
    this.revisions = new RevisionStore(cluster, address.namespace);
  }

  static connect(
    address: KubernetesAddress,
    env: NodeJS.ProcessEnv,
    defaults?: KubernetesDeployOptions,
  ): KubernetesTarget {
    return new KubernetesTarget(KubeCluster.connect(address, env), address, defaults);
  }

  async deploy(
    workload: Workload,
    options: CommonDeployOptions & KubernetesDeployOptions = {},
  ): Promise<Release> {
    const opts = { ...this.defaults, ...options };
    const log = opts.log ?? (() => {});
    const manifest = this.render(workload, opts);
    const workloadObject = manifest.find(isWorkloadObject);
    if (workloadObject && opts.preflight !== false) await preflight(this.cluster, workloadObject, log);
    await this.revisions.repair(workload.name, log);
    const history = await this.revisions.list(workload.name);
    let revision = (history.at(-1)?.revision ?? 0) + 1;
    while (
      !(await this.revisions.claim(workload.name, {
        revision,
        image: workload.image,
        manifest,
        ...(opts.runId ? { runId: opts.runId } : {}),
      }))
    )
      revision++;
    const previous = [...history].reverse().find((r) => r.status === 'verified' || r.status === 'deployed');
    try {
      await this.applyRevision(workload.name, manifest, revision, opts, log);
    } catch (error) {
      await this.revisions.update(workload.name, revision, 'failed', firstLine(error));
      const verified = lastVerifiedOf(await this.revisions.list(workload.name), revision);
      if (opts.rollbackOnFailure === false || !verified || !isRolloutFailure(error)) throw error;
      log(
        `rollout of revision ${revision} failed; re-applying revision ${verified.revision}, the last verified`,
      );
      await this.applyRevision(workload.name, verified.manifest, verified.revision, opts, log);
      await this.revisions.update(workload.name, revision, 'rolled-back', firstLine(error));
      throw new VnfpipeError(
        'STEP_FAILED',
        `${firstLine(error)}; rolled back to revision ${verified.revision}`,
        {
          where: `kubernetes target, workload ${workload.name}`,
          hint: 'vnfpipe history <name> --target kubernetes lists the revisions',
        },
      );
    }
    await this.revisions.update(workload.name, revision, 'deployed');
    return this.release(workload.name, revision, workload.image, manifest, previous?.revision);
  }

  /** The preflight alone (for `vnfpipe plan --preflight`): throws when the VNF cannot fit. */
  async preflight(workload: Workload, options: KubernetesDeployOptions & { log?: Log } = {}): Promise<void> {
    const workloadObject = this.render(workload, { ...this.defaults, ...options }).find(isWorkloadObject);
    if (workloadObject) await preflight(this.cluster, workloadObject, options.log ?? (() => {}));
  }

  async promote(release: Release, _log?: Log): Promise<void> {
    for (const r of await this.revisions.list(release.name)) {
      if (r.revision !== release.revision && r.status === 'verified')
        await this.revisions.update(release.name, r.revision, 'superseded');
    }
    await this.revisions.update(release.name, release.revision, 'verified');
  }

  async rollback(name: string, options: RollbackOptions = {}): Promise<Release> {
    const log = options.log ?? (() => {});
    await this.revisions.repair(name, log);
    const history = await this.revisions.list(name);
    const target = rollbackTargetOf(history, options.to);
    if (!target) {
      throw new VnfpipeError(
        'STEP_FAILED',
        options.to !== undefined
          ? `${name} has no revision ${options.to}`
          : `${name} has no earlier revision that passed verify`,
        {
          where: `kubernetes target, namespace ${this.address.namespace}`,
          hint: 'vnfpipe history <name> --target kubernetes lists the revisions',
        },
      );
    }
    log(`re-applying revision ${target.revision} of ${name}`);
    await this.applyRevision(name, target.manifest, target.revision, { ...this.defaults, ...options }, log);
    for (const r of history) {
      if (r.revision > target.revision && !['failed', 'abandoned', 'rolled-back'].includes(r.status))
        await this.revisions.update(name, r.revision, 'rolled-back');
    }
    await this.revisions.update(name, target.revision, 'deployed', 'restored by rollback');
    return this.release(name, target.revision, target.image, target.manifest, undefined);
  }

  async history(name: string): Promise<HistoryRow[]> {
    const serving = (await this.status(name)).revision;
    return (await this.revisions.list(name)).map((r) => ({
      revision: r.revision,
      image: r.image,
      status: r.status,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      ...(r.note ? { note: r.note } : {}),
      state: r.revision === serving ? 'serving' : '-',
    }));
  }

  async status(name: string): Promise<TargetStatus> {
    for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet']) {
      const live = await this.cluster.read('apps/v1', kind, this.address.namespace, name);
      if (!live) continue;
      const annotations = (live.metadata?.annotations ?? {}) as Record<string, string>;
      const revision = Number(annotations[REVISION_ANNOTATION]);
      return { ...(revision ? { revision } : {}), state: `${kind} present` };
    }
    return { state: 'not deployed' };
  }

  async probeRuntime(release: Release): Promise<ProbeRuntime> {
    return new KubernetesProbeRuntime(this.cluster, release);
  }

  async destroy(workload: Workload): Promise<void> {
    for (const object of await this.owned(workload.name)) await this.cluster.delete(object);
    await this.revisions.delete(workload.name);
  }

  private render(workload: Workload, opts: KubernetesDeployOptions): KubeObject[] {
    return renderKubernetes(workload, {
      namespace: this.address.namespace,
      image: workload.image,
      ...(opts.kind ? { kind: opts.kind } : {}),
      ...(opts.createNamespace ? { createNamespace: true } : {}),
    });
  }

  /** Applies the objects in order (the workload marked with its revision), prunes, waits for the rollout. */
  private async applyRevision(
    name: string,
    manifest: KubeObject[],
    revision: number,
    opts: KubernetesDeployOptions & { signal?: AbortSignal },
    log: Log,
  ): Promise<void> {
    const workloadObject = manifest.find(isWorkloadObject);
    for (const object of manifest) {
      const marked =
        object === workloadObject
          ? {
              ...object,
              metadata: {
                ...object.metadata,
                annotations: { ...object.metadata.annotations, [REVISION_ANNOTATION]: String(revision) },
              },
            }
          : object;
      await this.cluster.apply(marked, opts.forceConflicts ?? false);
      log(`applied ${describe(object)}`);
    }
    const rendered = new Set(manifest.map(key));
    for (const object of await this.owned(name)) {
      if (rendered.has(key(object))) continue;
      log(`pruning ${describe(object)}, no longer rendered`);
      await this.cluster.delete(object);
    }
    if (workloadObject) {
      await waitForRollout(this.cluster, workloadObject, {
        timeoutMs: opts.timeoutMs ?? 300_000,
        pollMs: opts.pollMs ?? 2000,
        log,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      log(`${describe(workloadObject)} rolled out revision ${revision}`);
    }
  }

  /** The objects in the namespace labelled as this workload's. */
  private async owned(name: string): Promise<KubeObject[]> {
    const found: KubeObject[] = [];
    for (const [apiVersion, kind] of PRUNABLE) {
      const items = await this.cluster.list<KubeObject>(apiVersion, kind, this.address.namespace, {
        labels: `${LABEL.workload}=${name},${LABEL.managed}=true`,
      });
      found.push(...items.map((item) => ({ ...item, apiVersion, kind })));
    }
    return found;
  }

  private release(
    name: string,
    revision: number,
    image: string,
    manifest: KubeObject[],
    previous: number | undefined,
  ): Release {
    const workload = manifest.find(isWorkloadObject);
    const selections = JSON.parse(
      workload?.spec.template.metadata?.annotations?.[NETWORKS_ANNOTATION] ?? '[]',
    ) as Array<{ name: string }>;
    return {
      target: 'kubernetes',
      name,
      revision,
      image,
      ...(previous !== undefined ? { previous } : {}),
      instances: workload ? [`${workload.kind}/${name}`] : [],
      // Role → NetworkAttachmentDefinition (`<name>-<position>-<role>`); the management role is the pod network.
      networks: Object.fromEntries(
        selections.map((s) => [s.name.replace(new RegExp(`^${name}-\\d+-`), ''), s.name]),
      ),
      endpoint: this.cluster.server,
      kubernetes: this.address,
    };
  }
}

function isWorkloadObject(object: KubeObject): object is WorkloadObject {
  return object.apiVersion === 'apps/v1';
}

const key = (o: KubeObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/** A rollout that started and failed (not a refused apply, not an unreachable cluster). */
function isRolloutFailure(error: unknown): boolean {
  return error instanceof VnfpipeError && /the rollout of/.test(error.message);
}
