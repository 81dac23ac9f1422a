/**
 * CPU, memory and hugepages as Kubernetes resources. Pinned CPUs become a Guaranteed pod with whole CPUs
 * (requests = limits), which is what the kubelet's static CPU manager needs to give the container
 * exclusive cores; hugepages become a resource plus a HugePages emptyDir.
 */
import { parseSize, type Workload } from '../model.js';
import type { Problems } from './problems.js';
import type { ResourceRequirements, Volume, VolumeMount } from './types.js';

export const HUGEPAGES_VOLUME = 'hugepages';

export interface ResourcePlan {
  resources: ResourceRequirements;
  volumes: Volume[];
  mounts: VolumeMount[];
}

/** `1Gi` for 1073741824, `100Mi`, or plain bytes when no binary unit divides it. */
export function bytesQuantity(bytes: number): string {
  for (const [unit, factor] of [
    ['Ti', 1024 ** 4],
    ['Gi', 1024 ** 3],
    ['Mi', 1024 ** 2],
    ['Ki', 1024],
  ] as const) {
    if (bytes > 0 && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}

export function cpuQuantity(cpus: number): string {
  return Number.isInteger(cpus) ? String(cpus) : `${Math.round(cpus * 1000)}m`;
}

/** How many CPUs a cpuset names: `0-1,4` → 3. */
export function cpusetSize(cpuset: string): number {
  const cpus = new Set<number>();
  for (const part of cpuset.split(',')) {
    const [from, to = from] = part.split('-').map(Number) as [number, number?];
    for (let cpu = from; cpu <= to; cpu++) cpus.add(cpu);
  }
  return cpus.size;
}

export function planResources(
  workload: Workload,
  extended: Record<string, number>,
  problems: Problems,
): ResourcePlan {
  const spec = workload.resources ?? {};
  const amounts: Record<string, string> = {};
  let cpus = spec.cpus;
  if (spec.cpuset !== undefined) {
    // The static CPU manager picks which cores; it cannot be told their numbers, only how many.
    const count = cpusetSize(spec.cpuset);
    if (cpus !== undefined && cpus !== count) {
      problems.add(
        `resources: cpus ${cpus} on cpuset '${spec.cpuset}' (${count} CPUs) cannot be expressed: a pinned pod gets exactly as many exclusive CPUs as it requests; set cpus to ${count} or drop it`,
      );
    }
    cpus = count;
    if (spec.memory === undefined) {
      problems.add(
        'resources: pinned CPUs need a Guaranteed pod, which needs a memory limit; set resources.memory',
      );
    }
  }
  if (cpus !== undefined) amounts.cpu = cpuQuantity(cpus);
  if (spec.memory !== undefined) amounts.memory = bytesQuantity(parseSize(spec.memory, 'resources.memory'));
  const volumes: Volume[] = [];
  const mounts: VolumeMount[] = [];
  const hp = spec.hugepages;
  if (hp) {
    const pageBytes = hp.size === '1Gi' ? 1024 ** 3 : 2 * 1024 ** 2;
    amounts[`hugepages-${hp.size}`] = bytesQuantity(hp.pages * pageBytes);
    if (amounts.cpu === undefined && amounts.memory === undefined) {
      problems.add('resources: Kubernetes admits hugepages only with a cpu or memory request; set one');
    }
    volumes.push({ name: HUGEPAGES_VOLUME, emptyDir: { medium: `HugePages-${hp.size}` } });
    mounts.push({ name: HUGEPAGES_VOLUME, mountPath: hp.mountPath ?? '/dev/hugepages' });
  }
  if (spec.memlock !== undefined && !locksMemory(workload)) {
    problems.add(
      'resources.memlock: Kubernetes has no per-pod locked-memory limit; grant IPC_LOCK (it lifts the limit) or drop memlock',
    );
  }
  for (const [name, count] of Object.entries(extended)) amounts[name] = String(count);
  // requests = limits for everything: hugepages and device resources require it, and with cpu and
  // memory it makes the pod Guaranteed (predictable for a data plane, and pinned when CPUs are whole).
  const resources = Object.keys(amounts).length ? { requests: { ...amounts }, limits: { ...amounts } } : {};
  return { resources, volumes, mounts };
}

function locksMemory(workload: Workload): boolean {
  const security = workload.security ?? {};
  const caps = (security.capabilities ?? []).map((cap) => cap.replace(/^CAP_/, ''));
  return caps.includes('IPC_LOCK') || caps.includes('ALL') || Boolean(security.privileged);
}
