/** Builds the `StepContext` a step runs with. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { VnfpipeError } from '../errors.js';
import type { EventBus } from './events.js';
import type { RunJournal } from './journal.js';
import type { LogStream, OutputRef, StepContext } from './model.js';
import { describeRef, readRef, refInfo } from './output.js';
import type { PlannedStep } from './plan.js';
import type { Masker } from './secret.js';

export interface ContextDeps {
  runId: string;
  cwd: string;
  stateDir: string;
  env: Readonly<Record<string, string | undefined>>;
  bus: EventBus;
  journal: RunJournal;
  masker: Masker;
  outputOf(step: string): unknown;
  cleanups: Array<{ step: string; fn: () => void | Promise<void> }>;
}

export function createStepContext(
  step: PlannedStep,
  attempt: number,
  signal: AbortSignal,
  deps: ContextDeps,
  failure?: StepContext['failure'],
): StepContext {
  const workDir = join(deps.stateDir, 'work', deps.runId, step.id);
  mkdirSync(workDir, { recursive: true });
  return {
    stepId: step.id,
    runId: deps.runId,
    attempt,
    cwd: deps.cwd,
    workDir,
    stateDir: deps.stateDir,
    signal,
    env: deps.env,
    ...(failure ? { failure } : {}),
    log(line: string, stream: LogStream = 'info') {
      // Mask the whole text first: a multi-line secret spans the lines it is split into.
      for (const masked of deps.masker.mask(String(line)).split(/\r?\n/)) {
        deps.journal.appendLog(step.id, stream === 'info' ? masked : `[${stream}] ${masked}`);
        deps.bus.emit({ type: 'step.log', time: Date.now(), step: step.id, stream, line: masked });
      }
    },
    progress(update) {
      deps.bus.emit({ type: 'step.progress', time: Date.now(), step: step.id, ...update });
    },
    onCleanup(fn) {
      deps.cleanups.push({ step: step.id, fn });
    },
    output<T>(ref: OutputRef<T>): T {
      const info = refInfo(ref);
      if (!step.needs.includes(info.step) && failure?.step !== info.step) {
        throw new VnfpipeError(
          'PIPELINE_INVALID',
          `step '${step.id}' reads ${describeRef(info)} without depending on '${info.step}'`,
          {
            where: info.site ?? step.definition.declaredAt ?? `step ${step.id}`,
            hint: `add needs: ['${info.step}'] to the step's options`,
          },
        );
      }
      return readRef(info, deps.outputOf(info.step), step.id) as T;
    },
    addSecret(value: string) {
      deps.masker.add(value);
    },
  };
}
