/**
 * The scheduler: runs a validated plan as a DAG with bounded parallelism, per-step timeouts, retries with
 * backoff, `when` conditions, `onFailure` handlers, the step cache, stage selection and cancellation.
 * Every state change becomes an event and lands in the journal.
 */
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { EXIT, isInfrastructureFailure, messageOf, VnfpipeError } from '../errors.js';
import { abortable, attempt, StepTimeout, withUserSite } from './attempt.js';
import { type CacheCheck, fingerprintStep, revalidate, SharedValues, StepCache } from './cache.js';
import type { ContextDeps } from './context.js';
import type { Pipeline } from './define.js';
import { EventBus, type EventListener, type RunStatus, type StepStatus } from './events.js';
import { findLatestStepRecord, newRunId, RunJournal, type StepRecord } from './journal.js';
import type { CacheInputContext, CacheValidContext, OutputRef, StepContext, WhenContext } from './model.js';
import { collectSecrets, readRef, refInfo, resolveValue } from './output.js';
import { type PlannedStep, planPipeline } from './plan.js';
import { Masker, resolveSecret } from './secret.js';
import { borrowOutputs, selectSteps } from './selection.js';

export interface RunOptions {
  /** The project directory; relative paths in steps resolve against it. Default: the current directory. */
  cwd?: string;
  /** Where journals and caches live. Default: `<cwd>/.vnfpipe`. */
  stateDir?: string;
  /** The pipeline file, recorded in the journal. */
  file?: string;
  /** Run only these stages; outputs of earlier stages come from earlier runs' journals. */
  stages?: string[];
  /** How many steps may run at once. Default: the number of cores. */
  /**
   * Steps running at once.
   * @default the number of CPU cores
   */
  concurrency?: number;
  /** Ignore the step cache (steps still record their results for later runs). */
  noCache?: boolean;
  env?: Record<string, string | undefined>;
  /** Abort to cancel the run: running steps get the signal, cleanups run, status is `cancelled`. */
  signal?: AbortSignal;
  onEvent?: EventListener | EventListener[];
}

export interface RunResult {
  runId: string;
  status: RunStatus;
  /** 0 ok, 1 a step failed, 130 cancelled. */
  exitCode: number;
  journal: string;
  steps: Record<string, StepRecord>;
  /** Outputs of the steps that succeeded or were cached, by step id. */
  outputs: Record<string, unknown>;
}

type Terminal = StepStatus;

const DONE_OK: ReadonlySet<Terminal> = new Set(['ok', 'cached']);

const INFRASTRUCTURE_REASON = "failed in vnfpipe's tooling or environment, not in what it checks";

