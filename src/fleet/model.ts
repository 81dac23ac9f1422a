/**
 * The fleet model: sites (an engine each, with overrides of the workload) and the waves they are rolled out
 * in. Pure types, cheap to import from a pipeline file.
 */

import type { EngineOption } from '../deploy/engine/address.js';
import type { NetworkAttachment, Workload } from '../deploy/model.js';
import type { DockerDeployStepOptions } from '../deploy/step.js';
import type { Duration } from '../pipeline/model.js';
import type { ProbeSpec } from '../verify/probes.js';

/** The workload a fleet rolls out: its image may be a push step's output. */
export type FleetWorkload = DockerDeployStepOptions['workload'];

/** What a site changes in the workload: networks merge by role, env/labels/sysctls/resources by key. */
export type SiteOverrides = Partial<Omit<Workload, 'image' | 'networks'>> & {
  networks?: Array<Partial<NetworkAttachment> & { role: string }>;
};

export interface Site {
  /**
   * The engine, as a deploy step's `engine`: DOCKER_HOST form (`unix:///run/edge1.sock`, `tcp://10.0.0.5:2376`,
   * `ssh://ops@edge1`) or `{ host, tls, ssh }`; default: the environment's engine.
   */
  engine?: EngineOption;
  /** A docker context name, passed to the deploy step's `context`. */
  context?: string;
  /** `docker` (default) or `swarm` (the engine is a swarm manager). */
  target?: 'docker' | 'swarm';
  overrides?: SiteOverrides;
}

/** What happens when a site's verify fails in a wave; later waves never start in any case. */
export type WaveFailurePolicy = 'rollback-wave' | 'rollback-all' | 'halt';

export interface FleetOptions {
  sites: Record<string, Site>;
  /** Site names, wave by wave: `[['lab'], ['edge1'], ['edge2', 'edge3']]`. Each site in exactly one wave. */
  waves: string[][];
  workload: FleetWorkload;
  /** The probes every site is verified with (and re-verified with after a rollback). */
  probes: ProbeSpec[];
  /** Sites of one wave deployed at once (default: all of the wave). */
  maxParallel?: number;
  /** A wait between waves (shown as progress; Ctrl-C cancels it). */
  pauseBetween?: Duration;
  /** Default `rollback-wave`. */
  onWaveFailure?: WaveFailurePolicy;
}

/** Carried by every step a fleet expands into: the CI emitters give each wave its own environment. */
export interface FleetStepInfo {
  readonly wave: number;
  readonly site?: string;
}

export const WAVE_FAILURE_POLICIES: readonly WaveFailurePolicy[] = ['rollback-wave', 'rollback-all', 'halt'];

/** Stage names of a wave and of the steps that run when it fails. */
export const waveStage = (wave: number) => `wave-${wave}`;
export const rollbackStage = (wave: number) => `rollback-wave-${wave}`;
export const haltStage = (wave: number) => `halt-wave-${wave}`;

/** The wave a planned step belongs to, when a fleet made it. */
export function fleetInfoOf(spec: unknown): FleetStepInfo | undefined {
  const info = (spec as { fleet?: FleetStepInfo } | undefined)?.fleet;
  return info && Number.isInteger(info.wave) ? info : undefined;
}
