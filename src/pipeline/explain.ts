/**
 * `vnfpipe plan`: the DAG with, for each step, whether its cached result would be reused and, if not,
 * why (which input changed). Nothing runs and no secret is read.
 */
import { join, resolve } from 'node:path';
import { fingerprintStep, StepCache } from './cache.js';
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
  options: { cwd?: string; stateDir?: string; noCache?: boolean } = {},
): Promise<PlanExplanation> {
  const plan: Plan = planPipeline(pipeline);
  const cwd = resolve(options.cwd ?? process.cwd());
  const cache = new StepCache(resolve(options.stateDir ?? join(cwd, '.vnfpipe')), plan.pipeline, cwd);
  const verdicts = new Map<string, CacheVerdict>();
  const cachedOutputs = new Map<string, unknown>();
  const steps: StepExplanation[] = [];

  for (const step of plan.steps) {
    const verdict = await (async (): Promise<{ status: CacheVerdict; reasons: string[] }> => {
      if (step.handler) return { status: 'on-failure', reasons: ['runs only when a step it handles fails'] };
      if (options.noCache) return { status: 'will-run', reasons: ['--no-cache'] };
      const runningUpstream = step.refs.map((ref) => ref.step).filter((id) => verdicts.get(id) !== 'cached');
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
      const fingerprint = await fingerprintStep(cache, step, resolved, (id) => cachedOutputs.get(id));
      if (!fingerprint) return { status: 'not-cacheable', reasons: ['declares no inputs'] };
      const check = await cache.check(step.id, fingerprint);
      if (check.hit && check.entry) {
        cachedOutputs.set(step.id, check.entry.output);
        return { status: 'cached', reasons: [`inputs unchanged since run ${check.entry.runId}`] };
      }
      return { status: 'will-run', reasons: check.reasons };
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
  return { pipeline: plan.pipeline, stages: [...plan.stages], steps };
}