export async function runPipeline(pipeline: Pipeline, options: RunOptions = {}): Promise<RunResult> {
  const plan = planPipeline(pipeline);
  const cwd = resolve(options.cwd ?? process.cwd());
  const stateDir = resolve(options.stateDir ?? join(cwd, '.vnfpipe'));
  const env = options.env ?? process.env;
  const concurrency = options.concurrency ?? availableParallelism();
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new VnfpipeError(
      'USAGE',
      `concurrency must be a whole number ≥ 1, got ${String(options.concurrency)}`,
    );
  }
  const selection = selectSteps(plan, options.stages);
  const outputs = new Map<string, unknown>();
  const borrowed = await borrowOutputs(plan, selection, stateDir);
  for (const [step, found] of borrowed) outputs.set(step, found.output);

  const masker = new Masker();
  // Every secret the pipeline names is masked from the first event on: an earlier step may print the
  // environment, and a skipped step's secret is still in it.
  for (const step of plan.steps) {
    for (const ref of collectSecrets(step.definition.spec.options)) {
      try {
        masker.add(resolveSecret(ref, env));
      } catch {
        // Not set: reported when the step that needs it runs.
      }
    }
  }
  const bus = new EventBus(masker);
  for (const listener of [options.onEvent ?? []].flat()) bus.on(listener);

  const runId = newRunId();
  const startedAt = Date.now();
  const journal = new RunJournal(stateDir, {
    version: 1,
    id: runId,
    pipeline: plan.pipeline,
    ...(options.file ? { file: options.file } : {}),
    pid: process.pid,
    startedAt: new Date(startedAt).toISOString(),
    status: 'running',
    stages: options.stages?.length ? [...options.stages] : null,
    steps: {},
  });
  for (const [step, found] of borrowed) {
    const planned = plan.steps.find((s) => s.id === step)!;
    journal.record.steps[step] = {
      status: 'cached',
      kind: planned.kind,
      stage: planned.stage,
      attempts: 0,
      output: masker.maskDeep(found.output),
      reason: `taken from run ${found.runId} (stage ${planned.stage} not selected)`,
      fromRun: found.runId,
    };
  }
  for (const step of plan.steps) {
    if (selection.has(step.id)) {
      journal.record.steps[step.id] = { status: 'pending', kind: step.kind, stage: step.stage, attempts: 0 };
    }
  }
  await journal.save();

  const runController = new AbortController();
  const onOuterAbort = () => runController.abort(options.signal?.reason);
  if (options.signal?.aborted) onOuterAbort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const cache = new StepCache(stateDir, plan.pipeline, cwd);
  const cacheContext: CacheInputContext = {
    cwd,
    stateDir,
    env,
    ...(options.file ? { file: relative(cwd, resolve(cwd, options.file)) } : {}),
    secrets: true,
  };
  const shared = new SharedValues();
  const validContext = shared.checkContext({ cwd, stateDir, env });
  const cleanups: ContextDeps['cleanups'] = [];
  const deps: ContextDeps = {
    runId,
    cwd,
    stateDir,
    env,
    bus,
    journal,
    masker,
    cleanups,
    outputOf: (step) => outputs.get(step),
  };

  bus.emit({
    type: 'run.start',
    time: startedAt,
    runId,
    pipeline: plan.pipeline,
    stages: plan.stages.filter((stage) => plan.steps.some((s) => s.stage === stage && selection.has(s.id))),
    steps: plan.steps
      .filter((step) => selection.has(step.id))
      .map((step) => ({
        id: step.id,
        kind: step.kind,
        stage: step.stage,
        needs: [...step.needs],
        handler: step.handler,
      })),
  });

  const status = new Map<string, Terminal>();
  for (const step of borrowed.keys()) status.set(step, 'cached');
  const failures = new Map<string, NonNullable<StepContext['failure']>>();
  const byId = new Map(plan.steps.map((step) => [step.id, step]));
  // Handlers join the run only when triggered, unless their own stage was selected explicitly (a CI job
  // that runs `--stage rollback` after a failed verify job).
  const chosenStages = new Set(options.stages ?? []);
  const inRun = new Set(
    [...selection].filter((id) => !byId.get(id)!.handler || chosenStages.has(byId.get(id)!.stage)),
  );
  const running = new Map<string, Promise<void>>();
  // Steps that failed in vnfpipe's tooling or environment, not in what they check: no onFailure for them.
  const infrastructure = new Set<string>();
  // A handler's own stage run on its own (a CI rollback job after a failed verify job) reads how the steps
  // it handles ended in the earlier job's journal: nothing to do when a failure was vnfpipe's own tooling's,
  // or when that job already ran the handler (only a job killed before it could needs this one to).
  const handledElsewhere = new Map<string, string>();
  for (const id of [...inRun]) {
    if (!byId.get(id)!.handler) continue;
    for (const step of plan.steps.filter((s) => s.onFailure.includes(id) && !inRun.has(s.id))) {
      const latest = await findLatestStepRecord(stateDir, plan.pipeline, step.id);
      if (latest?.record.status !== 'failed') continue;
      const ranThere = latest.run.steps[id]?.status;
      if (latest.record.infrastructure) infrastructure.add(step.id);
      else if (ranThere === 'ok' || ranThere === 'failed')
        handledElsewhere.set(
          id,
          `not run: it already ran (${ranThere}) in run ${latest.run.id}, where '${step.id}' failed`,
        );
      else continue;
      inRun.delete(id);
    }
  }

  const finish = async (step: PlannedStep, result: Terminal, extra: Partial<StepRecord> = {}) => {
    status.set(step.id, result);
    const record = journal.record.steps[step.id]!;
    Object.assign(record, extra, { status: result });
    if (!record.endedAt) record.endedAt = new Date().toISOString();
    const durationMs = record.startedAt ? Date.parse(record.endedAt) - Date.parse(record.startedAt) : 0;
    record.durationMs = durationMs;
    const summary = result === 'ok' ? summaryOf(record.output) : undefined;
    bus.emit({
      type: 'step.end',
      time: Date.now(),
      step: step.id,
      status: result,
      durationMs,
      attempts: record.attempts,
      ...(record.reason ? { reason: record.reason } : {}),
      ...(record.error ? { error: record.error } : {}),
      ...(summary ? { summary } : {}),
    });
    if (result === 'failed' && !infrastructure.has(step.id)) {
      for (const handler of step.onFailure) {
        if (!inRun.has(handler) && selection.has(handler)) {
          failures.set(handler, { step: step.id, error: record.error ?? 'failed' });
          inRun.add(handler);
        }
      }
    }
    await journal.save();
  };

  const blockedBy = (step: PlannedStep): string | undefined => {
    const triggered = failures.has(step.id);
    for (const need of step.needs) {
      const needStatus = status.get(need);
      // A triggered handler runs after every step it handles, whichever of them failed first (a fleet's
      // wave rollback waits for each site's verify, passed or failed).
      if (triggered && needStatus === 'failed' && byId.get(need)?.onFailure.includes(step.id)) continue;
      if (needStatus && !DONE_OK.has(needStatus))
        return `'${need}' ${needStatus === 'failed' ? 'failed' : `was ${needStatus}`}`;
    }
    return undefined;
  };
  const isReady = (step: PlannedStep) => step.needs.every((need) => status.has(need) || !inRun.has(need));

  const execute = async (step: PlannedStep): Promise<void> => {
    const record = journal.record.steps[step.id]!;
    record.startedAt = new Date().toISOString();
    record.status = 'running';
    try {
      const reason = blockedBy(step);
      if (reason) return await finish(step, 'skipped', { reason: `skipped because ${reason}` });
      const when = await evaluateWhen(step, deps, runController.signal).catch((error: unknown) => {
        throw withUserSite(error, step.id, deps);
      });
      if (!when) {
        return await finish(step, 'skipped', { reason: 'its when condition is false' });
      }
      const resolved = resolveValue(step.definition.spec.options, {
        outputOf: deps.outputOf,
        consumer: step.id,
        env,
        onSecret: (value) => masker.add(value),
      });
      const check = options.noCache
        ? undefined
        : await checkCache(step, resolved, cache, deps, cacheContext, validContext, runController.signal);
      if (check?.hit && check.entry) {
        outputs.set(step.id, check.entry.output);
        const remote = step.definition.spec.cacheValidRemote;
        return await finish(step, 'cached', {
          output: masker.maskDeep(check.entry.output),
          reason: `inputs unchanged since run ${check.entry.runId}${remote ? `, and ${remote}` : ''}`,
          fromRun: check.entry.runId,
        });
      }
      // Why an earlier result was not reused, in the step's log (plan shows the same reasons).
      const notes =
        check?.entry && check.reasons.length
          ? [`not reused from run ${check.entry.runId}: ${masker.mask(check.reasons.join('; '))}`]
          : [];
      const output = await attempt(
        step,
        resolved,
        record,
        deps,
        runController.signal,
        failures.get(step.id),
        notes,
      );
      outputs.set(step.id, output);
      const fingerprint =
        check?.fingerprint ??
        (options.noCache
          ? await fingerprintStep(cache, step, resolved, deps.outputOf, cacheContext)
          : undefined);
      const shown = masker.maskDeep(output);
      const holdsSecret = JSON.stringify(shown) !== JSON.stringify(output);
      if (fingerprint && holdsSecret) {
        deps.journal.appendLog(step.id, 'not cached: the output holds a secret');
      } else if (fingerprint) {
        const files = step.definition.spec.cacheOutputs?.(output as never) ?? [];
        if (!(await cache.store(step.id, fingerprint, output, files, runId)))
          deps.journal.appendLog(step.id, 'not cached: a value its result depends on was not known');
      }
      await finish(step, 'ok', { output: shown });
    } catch (error) {
      const cancelled = runController.signal.aborted && !(error instanceof StepTimeout);
      const notTheSubject = !cancelled && step.onFailure.length > 0 && isInfrastructureFailure(error);
      if (notTheSubject) infrastructure.add(step.id);
      await finish(step, cancelled ? 'cancelled' : 'failed', {
        error: masker.mask(messageOf(error)),
        ...(notTheSubject
          ? {
              reason: `${INFRASTRUCTURE_REASON}: ${step.onFailure.join(', ')} not run`,
              infrastructure: true,
            }
          : {}),
      });
    }
  };

  // Whatever happens in the loop (a journal that cannot be written, a listener that throws), running
  // steps are cancelled, cleanups run and the journal gets a final status.
  let failure: unknown;
  try {
    while (true) {
      if (runController.signal.aborted) {
        for (const id of inRun) {
          const step = byId.get(id)!;
          if (!status.has(id) && !running.has(id))
            await finish(step, 'cancelled', { reason: 'the run was cancelled' });
        }
      }
      for (const id of inRun) {
        if (running.size >= concurrency) break;
        const step = byId.get(id)!;
        if (status.has(id) || running.has(id) || !isReady(step)) continue;
        running.set(
          id,
          execute(step).finally(() => running.delete(id)),
        );
      }
      if (running.size === 0) {
        const stuck = [...inRun].filter((id) => !status.has(id));
        if (stuck.length === 0) break;
        // Only possible when a dependency never joins the run; report instead of hanging.
        for (const id of stuck)
          await finish(byId.get(id)!, 'skipped', { reason: 'its dependencies did not run' });
        break;
      }
      await Promise.race(running.values());
    }

    for (const handler of plan.steps.filter(
      (step) => step.handler && selection.has(step.id) && !inRun.has(step.id),
    )) {
      const blameless = plan.steps.find((s) => infrastructure.has(s.id) && s.onFailure.includes(handler.id));
      journal.record.steps[handler.id] = {
        ...journal.record.steps[handler.id]!,
        status: 'skipped',
        reason: blameless
          ? `not run: '${blameless.id}' ${INFRASTRUCTURE_REASON}`
          : (handledElsewhere.get(handler.id) ?? 'not triggered: runs only when a step it handles fails'),
      };
    }
  } catch (error) {
    failure = error;
    runController.abort(error);
    await Promise.allSettled(running.values());
  }

  shared.disposeAll();
  await runCleanups(cleanups, pipeline.cleanups, deps);
  options.signal?.removeEventListener('abort', onOuterAbort);
  if (failure !== undefined) {
    journal.record.status = 'failed';
    journal.record.endedAt = new Date().toISOString();
    await journal.save().catch(() => {});
    throw failure;
  }

  const statuses = [...inRun].map((id) => status.get(id));
  const runStatus: RunStatus = runController.signal.aborted
    ? 'cancelled'
    : statuses.some((s) => s === 'failed' || s === 'cancelled')
      ? 'failed'
      : 'ok';
  journal.record.status = runStatus;
  journal.record.endedAt = new Date().toISOString();
  await journal.save();
  bus.emit({
    type: 'run.end',
    time: Date.now(),
    runId,
    status: runStatus,
    durationMs: Date.now() - startedAt,
    journal: journal.dir,
  });

  return {
    runId,
    status: runStatus,
    exitCode: runStatus === 'ok' ? EXIT.ok : runStatus === 'cancelled' ? EXIT.interrupted : EXIT.failed,
    journal: journal.dir,
    steps: journal.record.steps,
    outputs: Object.fromEntries(outputs),
  };
}

