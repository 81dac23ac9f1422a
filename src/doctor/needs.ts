/**
 * What a pipeline needs from the machine, read from its steps' declarations (nothing runs): the Docker
 * engine, swarm mode, BuildKit, registries, network drivers, hugepages, pinned CPUs, a Kubernetes cluster.
 */
import { describeEngine, type EngineOption } from '../deploy/engine/address.js';
import type { Pipeline } from '../pipeline/define.js';
import { isOutputRef } from '../pipeline/output.js';

export interface PipelineNeeds {
  engine: boolean;
  swarm: boolean;
  buildkit: boolean;
  /** Registry hosts that push steps name (outputs of other steps are unknown until the run). */
  registries: string[];
  drivers: Set<string>;
  /** Free 2 MiB / 1 GiB pages the docker deploy steps ask for. */
  hugepages: { size: '2Mi' | '1Gi'; pages: number }[];
  /** The highest CPU number a cpuset names, plus one. */
  cpus: number;
  kubernetes: { context?: string; kubeconfig?: string }[];
  /** Engines that deploy steps name (fleet sites, remote engines): each must answer. */
  engines: Array<{ label: string; steps: string[]; engine?: EngineOption; context?: string }>;
}

interface WorkloadLike {
  networks?: Array<{ driver?: string }>;
  resources?: { cpuset?: string; hugepages?: { size: '2Mi' | '1Gi'; pages: number } };
}

export function pipelineNeeds(pipeline: Pipeline): PipelineNeeds {
  const needs: PipelineNeeds = {
    engine: false,
    swarm: false,
    buildkit: false,
    registries: [],
    drivers: new Set(),
    hugepages: [],
    cpus: 0,
    kubernetes: [],
    engines: [],
  };
  for (const step of pipeline.steps) {
    const spec = step.spec as { kind: string; options?: unknown; deployTarget?: string };
    const options = (spec.options ?? {}) as Record<string, unknown>;
    if (spec.kind === 'build' && (typeof options.context === 'string' || hasRunLayer(options.layers))) {
      needs.buildkit = true;
      needs.engine = true;
    }
    if (spec.kind === 'push' && typeof options.to === 'string' && !isOutputRef(options.to)) {
      const host = registryHost(options.to);
      if (host && !needs.registries.includes(host)) needs.registries.push(host);
    }
    if (spec.kind !== 'deploy') continue;
    const workload = (options.workload ?? {}) as WorkloadLike;
    if (spec.deployTarget === 'kubernetes') {
      needs.kubernetes.push({
        ...(typeof options.context === 'string' ? { context: options.context } : {}),
        ...(typeof options.kubeconfig === 'string' ? { kubeconfig: options.kubeconfig } : {}),
      });
      continue;
    }
    const named = namedEngine(options);
    if (named) {
      const label = describeEngine(named)!;
      const known = needs.engines.find((e) => e.label === label);
      if (known) known.steps.push(step.id);
      else needs.engines.push({ label, steps: [step.id], ...named });
    } else {
      needs.engine = true;
      if (spec.deployTarget === 'swarm') needs.swarm = true;
    }
    for (const net of workload.networks ?? []) needs.drivers.add(net.driver ?? 'bridge');
    if (workload.resources?.hugepages) needs.hugepages.push(workload.resources.hugepages);
    if (workload.resources?.cpuset)
      needs.cpus = Math.max(needs.cpus, highestCpu(workload.resources.cpuset) + 1);
  }
  return needs;
}

/** A deploy step's own engine (`engine` or `context`), when it names one; else the environment's. */
function namedEngine(
  options: Record<string, unknown>,
): { engine?: EngineOption; context?: string } | undefined {
  const engine = options.engine as EngineOption | undefined;
  const context = typeof options.context === 'string' ? options.context : undefined;
  if (engine && !isOutputRef(engine)) return { engine };
  return context ? { context } : undefined;
}

function hasRunLayer(layers: unknown): boolean {
  return (
    Array.isArray(layers) &&
    layers.some((layer) => typeof layer === 'object' && layer !== null && 'run' in layer)
  );
}

/** `127.0.0.1:5000/vnf/app:1` → `127.0.0.1:5000`; a Docker Hub short name → `docker.io`. */
export function registryHost(reference: string): string | undefined {
  if (reference.startsWith('oci:') || reference.startsWith('docker-archive:')) return undefined;
  const first = reference.split('/')[0] ?? '';
  return reference.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
    ? first
    : 'docker.io';
}

function highestCpu(cpuset: string): number {
  return Math.max(...cpuset.split(',').map((part) => Number(part.split('-').at(-1)) || 0));
}
