/** The `verify` step: probes a deployment; when every probe passes, the release is promoted. */
import { isInfrastructureFailure, messageOf, VnfpipeError } from '../errors.js';
import type { Release, VerifyResult } from '../pipeline/kinds.js';
import type { Input, StepSpec } from '../pipeline/model.js';
import type { ProbeSpec } from './probes.js';
import { validateProbe } from './validate.js';

export interface VerifyStepOptions {
  release: Input<Release>;
  probes: ProbeSpec[];
  /** Stop the previous revision and mark this one verified when all probes pass (default true). */
  promote?: boolean;
}

/** The verify step's output: the probe results and `summary`, a few lines for the end of a run. */
export interface VerifyOutput extends VerifyResult {
  summary: string;
}

/**
 * A step that verifies a release with probes (real packets, exec, CNF checks); on success the revision is
 * promoted, on failure the step fails and its `onFailure` steps (a rollback) run.
 *
 * @example
 * ```ts
 * p.step('verify', verify({ release: rel.out, probes: [probe.udp({ role: 'mgmt', port: 5000, send: 'ping', expect: 'pong' })] }),
 *   { onFailure: back });
 * ```
 * @see `vnfpipe/verify` (`probeRelease`) to probe a release from a script.
 */
export function verify(options: VerifyStepOptions): StepSpec<VerifyOutput, VerifyStepOptions> {
  return {
    kind: 'verify',
    stage: 'verify',
    options,
    validate(opts) {
      if (!Array.isArray(opts?.probes) || opts.probes.length === 0) {
        throw new VnfpipeError('PIPELINE_INVALID', "verify: 'probes' must list at least one probe");
      }
      for (const spec of opts.probes) validateProbe(spec as ProbeSpec, 'verify');
    },
    async run(ctx, opts) {
      const release = opts.release as Release;
      const [{ verifyRelease, verifySummary }, { emitReleaseEvent }, { targetOf }] = await Promise.all([
        import('./verify.js'),
        import('../deploy/release-events.js'),
        import('../deploy/targets.js'),
      ]);
      const target = await targetOf(ctx, release);
      const result = await target
        .probeRuntime(release)
        .then((runtime) => verifyRelease(ctx, runtime, opts.probes as ProbeSpec[]))
        .catch(async (error) => {
          if (isInfrastructureFailure(error))
            await emitReleaseEvent(ctx, { type: 'verify.error', release, error: messageOf(error) });
          throw error;
        });
      await emitReleaseEvent(ctx, { type: result.passed ? 'verify.passed' : 'verify.failed', release });
      if (!result.passed) {
        const failed = result.probes.filter((p) => !p.passed);
        throw new VnfpipeError(
          'STEP_FAILED',
          `${failed.length} of ${result.probes.length} probes failed: ${failed.map((p) => `${p.name} (${p.evidence})`).join('; ')}`,
          { where: `${release.name} revision ${release.revision}` },
        );
      }
      if (opts.promote !== false) await target.promote(release, (line) => ctx.log(line));
      return { ...result, summary: verifySummary(release, result) };
    },
  };
}
