/**
 * What both emitters need to know about a pipeline's stages: which stages each one depends on, whether it
 * only runs on failure (rollback), what it touches (registry, Docker, deployments, signing), the secrets
 * its steps use and the files it hands on. Derived from the plan only, so it is the same for every target.
 */
import { posix } from 'node:path';
import { VnfpipeError } from '../errors.js';
import { fleetInfoOf } from '../fleet/model.js';
import { collectSecrets } from '../pipeline/output.js';
import type { Plan, PlannedStep } from '../pipeline/plan.js';

export interface StageNeeds {
  /** Pushes to a registry: registry login, `packages: write`. */
  push: boolean;
  /** Signs artefacts with a workload identity: `id-token: write`. */
  sign: boolean;
  /** Deploys or rolls back: an environment, `deployments: write`, one deploy at a time. */
  deploy: boolean;
  /** Talks to a Docker engine. */
  docker: boolean;
}

export interface CiStage {
  name: string;
  /** Stages this one directly depends on, in stage order. */
  needs: string[];
  /** Every stage before this one in its dependency chain: their files are handed to this job. */
  ancestors: string[];
  /** Every step is an `onFailure` handler: the job runs only when a triggering stage failed. */
  onFailureOf: string[] | undefined;
  uses: StageNeeds;
  /** Names of the secrets the stage's steps use (mapped by name, never by value). */
  secrets: string[];
  /** Files (relative to the repository root) the stage's steps declare as outputs. */
  outputs: string[];
  /** Declared outputs of this stage and its ancestors: what the stage's job hands on. */
  carried: string[];
  /** The longest the stage's steps may take one after another, by their own timeouts and retries (0: none set). */
  stepTimeoutMs: number;
  /** The fleet wave whose steps the stage holds (its deploys, verifies, or rollbacks): one environment per wave. */
  wave?: number;
}

/** Step kinds and what their jobs need; unknown kinds need nothing special. */
const KIND_NEEDS: Record<string, Partial<StageNeeds>> = {
  push: { push: true },
  sign: { sign: true, push: true },
  attest: { push: true },
  deploy: { deploy: true, docker: true },
  rollback: { deploy: true, docker: true },
  // Verify settles the GitHub Deployment of what it checks, so it acts on the environment too.
  verify: { deploy: true, docker: true },
};

/**
 * @param projectDir the pipeline's project folder relative to the repository root (`.` or `pipelines`):
 * vnfpipe keeps its state and resolves step paths there.
 */
export function analyseStages(plan: Plan, projectDir = '.'): CiStage[] {
  const stageOf = new Map(plan.steps.map((step) => [step.id, step.stage]));
  const byStage = new Map<string, PlannedStep[]>();
  for (const stage of plan.stages) byStage.set(stage, []);
  for (const step of plan.steps) byStage.get(step.stage)?.push(step);

  const direct = new Map<string, Set<string>>();
  for (const stage of plan.stages) {
    const needs = new Set<string>();
    for (const step of byStage.get(stage) ?? []) {
      for (const need of step.needs) {
        const from = stageOf.get(need);
        if (from && from !== stage) needs.add(from);
      }
    }
    direct.set(stage, needs);
  }
  // A handler stage also waits for the stages whose failure triggers it.
  const triggers = new Map<string, Set<string>>();
  for (const step of plan.steps) {
    for (const handler of step.onFailure) {
      const stage = stageOf.get(handler);
      if (stage && stage !== step.stage) {
        if (!triggers.has(stage)) triggers.set(stage, new Set());
        triggers.get(stage)?.add(step.stage);
      }
    }
  }

  const isHandlerStage = (stage: string) => {
    const steps = byStage.get(stage) ?? [];
    return steps.length > 0 && steps.every((step) => step.handler);
  };
  const needsOf = new Map<string, Set<string>>();
  for (const stage of plan.stages) {
    const needs = new Set(direct.get(stage));
    if (isHandlerStage(stage)) for (const trigger of triggers.get(stage) ?? []) needs.add(trigger);
    needsOf.set(stage, needs);
  }
  const stages = jobOrder(plan.stages, needsOf);
  const order = (names: Iterable<string>) => stages.filter((stage) => new Set(names).has(stage));
  const ancestors = new Map<string, string[]>();
  const result: CiStage[] = [];
  for (const stage of stages) {
    const steps = byStage.get(stage) ?? [];
    const handlerStage = isHandlerStage(stage);
    const needs = needsOf.get(stage)!;
    const all = new Set<string>();
    for (const need of needs) {
      all.add(need);
      for (const up of ancestors.get(need) ?? []) all.add(up);
    }
    ancestors.set(stage, order(all));
    const onFailureOf = handlerStage ? order(triggers.get(stage) ?? []) : undefined;
    if (handlerStage && onFailureOf?.length === 0) {
      throw new VnfpipeError(
        'PIPELINE_INVALID',
        `stage '${stage}' holds only onFailure handlers of steps in the same stage`,
        {
          hint: 'CI runs a handler stage as its own job after the stage that fails; put the handlers in another stage',
        },
      );
    }
    result.push({
      name: stage,
      needs: order(needs),
      ancestors: order(all),
      onFailureOf,
      uses: stageNeeds(steps),
      secrets: [
        ...new Set(steps.flatMap((step) => collectSecrets(step.definition.spec.options).map((s) => s.name))),
      ].sort(),
      outputs: [...new Set(steps.flatMap((step) => declaredOutputs(step, projectDir)))].sort(),
      carried: [],
      stepTimeoutMs: steps.reduce((sum, step) => sum + (step.timeoutMs ?? 0) * (step.retries + 1), 0),
      ...waveOf(steps),
    });
  }
  const outputsOf = new Map(result.map((stage) => [stage.name, stage.outputs]));
  for (const stage of result) {
    const carried = [stage.name, ...stage.ancestors].flatMap((name) => outputsOf.get(name) ?? []);
    stage.carried = [...new Set(carried)].sort();
  }
  return result;
}

