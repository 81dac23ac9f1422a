/**
 * `vnfpipe/verify`: probes without a pipeline, for scripts, smoke tests and cron jobs — verify a release a
 * pipeline deployed earlier (its journal or `vnfpipe history` has it) with the same probes a verify step runs.
 *
 * @example
 * ```ts
 * import { listRuns, readRun } from 'vnfpipe';
 * import { probe, probeRelease, type Release } from 'vnfpipe/verify';
 *
 * const { runs } = await listRuns('.vnfpipe');
 * const run = await readRun('.vnfpipe', runs[0]!.id);
 * const release = run.steps.deploy?.output as Release;
 * const result = await probeRelease(release, [probe.udp({ role: 'mgmt', port: 5000, send: 'ping', expect: 'pong' })]);
 * process.exitCode = result.passed ? 0 : 1;
 * ```
 */
import type { Release, VerifyResult } from '../pipeline/kinds.js';
import type { ProbeSpec } from './probes.js';
import type { RunProbesOptions } from './run.js';

export type { Release, VerifyResult } from '../pipeline/kinds.js';
export type { CnfCheck, ProbeOrigin, ProbeSpec, ProbeTiming } from './probes.js';
export { cnf, probe, probeName } from './probes.js';
export type { ProbeOutcome, RunProbesOptions } from './run.js';
export { runProbes } from './run.js';
export type { CanaryResult, ExecResult, ProbeHandle, ProbeRuntime } from './runtime.js';
export { verifySummary } from './verify.js';

export interface ProbeReleaseOptions extends RunProbesOptions {
  /**
   * The project's state folder: where docker and swarm releases keep their history and the probe tool is
   * compiled.
   * @default '.vnfpipe'
   */
  stateDir?: string;
  /**
   * What a release's relative kubeconfig path is relative to.
   * @default process.cwd()
   */
  cwd?: string;
  /**
   * Environment for the target (`DOCKER_HOST`, `KUBECONFIG`).
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs `probes` against a deployed release on the target it was deployed to (Docker, swarm or Kubernetes),
 * and returns each probe's verdict with its evidence. Nothing is promoted or rolled back.
 *
 * @see {@link runProbes} to probe through a `ProbeRuntime` of your own.
 */
export async function probeRelease(
  release: Release,
  probes: ProbeSpec[],
  options: ProbeReleaseOptions = {},
): Promise<VerifyResult> {
  const { resolve } = await import('node:path');
  const { targetOf } = await import('../deploy/targets.js');
  const { runProbes } = await import('./run.js');
  const cwd = options.cwd ?? process.cwd();
  const target = await targetOf(
    { stateDir: resolve(cwd, options.stateDir ?? '.vnfpipe'), env: options.env ?? process.env, cwd },
    release,
  );
  const runtime = await target.probeRuntime(release);
  return runProbes(runtime, probes, options);
}
