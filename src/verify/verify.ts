/** Verifies a release with probes, logging each result with its evidence. */
import { DockerEngine, engineEndpoint } from '../deploy/engine/client.js';
import type { Release, VerifyResult } from '../pipeline/kinds.js';
import type { StepContext } from '../pipeline/model.js';
import { DockerProbeRuntime, removeVerifyLeftovers } from './docker-runtime.js';
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
  await removeVerifyLeftovers(engine, release.name, (line) => ctx.log(line));
  const runtime = new DockerProbeRuntime(engine, reachable, await probeBinary(ctx.stateDir));
  ctx.log(`verifying ${release.name} revision ${release.revision} with ${probes.length} probes`);
  return runProbes(runtime, probes, {
    signal: ctx.signal,
    onResult: (result) => ctx.log(`${result.passed ? 'pass' : 'FAIL'} ${result.name}: ${result.evidence}`),
  });
}

/** A few lines for the end of a run: the verdict, then each probe with its evidence. */
export function verifySummary(release: Release, result: VerifyResult): string {
  const passed = result.probes.filter((p) => p.passed).length;
  const head = `${release.name} revision ${release.revision} ${result.passed ? 'verified' : 'failed verify'}: ${passed} of ${result.probes.length} probes passed`;
  return [head, ...result.probes.map((p) => `  ${p.passed ? 'pass' : 'FAIL'} ${p.name}: ${p.evidence}`)].join(
    '\n',
  );
}
