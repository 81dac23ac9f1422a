/**
 * Waits for a workload's rollout from its status (observedGeneration, updated/ready/available replicas,
 * the Progressing condition), and turns what its pods and events say into errors a VNF team can act on:
 * image pulls, crash loops (with the last log lines), scheduling shortfalls, Multus attachments.
 */
import { VnfpipeError } from '../../errors.js';
import { type AnyObject, describe, type KubeCluster } from './cluster.js';
import type { WorkloadObject } from './types.js';

export interface RolloutOptions {
  timeoutMs: number;
  /** Between status reads. */
  pollMs: number;
  signal?: AbortSignal;
  log: (line: string) => void;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

type LiveWorkload = AnyObject & {
  metadata: { generation?: number };
  spec: { replicas?: number };
  status?: Record<string, unknown> & { observedGeneration?: number; conditions?: Condition[] };
};

/** Done, still progressing (with a line for the log), or failed (with the reason). */
export function rolloutState(live: LiveWorkload): { done: boolean; progress: string; failed?: string } {
  const status = live.status ?? {};
  const n = (key: string) => Number(status[key] ?? 0);
  if ((status.observedGeneration ?? 0) < (live.metadata.generation ?? 1))
    return { done: false, progress: 'waiting for the controller to see the new spec' };
  const deadline = status.conditions?.find(
    (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
  );
  if (deadline)
    return { done: false, progress: '', failed: `ProgressDeadlineExceeded: ${deadline.message ?? ''}` };
  if (live.kind === 'DaemonSet') {
    const want = n('desiredNumberScheduled');
    const done = n('updatedNumberScheduled') === want && n('numberAvailable') === want;
    return {
      done,
      progress: `${n('updatedNumberScheduled')} of ${want} nodes updated, ${n('numberAvailable')} available`,
    };
  }
  const want = live.spec.replicas ?? 1;
  const updated = n('updatedReplicas');
  const ready = n('readyReplicas');
  const available = live.kind === 'StatefulSet' ? ready : n('availableReplicas');
  const total = n('replicas');
  const sameRevision = live.kind !== 'StatefulSet' || status.currentRevision === status.updateRevision;
  const done = updated === want && ready === want && available === want && total === want && sameRevision;
  return { done, progress: `${updated} of ${want} updated, ${ready} ready, ${available} available` };
}

export async function waitForRollout(
  cluster: KubeCluster,
  object: WorkloadObject,
  options: RolloutOptions,
): Promise<void> {
  const { namespace = '', name } = object.metadata;
  let lastProgress = '';
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    const live = await cluster.read<LiveWorkload>(object.apiVersion, object.kind, namespace, name);
    if (!live) throw new VnfpipeError('STEP_FAILED', `${describe(object)} disappeared during its rollout`);
    const state = rolloutState(live);
    if (state.done) return;
    const problem = await podProblem(cluster, object);
    if (problem) throw rolloutError(object, problem);
    if (state.failed) throw rolloutError(object, state.failed);
    if (state.progress !== lastProgress) options.log(`${describe(object)}: ${state.progress}`);
    lastProgress = state.progress;
    if (Date.now() >= deadline)
      throw rolloutError(
        object,
        `not rolled out after ${Math.round(options.timeoutMs / 1000)}s (${state.progress})`,
      );
    await new Promise((r) => setTimeout(r, options.pollMs));
  }
}

function rolloutError(object: WorkloadObject, reason: string): VnfpipeError {
  return new VnfpipeError('STEP_FAILED', `the rollout of ${describe(object)} failed: ${reason}`, {
    where: `namespace ${object.metadata.namespace}`,
  });
}

interface PodObject {
  metadata: { name: string };
  spec: { containers: Array<{ name: string; image: string }> };
  status?: {
    containerStatuses?: Array<{
      name: string;
      image: string;
      state?: { waiting?: { reason?: string; message?: string } };
    }>;
  };
}

interface EventObject {
  reason?: string;
  message?: string;
  type?: string;
  involvedObject?: { kind?: string; name?: string };
}

/** The first thing about the workload's pods that will not fix itself, as an actionable sentence. */
export async function podProblem(cluster: KubeCluster, object: WorkloadObject): Promise<string | undefined> {
  const namespace = object.metadata.namespace ?? '';
  const selector = Object.entries(object.spec.selector.matchLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = await cluster.list<PodObject>('v1', 'Pod', namespace, { labels: selector });
  for (const pod of pods) {
    for (const status of pod.status?.containerStatuses ?? []) {
      const waiting = status.state?.waiting;
      if (!waiting?.reason) continue;
      if (
        waiting.reason === 'ImagePullBackOff' ||
        waiting.reason === 'ErrImagePull' ||
        waiting.reason === 'InvalidImageName'
      ) {
        return `pod ${pod.metadata.name} cannot pull image ${status.image} (${waiting.reason}: ${waiting.message ?? 'no message'}); check the reference and the pull secret`;
      }
      if (waiting.reason === 'CrashLoopBackOff') {
        const logs = (await cluster.previousLogs(namespace, pod.metadata.name, status.name)).trim();
        return `container ${status.name} of pod ${pod.metadata.name} keeps crashing (CrashLoopBackOff)${logs ? `; its last lines:\n${logs}` : ', with no output'}`;
      }
      if (waiting.reason === 'CreateContainerConfigError')
        return `pod ${pod.metadata.name}: ${waiting.message ?? waiting.reason}`;
    }
  }
  const podNames = new Set(pods.map((p) => p.metadata.name));
  const events = await cluster.list<EventObject>('v1', 'Event', namespace);
  for (const event of events) {
    if (event.type !== 'Warning' || !podNames.has(event.involvedObject?.name ?? '')) continue;
    const message = event.message ?? '';
    if (event.reason === 'FailedScheduling') {
      const shortfalls = [...message.matchAll(/Insufficient ([\w./-]+)/g)].map((m) => m[1]);
      const taints = [...message.matchAll(/untolerated taint[s]?[^,;]*\{([^}]+)\}/g)].map((m) => m[1]);
      const what = [
        ...(shortfalls.length ? [`no node has enough ${shortfalls.join(', ')}`] : []),
        ...(taints.length ? [`untolerated taint ${taints.join(', ')}`] : []),
      ];
      return `pod ${event.involvedObject?.name} cannot be scheduled: ${what.join('; ') || message} (${message})`;
    }
    if (
      event.reason === 'FailedCreatePodSandBox' &&
      /multus|network-attachment|NetworkAttachmentDefinition/i.test(message)
    ) {
      // Multus names the missing definition as `network-attachment-definition (<name>)` or `"<name>" not found`.
      const nad =
        /network-attachment-definition \(([^)]+)\)/i.exec(message)?.[1] ??
        /"([\w.-]+)" not found/.exec(message)?.[1];
      return `Multus cannot attach pod ${event.involvedObject?.name}'s networks${nad ? ` (NetworkAttachmentDefinition ${nad})` : ''}: ${message}`;
    }
  }
  return undefined;
}
