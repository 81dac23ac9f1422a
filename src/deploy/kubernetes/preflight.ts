/**
 * Before anything is applied: can the cluster run the VNF? Each schedulable node's allocatable cpu, memory,
 * hugepages and device-plugin (SR-IOV) resources, minus what its pods already request, against what one
 * pod requests, times the replicas; and the namespace's ResourceQuota. A VNF that cannot fit is refused
 * naming each node's shortfall, instead of leaving pods Pending with FailedScheduling.
 */
import { VnfpipeError } from '../../errors.js';
import type { KubeCluster } from './cluster.js';
import type { WorkloadObject } from './types.js';

interface NodeObject {
  metadata: { name: string };
  spec?: { unschedulable?: boolean; taints?: Array<{ key: string; value?: string; effect: string }> };
  status?: { allocatable?: Record<string, string> };
}

interface PodObject {
  spec?: { nodeName?: string; containers?: Array<{ resources?: { requests?: Record<string, string> } }> };
  status?: { phase?: string };
}

interface QuotaObject {
  metadata: { name: string };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

const SUFFIX: Record<string, number> = {
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** A Kubernetes quantity as a number (cpu in cores, memory in bytes). */
export function parseQuantity(value: string): number {
  const match = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(value.trim());
  if (!match) return Number.NaN;
  return Number(match[1]) * (match[2] ? SUFFIX[match[2]]! : 1);
}

function show(resource: string, amount: number): string {
  if (resource === 'cpu') return `${Number(amount.toFixed(3))}`;
  if (resource === 'memory' || resource.startsWith('hugepages-')) {
    for (const [unit, size] of [
      ['Gi', 2 ** 30],
      ['Mi', 2 ** 20],
      ['Ki', 2 ** 10],
    ] as const)
      if (amount >= size && amount % size === 0) return `${amount / size}${unit}`;
  }
  return String(amount);
}

/** What one pod of the workload requests, summed over its containers. */
export function podRequests(object: WorkloadObject): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const container of object.spec.template.spec.containers) {
    for (const [resource, value] of Object.entries(container.resources?.requests ?? {}))
      sum[resource] = (sum[resource] ?? 0) + parseQuantity(String(value));
  }
  return sum;
}

export async function preflight(
  cluster: KubeCluster,
  object: WorkloadObject,
  log: (line: string) => void,
): Promise<void> {
  const need = podRequests(object);
  if (Object.keys(need).length === 0) return;
  const replicas = object.kind === 'DaemonSet' ? 1 : (object.spec.replicas ?? 1);
  let nodes: NodeObject[];
  let pods: PodObject[];
  try {
    nodes = await cluster.list<NodeObject>('v1', 'Node', undefined);
    pods = await cluster.list<PodObject>('v1', 'Pod', undefined);
  } catch (error) {
    log(`preflight skipped: cannot list nodes and pods (${(error as Error).message.split('\n')[0]})`);
    return;
  }
  const used = new Map<string, Record<string, number>>();
  for (const pod of pods) {
    const node = pod.spec?.nodeName;
    if (!node || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
    const sum = used.get(node) ?? {};
    for (const c of pod.spec?.containers ?? [])
      for (const [r, v] of Object.entries(c.resources?.requests ?? {}))
        sum[r] = (sum[r] ?? 0) + parseQuantity(v);
    used.set(node, sum);
  }
  const shortfalls: string[] = [];
  let fits = 0;
  for (const node of nodes) {
    const name = node.metadata.name;
    const blocking = (node.spec?.taints ?? []).filter(
      (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute',
    );
    if (node.spec?.unschedulable || blocking.length) {
      shortfalls.push(
        `node ${name}: ${node.spec?.unschedulable ? 'cordoned' : `untolerated taint ${blocking.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(', ')}`}`,
      );
      continue;
    }
    const allocatable = node.status?.allocatable ?? {};
    const taken = used.get(name) ?? {};
    let nodeFits = Number.POSITIVE_INFINITY;
    const lacking: string[] = [];
    for (const [resource, amount] of Object.entries(need)) {
      if (amount <= 0) continue;
      const free = parseQuantity(allocatable[resource] ?? '0') - (taken[resource] ?? 0);
      nodeFits = Math.min(nodeFits, Math.max(0, Math.floor(free / amount + 1e-9)));
      if (free < amount)
        lacking.push(
          `${resource} ${show(resource, Math.max(0, free))} free of ${show(resource, parseQuantity(allocatable[resource] ?? '0'))}, a pod needs ${show(resource, amount)}`,
        );
    }
    if (lacking.length) shortfalls.push(`node ${name}: ${lacking.join('; ')}`);
    fits += nodeFits;
  }
  if (fits < replicas) {
    throw new VnfpipeError(
      'STEP_FAILED',
      `the cluster cannot run ${replicas} pod${replicas > 1 ? 's' : ''} of ${object.metadata.name}: room for ${fits}`,
      {
        where: `preflight of ${object.kind} ${object.metadata.namespace}/${object.metadata.name}, before any apply`,
        hint: shortfalls.join('\n') || 'no nodes',
      },
    );
  }
  await checkQuota(cluster, object, need, replicas);
}

async function checkQuota(
  cluster: KubeCluster,
  object: WorkloadObject,
  need: Record<string, number>,
  replicas: number,
): Promise<void> {
  const quotas = await cluster.list<QuotaObject>('v1', 'ResourceQuota', object.metadata.namespace);
  const over: string[] = [];
  for (const quota of quotas) {
    for (const [key, hard] of Object.entries(quota.status?.hard ?? {})) {
      const resource = key.replace(/^requests\./, '');
      if (!(resource in need)) continue;
      const left = parseQuantity(hard) - parseQuantity(quota.status?.used?.[key] ?? '0');
      const wanted = need[resource]! * replicas;
      if (wanted > left)
        over.push(
          `quota ${quota.metadata.name}: ${key} ${show(resource, left)} left, ${replicas} pods need ${show(resource, wanted)}`,
        );
    }
  }
  if (over.length) {
    throw new VnfpipeError(
      'STEP_FAILED',
      `namespace ${object.metadata.namespace}'s quota cannot hold ${object.metadata.name}`,
      {
        where: 'preflight, before any apply',
        hint: over.join('\n'),
      },
    );
  }
}
