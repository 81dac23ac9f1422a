/**
 * Stage selection: which steps a `--stage` run takes, and the outputs of the steps it leaves out, borrowed
 * from earlier runs' journals (in CI, earlier jobs).
 */
import { join } from 'node:path';
import { VnfpipeError } from '../errors.js';
import { findPreviousOutputs } from './journal.js';
import type { Plan } from './plan.js';

/** The steps of the selected stages (all steps when none are selected). */
export function selectSteps(plan: Plan, stages: string[] | undefined): Set<string> {
  if (!stages?.length) return new Set(plan.steps.map((step) => step.id));
  const unknown = stages.filter((stage) => !plan.stages.includes(stage));
  if (unknown.length > 0) {
    throw new VnfpipeError(
      'USAGE',
      `unknown stage ${unknown.map((s) => `'${s}'`).join(', ')} in pipeline '${plan.pipeline}'`,
      {
        hint: `stages are: ${plan.stages.join(', ')}`,
      },
    );
  }
  const chosen = new Set(stages);
  const selected = new Set(plan.steps.filter((step) => chosen.has(step.stage)).map((step) => step.id));
  // Handlers of selected steps come along: a failing verify must still be able to roll back.
  for (const step of plan.steps)
    if (selected.has(step.id)) for (const handler of step.onFailure) selected.add(handler);
  return selected;
}

/** Outputs of steps outside the selection that selected steps need, from earlier runs. */
export async function borrowOutputs(plan: Plan, selection: Set<string>, stateDir: string) {
  const wanted = new Set<string>();
  for (const step of plan.steps) {
    if (!selection.has(step.id)) continue;
    for (const need of step.needs) if (!selection.has(need)) wanted.add(need);
  }
  if (wanted.size === 0) return new Map<string, { output: unknown; runId: string }>();
  const found = await findPreviousOutputs(stateDir, plan.pipeline, [...wanted]);
  const missing = [...wanted].filter((step) => !found.has(step));
  if (missing.length > 0) {
    const byId = new Map(plan.steps.map((step) => [step.id, step]));
    const stages = [...new Set(missing.map((step) => byId.get(step)!.stage))];
    throw new VnfpipeError(
      'STAGE_INPUT_MISSING',
      `the selected stages need outputs of ${missing.map((s) => `'${s}'`).join(', ')}, which no earlier run of '${plan.pipeline}' recorded`,
      {
        where: join(stateDir, 'runs'),
        hint: `run ${stages.map((stage) => `--stage ${stage}`).join(' ')} first (in CI, pass the .vnfpipe/runs folder between jobs)`,
      },
    );
  }
  return found;
}
