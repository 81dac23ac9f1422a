/** Verifies a release with probes, logging each result with its evidence. */
import { DockerEngine, engineEndpoint } from '../deploy/engine/client.js';
import type { Release, VerifyResult } from '../pipeline/kinds.js';
import type { StepContext } from '../pipeline/model.js';
import { DockerProbeRuntime } from './docker-runtime.js';
import type { ProbeSpec } from './probes.js';
import { runProbes } from './run.js';
import { probeBinary } from './tool.js';

export async function verifyRelease(
  ctx: StepContext,
  release: Release,
  probes: ProbeSpec[],
): Promise<VerifyResult> {
  const engine = new DockerEngine(engineEndpoint(ctx.env));
  const { targetOf } = await import('../deploy/targets.js');
  const reachable = await (await targetOf(ctx, release)).probeable(release);
  const runtime = new DockerProbeRuntime(engine, reachable, await probeBinary(ctx.stateDir));
  ctx.log(`verifying ${release.name} revision ${release.revision} with ${probes.length} probes`);
  return runProbes(runtime, probes, {
    signal: ctx.signal,
    onResult: (result) => ctx.log(`${result.passed ? 'pass' : 'FAIL'} ${result.name}: ${result.evidence}`),
  });
}