/** A step that tells people what it did returns an object with a string `summary`. */
function summaryOf(output: unknown): string | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  const summary = (output as { summary?: unknown }).summary;
  return typeof summary === 'string' && summary.trim() !== '' ? summary.trim() : undefined;
}

async function evaluateWhen(step: PlannedStep, deps: ContextDeps, signal: AbortSignal): Promise<boolean> {
  const when = step.definition.options.when;
  if (when === undefined || when === true) return true;
  if (when === false) return false;
  const ctx: WhenContext = {
    env: deps.env,
    output<T>(ref: OutputRef<T>): T {
      return readRef(refInfo(ref), deps.outputOf(refInfo(ref).step), step.id) as T;
    },
  };
  return Boolean(await abortable(Promise.resolve(when(ctx)), signal));
}

async function checkCache(
  step: PlannedStep,
  resolved: unknown,
  cache: StepCache,
  deps: ContextDeps,
  ctx: CacheInputContext,
  validContext: Omit<CacheValidContext, 'signal'>,
  signal: AbortSignal,
): Promise<CacheCheck> {
  const fingerprint = await fingerprintStep(cache, step, resolved, deps.outputOf, ctx);
  if (!fingerprint) return { cacheable: false, hit: false, reasons: ['declares no inputs'] };
  const check = await cache.check(step.id, fingerprint);
  if (!check.hit || !check.entry) return check;
  // Everything recorded matches; the kind may still know better (a registry that no longer holds the tag).
  const reason = await revalidate(step, check.entry.output, resolved, validContext, signal);
  return reason ? { ...check, hit: false, reasons: [reason] } : check;
}

async function runCleanups(
  stepCleanups: ContextDeps['cleanups'],
  pipelineCleanups: ReadonlyArray<() => void | Promise<void>>,
  deps: ContextDeps,
) {
  const all = [
    ...stepCleanups.map((c) => ({ step: c.step as string | undefined, fn: c.fn })),
    ...pipelineCleanups.map((fn) => ({ step: undefined as string | undefined, fn })),
  ].reverse();
  for (const cleanup of all) {
    try {
      await cleanup.fn();
    } catch (error) {
      const line = `cleanup failed: ${deps.masker.mask(messageOf(error))}`;
      if (cleanup.step) {
        deps.journal.appendLog(cleanup.step, line);
        deps.bus.emit({ type: 'step.log', time: Date.now(), step: cleanup.step, stream: 'warn', line });
      } else {
        process.emitWarning(line);
      }
    }
  }
}