/**
 * The plan's stage order, moved only where a job needs a stage the plan puts later: a handler stage after the
 * stages whose failure triggers it (GitLab refuses `needs` on a later stage). Stable otherwise.
 */
function jobOrder(planned: readonly string[], needsOf: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const placed: string[] = [];
  const remaining = [...planned];
  while (remaining.length > 0) {
    const ready = remaining.findIndex((stage) =>
      [...(needsOf.get(stage) ?? [])].every((need) => placed.includes(need) || !remaining.includes(need)),
    );
    // Trigger edges cannot close a cycle the plan does not have; keep the plan's order if they ever did.
    const next = remaining.splice(ready === -1 ? 0 : ready, 1)[0]!;
    placed.push(next);
  }
  return placed;
}

function waveOf(steps: readonly PlannedStep[]): { wave?: number } {
  const waves = new Set(steps.map((step) => fleetInfoOf(step.definition.spec)?.wave));
  const [wave] = waves;
  return waves.size === 1 && wave !== undefined ? { wave } : {};
}

function stageNeeds(steps: readonly PlannedStep[]): StageNeeds {
  const needs: StageNeeds = { push: false, sign: false, deploy: false, docker: false };
  for (const step of steps) {
    let kind = KIND_NEEDS[step.kind] ?? {};
    // A `sign` step with a key needs no workload identity: only keyless signing gets `id-token: write`.
    const options = step.definition.spec.options as { key?: unknown } | undefined;
    if (step.kind === 'sign' && options?.key !== undefined) kind = { push: true };
    for (const key of Object.keys(kind) as Array<keyof StageNeeds>) needs[key] ||= kind[key] === true;
  }
  return needs;
}

/** The `outputs` an exec-like step declares, made relative to the repository root. */
function declaredOutputs(step: PlannedStep, projectDir: string): string[] {
  const options = step.definition.spec.options as { outputs?: unknown; cwd?: unknown } | undefined;
  const outputs = options?.outputs;
  if (!Array.isArray(outputs)) return [];
  const cwd = typeof options?.cwd === 'string' ? options.cwd : '.';
  return outputs
    .filter((glob): glob is string => typeof glob === 'string' && !glob.startsWith('!'))
    .map((glob) => posix.normalize(posix.join(projectDir, cwd, glob)));
}

/** The vnfpipe state folder relative to the repository root. */
export function stateDirOf(projectDir: string): string {
  return posix.normalize(posix.join(projectDir, '.vnfpipe'));
}
