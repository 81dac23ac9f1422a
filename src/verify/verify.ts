/** Verifies a release with probes, logging each result with its evidence. */
import { join } from 'node:path';
import type { Release, VerifyResult } from '../pipeline/kinds.js';
import type { StepContext } from '../pipeline/model.js';
import type { ProbeSpec } from './probes.js';
import { runProbes } from './run.js';
import type { ProbeRuntime } from './runtime.js';

/** Runs `probes` through the runtime the release's target supplied. */
export async function verifyRelease(
  ctx: StepContext,
  runtime: ProbeRuntime,
  probes: ProbeSpec[],
): Promise<VerifyResult> {
  const { release } = runtime;
  await runtime.removeLeftovers((line) => ctx.log(line));
  ctx.log(`verifying ${release.name} revision ${release.revision} with ${probes.length} probes`);
  return runProbes(runtime, probes, {
    signal: ctx.signal,
    log: (line) => ctx.log(line),
    reportDir: join(ctx.stateDir, 'reports'),
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
