/**
 * The pipeline model: steps, their typed outputs and options. Pure types and small constructors only, so
 * that a pipeline file (and `vnfpipe plan`) loads fast; step implementations load their heavy modules lazily.
 */
import type { SecretRef } from './secret.js';

/** Marks a value as a reference to (part of) a step's output. */
export const OUTPUT_REF: unique symbol = Symbol.for('vnfpipe.output');

export interface OutputRefInfo {
  /** Id of the step that produces the value. */
  readonly step: string;
  /** Property path inside that step's output (empty: the whole output). */
  readonly path: readonly string[];
  /** Where the pipeline code took this reference (`file:line:col`), for errors. */
  readonly site?: string;
}

/** A reference to a value another step will produce. Passing it into options wires a dependency. */
export interface OutputRef<T> {
  readonly [OUTPUT_REF]: OutputRefInfo;
  /** Phantom field: carries T for type checking, never present at run time. */
  readonly __type?: T;
}

/** A typed reference whose properties are references to the output's properties (`img.out.digest`). */
export type Output<T> = OutputRef<T> &
  (T extends readonly unknown[]
    ? unknown
    : T extends object
      ? { readonly [K in keyof T]-?: Output<T[K]> }
      : unknown);

/** A value given directly or taken from another step's output. */
export type Input<T> = T | OutputRef<T>;

/** What a step's options look like once references and secrets are resolved. */
export type Resolved<O> =
  O extends OutputRef<infer X>
    ? X
    : O extends SecretRef
      ? string
      : O extends (...args: never[]) => unknown
        ? O
        : O extends readonly (infer E)[]
          ? Resolved<E>[]
          : O extends object
            ? { [K in keyof O]: Resolved<O[K]> }
            : O;

/** Where a step's log lines come from. */
export type LogStream = 'stdout' | 'stderr' | 'info' | 'warn';

/** What a running step is given. */
export interface StepContext {
  readonly stepId: string;
  readonly runId: string;
  readonly attempt: number;
  /** The project directory (the pipeline file's folder): relative paths are resolved against it. */
  readonly cwd: string;
  /** Scratch space owned by the step for this run. */
  readonly workDir: string;
  /** The state directory (`<cwd>/.vnfpipe`), shared by caches and stores (OCI layout, layer cache). */
  readonly stateDir: string;
  /** Aborted on Ctrl-C, on timeout, or when the run is cancelled: pass it to everything that waits. */
  readonly signal: AbortSignal;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Log one line (secrets are masked on the way out). */
  log(line: string, stream?: LogStream): void;
  /** Report progress of long work, e.g. bytes of a layer uploaded. */
  progress(update: ProgressUpdate): void;
  /** Register work that must run at the end of the run, even after failure or Ctrl-C (reverse order). */
  onCleanup(fn: () => void | Promise<void>): void;
  /** The value of an output reference of a step this one depends on (custom steps use it). */
  output<T>(ref: OutputRef<T>): T;
  /** Set when this step runs as the `onFailure` handler of a failed step. */
  readonly failure?: { readonly step: string; readonly error: string; readonly output?: unknown };
  /** Register a value that must never be shown (a token obtained at run time). */
  addSecret(value: string): void;
}

export interface ProgressUpdate {
  /** What is progressing (a blob digest, a layer name). */
  label: string;
  current: number;
  total?: number;
  unit: 'bytes' | 'items';
}

/** What decides whether a cached output can be reused, besides the options and the outputs a step consumes. */
export interface CacheInputs {
  /** Globs relative to the project directory (`src/**`, `!src/**\/*.md`). */
  files: string[];
  /**
   * Other things the result depends on (a tool's version, a database's stamp, a key's digest), by a name
   * `vnfpipe plan` shows when one changes (`scanner version changed`). Only their hashes are stored; still,
   * never pass a low-entropy secret (a password) here. `undefined`: not known now (a secret, under
   * `vnfpipe plan`, which reads none): plan then says the step is reused only if it is unchanged.
   */
  values?: Record<string, unknown>;
}

