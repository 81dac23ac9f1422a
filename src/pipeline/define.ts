/**
 * `definePipeline`: the entry point of a pipeline file. The builder records steps; nothing runs here.
 */
import { VnfpipeError } from '../errors.js';
import type { StepContext, StepDefinition, StepHandle, StepOptions, StepSpec } from './model.js';
import { outputRef } from './output.js';
import { laterCallerSite, withSite } from './site.js';

export const PIPELINE: unique symbol = Symbol.for('vnfpipe.pipeline');

export interface Pipeline {
  readonly [PIPELINE]: true;
  readonly name: string;
  readonly steps: readonly StepDefinition[];
  readonly cleanups: ReadonlyArray<() => void | Promise<void>>;
}

/** A custom step: any async function of the step context; its return value is the step's output. */
export type StepFunction<T> = (ctx: StepContext) => T | Promise<T>;

export interface PipelineBuilder {
  /** Adds a step. Its handle's `out` is a typed reference to the output, to pass to later steps. */
  // biome-ignore lint/suspicious/noExplicitAny: each kind has its own options type; only the output type matters here.
  step<T>(id: string, spec: StepSpec<T, any> | StepFunction<T>, options?: StepOptions): StepHandle<T>;
  /** Adds a group of ordinary steps (a `fleet()` rollout) and returns the group's handles. */
  add<H>(group: StepGroup<H>): H;
  /** Work to do at the end of every run, even after failure or Ctrl-C. */
  onCleanup(fn: () => void | Promise<void>): void;
}

/** Something that expands into ordinary steps of a pipeline, e.g. `fleet({ sites, waves, … })`. */
export interface StepGroup<H> {
  addTo(p: PipelineBuilder): H;
}

/**
 * Declares a pipeline: `body` adds steps with `p.step(id, spec | fn, options)`; each handle's `out` is a
 * typed reference that wires the steps together. The default export of a pipeline file.
 *
 * @example
 * ```ts
 * import { definePipeline, exec } from 'vnfpipe';
 *
 * export default definePipeline('vfw', (p) => {
 *   const bin = p.step('compile', exec({ run: 'cc -static -o out/vfw src/vfw.c', inputs: ['src/**'], outputs: ['out/vfw'] }));
 *   p.step('smoke', async (ctx) => ({ path: ctx.output(bin.out.files)[0]?.path }), { stage: 'verify' });
 * });
 * ```
 * @see {@link runPipeline} to run one from a script, and `vnfpipe check` to type-check the file.
 */
export function definePipeline(name: string, body: (p: PipelineBuilder) => void): Pipeline {
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new VnfpipeError(
      'PIPELINE_INVALID',
      `pipeline name '${String(name)}' must be letters, digits, '.', '_' or '-'`,
    );
  }
  const steps: StepDefinition[] = [];
  const cleanups: Array<() => void | Promise<void>> = [];
  const builder: PipelineBuilder = {
    step(id, spec, options = {}) {
      steps.push(withSite({ id, spec: toSpec(spec), options }, 'declaredAt', laterCallerSite()));
      return { id, out: outputRef(id) };
    },
    add(group) {
      return group.addTo(builder);
    },
    onCleanup(fn) {
      cleanups.push(fn);
    },
  };
  body(builder);
  return Object.freeze({ [PIPELINE]: true as const, name, steps, cleanups });
}

export function isPipeline(value: unknown): value is Pipeline {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PIPELINE] === true;
}

function toSpec<T>(spec: StepSpec<T, unknown> | StepFunction<T>): StepSpec<unknown, unknown> {
  if (typeof spec === 'function') return custom(spec);
  return spec as StepSpec<unknown, unknown>;
}

/** Wraps a function as a step of kind `custom` (stage `build` unless the step's options say otherwise). */
export function custom<T>(fn: StepFunction<T>): StepSpec<T, { code: string }> {
  return {
    kind: 'custom',
    stage: 'build',
    // The function's source is part of the step's identity: editing it invalidates a cached result.
    options: { code: fn.toString() },
    run: async (ctx) => fn(ctx),
  };
}
