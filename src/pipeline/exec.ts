/**
 * The `exec` step: runs a command in the project directory, streams its output into the step log,
 * and records the files it produced.
 */
import { VnfpipeError } from '../errors.js';
import type { Input, StepContext, StepSpec } from './model.js';
import type { SecretRef } from './secret.js';

export interface ExecOptions {
  /** A shell command line (run by `sh -c`) or an argument vector (run directly, no shell). */
  run: string | string[];
  /**
   * Working directory relative to the project.
   * @default '.'
   */
  cwd?: string;
  /** Extra environment variables; values may be secrets or outputs of other steps. */
  env?: Record<string, Input<string> | SecretRef>;
  /** Globs of files whose content decides whether the cached result can be reused. */
  inputs?: string[];
  /** Files the command produces (relative to the project); recorded with their digests. */
  outputs?: string[];
  /**
   * Stop with SIGTERM, then SIGKILL after this many ms, when the step is cancelled or times out.
   * @default 5000
   */
  killGraceMs?: number;
}

export interface ExecOutput {
  exitCode: number;
  /** The produced files with their sha256 digests. */
  files: Array<{ path: string; digest: string; size: number }>;
}

/**
 * A step that runs a command in the project; with `inputs` it is skipped while those files are unchanged.
 *
 * @example
 * ```ts
 * p.step('compile', exec({ run: 'make -C src', inputs: ['src/**'], outputs: ['src/vnf'] }));
 * ```
 * @see {@link secret} for values in `env` that must never be logged.
 */
export function exec(options: ExecOptions): StepSpec<ExecOutput, ExecOptions> {
  return {
    kind: 'exec',
    stage: 'build',
    options,
    validate(opts) {
      const run = opts?.run;
      const valid =
        (typeof run === 'string' && run.trim() !== '') ||
        (Array.isArray(run) && run.length > 0 && run.every((arg) => typeof arg === 'string'));
      if (!valid) {
        throw new VnfpipeError(
          'PIPELINE_INVALID',
          "exec: 'run' must be a command line or a non-empty array of strings",
        );
      }
      for (const key of ['inputs', 'outputs'] as const) {
        const globs = opts[key];
        if (globs !== undefined && (!Array.isArray(globs) || globs.some((g) => typeof g !== 'string'))) {
          throw new VnfpipeError('PIPELINE_INVALID', `exec: '${key}' must be an array of globs`);
        }
      }
    },
    cacheInputs: (opts) => (opts.inputs?.length ? { files: opts.inputs } : undefined),
    cacheOutputs: (output) => output.files.map((file) => file.path),
    run: (ctx, opts) => runCommand(ctx, opts as ResolvedExec),
  };
}

type ResolvedExec = Omit<ExecOptions, 'env'> & { env?: Record<string, string> };

async function runCommand(ctx: StepContext, opts: ResolvedExec): Promise<ExecOutput> {
  const { spawn } = await import('node:child_process');
  const { resolve } = await import('node:path');
  const cwd = resolve(ctx.cwd, opts.cwd ?? '.');
  const [file, args] =
    typeof opts.run === 'string' ? ['/bin/sh', ['-c', opts.run]] : [opts.run[0]!, opts.run.slice(1)];
  const shown = typeof opts.run === 'string' ? opts.run : opts.run.join(' ');
  ctx.log(`$ ${shown}`);

  const child = spawn(file, args, {
    cwd,
    env: { ...ctx.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group, so cancellation reaches the command's children too.
    detached: true,
  });
  pipeLines(child.stdout, (line) => ctx.log(line, 'stdout'));
  pipeLines(child.stderr, (line) => ctx.log(line, 'stderr'));

  if (child.pid) running.add(child.pid);
  child.once('exit', () => running.delete(child.pid!));
  const stop = () => {
    killGroup(child.pid, 'SIGTERM');
    setTimeout(() => killGroup(child.pid, 'SIGKILL'), opts.killGraceMs ?? 5000).unref();
  };
  ctx.signal.addEventListener('abort', stop, { once: true });

  const exitCode = await new Promise<number>((done, fail) => {
    child.on('error', (error) =>
      fail(
        new VnfpipeError('STEP_FAILED', `cannot start '${file}': ${error.message}`, {
          where: `step ${ctx.stepId}`,
          hint: 'check that the program exists and is executable',
        }),
      ),
    );
    child.on('close', (code, signal) => done(code ?? (signal ? 128 : 1)));
  }).finally(() => ctx.signal.removeEventListener('abort', stop));

  if (exitCode !== 0) {
    // The command's stderr is in the step log (and shown under the failed step): not copied in here, so
    // renderers print it once.
    throw new VnfpipeError('STEP_FAILED', `command exited with code ${exitCode}: ${shown}`, {
      where: `step ${ctx.stepId}`,
    });
  }
  return { exitCode, files: await describeOutputs(cwd, ctx.cwd, opts.outputs ?? []) };
}

function pipeLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void) {
  if (!stream) return;
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line.replace(/\r$/, ''));
  });
  stream.on('end', () => {
    if (pending) onLine(pending);
  });
}

/** Process groups of the commands running now (their own groups: see `detached`). */
const running = new Set<number>();

/** Kills every running command's process group at once: for an exit that cannot wait for cleanups. */
export function killRunningCommands(): void {
  for (const pid of running) killGroup(pid, 'SIGKILL');
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals) {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

async function describeOutputs(
  cwd: string,
  projectDir: string,
  globs: string[],
): Promise<ExecOutput['files']> {
  if (globs.length === 0) return [];
  const [{ glob }, { stat }, { join, relative }, { hashFile }] = await Promise.all([
    import('tinyglobby'),
    import('node:fs/promises'),
    import('node:path'),
    import('./hash.js'),
  ]);
  const found = (await glob(globs, { cwd, dot: true, onlyFiles: true })).sort();
  const missing = globs.filter((pattern) => !/[*?[{]/.test(pattern) && !found.includes(pattern));
  if (missing.length > 0) {
    throw new VnfpipeError('STEP_FAILED', `the command did not produce ${missing.join(', ')}`, {
      where: cwd,
      hint: "check the command or the step's 'outputs'",
    });
  }
  return Promise.all(
    found.map(async (file) => {
      const absolute = join(cwd, file);
      return {
        path: relative(projectDir, absolute),
        digest: `sha256:${await hashFile(absolute)}`,
        size: (await stat(absolute)).size,
      };
    }),
  );
}