/** What `cacheInputs` is given besides the options. */
export interface CacheInputContext {
  readonly cwd: string;
  readonly stateDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The pipeline file, relative to `cwd`, when known. */
  readonly file?: string;
  /** False under `vnfpipe plan`: secrets in the options are placeholders (`secret(NAME)`), not values. */
  readonly secrets: boolean;
}

/** What `cacheValid` is given besides the recorded output and the options. */
export interface CacheValidContext {
  readonly cwd: string;
  readonly stateDir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted when the check takes too long or the run is cancelled: pass it to everything that waits. */
  readonly signal: AbortSignal;
  /**
   * One value per key for the whole run, shared by the checks of several steps (a registry client: one
   * connection, one ping, for a push, its signature and its attestations); `dispose` runs when the run ends.
   */
  shared<T>(key: string, create: () => T, dispose?: (value: T) => void): T;
}

/**
 * A step kind's contract: its options (which may hold output references and secrets), its default stage,
 * and how to run it. Factories such as `exec()` return one.
 */
export interface StepSpec<T = unknown, O = unknown> {
  readonly kind: string;
  readonly stage: string;
  readonly options: O;
  /** Checks options before anything runs; throw a VnfpipeError('PIPELINE_INVALID') naming the option. */
  validate?(options: O): void;
  /**
   * Inputs for the step cache; undefined (or no `cacheInputs`) when these options are never cached. A step
   * with no files and no values is still cached: by its options and the outputs it consumes.
   */
  cacheInputs?(
    options: Resolved<O>,
    ctx: CacheInputContext,
  ): CacheInputs | undefined | Promise<CacheInputs | undefined>;
  /** Files the step produces; a cached output is reused only while they are unchanged. */
  cacheOutputs?(output: T): string[];
  /**
   * Checked before a cached output is reused, when everything else matches: resolves to the reason the
   * output no longer holds (the registry's tag names another manifest), or undefined when it does. A check
   * that throws or outlives its short timeout makes the step run, with that as the reason.
   */
  cacheValid?(output: T, options: Resolved<O>, ctx: CacheValidContext): Promise<string | undefined>;
  /**
   * Set when `cacheValid` needs the network: `vnfpipe plan` does not run it and says this is checked when the
   * step runs (e.g. `'the registry still holds the pushed tag'`).
   */
  readonly cacheValidRemote?: string;
  run(ctx: StepContext, options: Resolved<O>): Promise<T>;
}

export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h'}`;

export interface WhenContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  output<T>(ref: OutputRef<T>): T;
}

export interface StepOptions {
  /** Stage the step belongs to (defaults to the kind's stage). */
  stage?: string;
  /** Explicit dependencies besides the ones implied by output references. */
  needs?: Array<StepHandle<unknown> | string>;
  timeout?: Duration;
  /** Extra attempts after a failure. */
  retries?: number;
  /** First delay between attempts; it doubles each time (default 1s). */
  retryDelay?: Duration;
  /** Run the step only when true. Dependents of a skipped step are skipped too. */
  when?: boolean | ((ctx: WhenContext) => boolean | Promise<boolean>);
  /** Steps to run when this one fails (e.g. rollback after verify). They run only then. */
  onFailure?: StepHandle<unknown> | string | Array<StepHandle<unknown> | string>;
  /** Extra cache inputs (globs) on top of the kind's own. */
  inputs?: string[];
}

export interface StepHandle<T> {
  readonly id: string;
  readonly out: Output<T>;
}

export interface StepDefinition {
  readonly id: string;
  readonly spec: StepSpec<unknown, unknown>;
  readonly options: StepOptions;
  /** Where the step was declared in the pipeline file (for errors). */
  readonly declaredAt?: string;
}
