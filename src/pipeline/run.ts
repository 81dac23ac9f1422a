/**
 * `runPipeline` for the library entry, loading the scheduler (and the renderers it drives) on first call:
 * every pipeline file imports `vnfpipe`, and `vnfpipe plan` never runs anything.
 */
import type { Pipeline } from './define.js';
import type { RunOptions, RunResult } from './scheduler.js';

/** Runs a pipeline: see `pipeline/scheduler.ts`. */
export async function runPipeline(pipeline: Pipeline, options: RunOptions = {}): Promise<RunResult> {
  const { runPipeline: run } = await import('./scheduler.js');
  return run(pipeline, options);
}
