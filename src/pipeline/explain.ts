/**
 * `vnfpipe plan`: the DAG with, for each step, whether its cached result would be reused and, if not,
 * why (which input changed). Nothing runs and no secret is read.
 */
import { join, relative, resolve } from 'node:path';
import { fingerprintStep, revalidate, SharedValues, StepCache } from './cache.js';
import type { Pipeline } from './define.js';
import { resolveValue } from './output.js';
import { type Plan, planPipeline } from './plan.js';

export type CacheVerdict = 'cached' | 'will-run' | 'not-cacheable' | 'on-failure';

export interface StepExplanation {
  id: string;
  kind: string;
  stage: string;
  needs: string[];
  handler: boolean;
  onFailure: string[];
  cache: { status: CacheVerdict; reasons: string[] };
}

export interface PlanExplanation {
  pipeline: string;
  stages: string[];
  steps: StepExplanation[];
}

export async function explainPlan(
  pipeline: Pipeline,
  options: {
    cwd?: string;
    stateDir?: string;
    noCache?: boolean;
    /** The pipeline file (steps such as `attest` depend on its content). */
    file?: string;
    /** The environment the run would have (default: this process's). */
    env?: Record<string, string | undefined>;
  } = {},
): Promise<PlanExplanation> {
  const plan: Plan = planPipeline(pipeline);
  const cwd = resolve(options.cwd ?? process.cwd());
  const stateDir = resolve(options.stateDir ?? join(cwd, '.vnfpipe'));
  const env = options.env ?? process.env;
  const cache = new StepCache(stateDir, plan.pipeline, cwd);
  const cacheContext = {
    cwd,
    stateDir,
    env,
    ...(options.file ? { file: relative(cwd, resolve(cwd, options.file)) } : {}),
    secrets: false,
  };
  const shared = new SharedValues();
  const validContext = shared.checkContext({ cwd, stateDir, env });
  const verdicts = new Map<string, CacheVerdict>();
  const cachedOutputs = new Map<string, unknown>();
  const steps: StepExplanation[] = [];

  try {
    for (const step of plan.steps) {
      const verdict = await (async (): Promise<{ status: CacheVerdict; reasons: string[] }> => {
        if (step.handler)
          return { status: 'on-failure', reasons: ['runs only when a step it handles fails'] };
        if (options.noCache) return { status: 'will-run', reasons: ['--no-cache'] };
        const runningUpstream = step.refs
          .map((ref) => ref.step)
          .filter((id) => verdicts.get(id) !== 'cached');
        const spec = step.definition.spec;
        if (!spec.cacheInputs && !step.definition.options.inputs?.length) {
          return { status: 'not-cacheable', reasons: ['declares no inputs'] };
        }
        if (runningUpstream.length > 0) {
          const names = [...new Set(runningUpstream)].map((id) => `'${id}'`).join(', ');
          return { status: 'will-run', reasons: [`uses the output of ${names}, which will run`] };
        }
        const resolved = resolveValue(spec.options, {
          outputOf: (id) => cachedOutputs.get(id),
          consumer: step.id,
          env: {},
          onSecret: () => {},
          secretValue: (ref) => `secret(${ref.name})`,
        });
        const fingerprint = await fingerprintStep(
          cache,
          step,
          resolved,
          (id) => cachedOutputs.get(id),
          cacheContext,
        );
        if (!fingerprint)
          return { status: 'not-cacheable', reasons: ['declares no inputs for these options'] };
        const check = await cache.check(step.id, fingerprint);
        if (!check.hit || !check.entry) return { status: 'will-run', reasons: check.reasons };
        const reasons = [`inputs unchanged since run ${check.entry.runId}`];
        // A step it needs without using its output (`needs`) runs first and may change an input file.
        const runningNeeds = step.needs.filter((id) => !step.refs.some((ref) => ref.step === id));
        const changers = runningNeeds.filter((id) => verdicts.get(id) !== 'cached');
        if (changers.length > 0 && Object.keys(fingerprint.inputs).length > 0)
          reasons.push(
            `${changers.map((id) => `'${id}'`).join(', ')} will run first: if it changes an input file, this step runs too`,
          );
        for (const name of check.unknown ?? [])
          reasons.push(`reused only if the ${name} is unchanged (plan reads no secret)`);
        if (spec.cacheValidRemote) {
          // Not asked here: plan does not reach out to registries.
          reasons.push(`checked when it runs: ${spec.cacheValidRemote}`);
        } else {
          const invalid = await revalidate(step, check.entry.output, resolved, validContext);
          if (invalid) return { status: 'will-run', reasons: [invalid] };
        }
        cachedOutputs.set(step.id, check.entry.output);
        return { status: 'cached', reasons };
      })();
      verdicts.set(step.id, verdict.status);
      steps.push({
        id: step.id,
        kind: step.kind,
        stage: step.stage,
        needs: [...step.needs],
        handler: step.handler,
        onFailure: [...step.onFailure],
        cache: verdict,
      });
    }
  } finally {
    shared.disposeAll();
  }
  return { pipeline: plan.pipeline, stages: [...plan.stages], steps };
}
