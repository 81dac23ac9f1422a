/** One step's attempts: timeouts per attempt, retries with a doubling delay, outputs checked as JSON. */
import { messageOf, VnfpipeError } from '../errors.js';
import { type ContextDeps, createStepContext } from './context.js';
import type { StepRecord } from './journal.js';
import type { StepContext } from './model.js';
import type { PlannedStep } from './plan.js';
import { userSite } from './site.js';

export class StepTimeout extends VnfpipeError {}

/** Runs the step, retrying with a doubling delay; each attempt has its own timeout. */
export async function attempt(
  step: PlannedStep,
  resolved: unknown,
  record: StepRecord,
  deps: ContextDeps,
  runSignal: AbortSignal,
  failure: StepContext['failure'],
  /** Lines logged once the step has started (why a cached result was not reused). */
  notes: readonly string[] = [],
): Promise<unknown> {
  let delay = step.retryDelayMs;
  for (let n = 1; ; n++) {
    record.attempts = n;
    deps.bus.emit({ type: 'step.start', time: Date.now(), step: step.id, attempt: n });
    if (n === 1) {
      for (const line of notes) {
        deps.journal.appendLog(step.id, line);
        deps.bus.emit({ type: 'step.log', time: Date.now(), step: step.id, stream: 'info', line });
      }
    }
    const controller = new AbortController();
    const onRunAbort = () => controller.abort(runSignal.reason);
    runSignal.addEventListener('abort', onRunAbort, { once: true });
    const timer =
      step.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () =>
              controller.abort(
                new StepTimeout('STEP_TIMEOUT', `timed out after ${step.timeoutMs}ms`, {
                  where: `step ${step.id}`,
                  hint: 'raise the step’s timeout or look at its log',
                }),
              ),
            step.timeoutMs,
          );
    try {
      const ctx = createStepContext(step, n, controller.signal, deps, failure);
      const output = await abortable(step.definition.spec.run(ctx, resolved as never), controller.signal);
      return toJsonValue(output, step.id);
    } catch (thrown) {
      if (runSignal.aborted) throw thrown;
      const error = withUserSite(thrown, step.id, deps);
      const message = deps.masker.mask(messageOf(error));
      if (n > step.retries) throw error;
      deps.journal.appendLog(step.id, `attempt ${n} failed: ${message}; retrying in ${delay}ms`);
      deps.bus.emit({
        type: 'step.retry',
        time: Date.now(),
        step: step.id,
        attempt: n,
        delayMs: delay,
        error: message,
      });
      await sleep(delay, runSignal);
      delay *= 2;
    } finally {
      clearTimeout(timer);
      runSignal.removeEventListener('abort', onRunAbort);
    }
  }
}

/**
 * A plain error thrown by step code keeps the line that threw (the first user frame, source-mapped) in
 * its message; the whole stack goes to the step's log, where it does not crowd the run's output.
 */
export function withUserSite(error: unknown, step: string, deps: ContextDeps): unknown {
  if (!(error instanceof Error) || error instanceof VnfpipeError) return error;
  for (const line of deps.masker.mask(error.stack ?? String(error)).split('\n'))
    deps.journal.appendLog(step, `[stack] ${line}`);
  const site = userSite(error.stack);
  if (!site) return error;
  const name = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
  return new VnfpipeError('STEP_FAILED', `${name}${error.message}`, { where: site, cause: error });
}

/** Outputs travel through JSON (journal, CI jobs): check that early and hand on the JSON form. */
export function toJsonValue(output: unknown, step: string): unknown {
  try {
    return output === undefined ? null : JSON.parse(JSON.stringify(output));
  } catch (error) {
    throw new VnfpipeError('STEP_FAILED', `the output of step '${step}' cannot be stored as JSON`, {
      where: `step ${step}`,
      hint: 'return plain data: strings, numbers, booleans, arrays and objects',
      cause: error,
    });
  }
}

export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolvePromise(value);
      },
      (error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((done, fail) => {
    const onAbort = () => {
      clearTimeout(timer);
      fail(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      done();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
