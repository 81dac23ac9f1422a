/**
 * Pieces both emitters share: the command a job runs, the files a job hands on, names for jobs.
 */
import { posix } from 'node:path';
import { DEFAULT_PIPELINE_FILE } from '../pipeline/loader.js';
import type { ResolvedCiOptions } from './options.js';
import { type CiStage, stateDirOf } from './stages.js';

/** The pipeline's project folder relative to the repository root (vnfpipe keeps its state there). */
export function projectDirOf(options: ResolvedCiOptions): string {
  return options.file ? posix.dirname(toPosix(options.file)) : '.';
}

/** `npx vnfpipe run --stage build [-f file]`. */
export function runCommand(stage: string, options: ResolvedCiOptions): string {
  const file = options.file ? toPosix(options.file) : undefined;
  const fileArg = file && posix.normalize(file) !== DEFAULT_PIPELINE_FILE ? ` -f ${shellQuote(file)}` : '';
  return `${options.vnfpipe} run --stage ${shellQuote(stage)}${fileArg}`;
}

/**
 * `npx vnfpipe check [-f file]`: `run` strips types without checking them, so the first jobs type-check the
 * pipeline before anything runs (later jobs depend on them).
 */
export function checkCommand(options: ResolvedCiOptions): string {
  const file = options.file ? toPosix(options.file) : undefined;
  const fileArg = file && posix.normalize(file) !== DEFAULT_PIPELINE_FILE ? ` -f ${shellQuote(file)}` : '';
  return `${options.vnfpipe} check${fileArg}`;
}

/**
 * What a stage's job hands to later jobs: the journal (later `vnfpipe run --stage` reads earlier outputs
 * from it), the OCI layout the image builder writes, the files its steps declare as outputs, and after a
 * deploy the release histories (a later job promotes or rolls back those revisions: a fleet's next wave).
 */
export function handedOn(stage: CiStage, options: ResolvedCiOptions): string[] {
  const state = stateDirOf(projectDirOf(options));
  const releases = stage.uses.deploy ? [`${state}/releases/`] : [];
  return [
    ...new Set([`${state}/runs/`, `${state}/oci/`, ...releases, ...stage.carried, ...options.artifacts]),
  ];
}

/** The step cache folder (restored between pipelines, never handed between jobs). */
export function stepCacheDir(options: ResolvedCiOptions): string {
  return `${stateDirOf(projectDirOf(options))}/cache/`;
}

/** A GitHub job id: letters, digits, `-` and `_`, starting with a letter or `_`. */
export function githubJobId(stage: string): string {
  const id = stage.replace(/[^A-Za-z0-9_-]/g, '-');
  return /^[A-Za-z_]/.test(id) ? id : `stage-${id}`;
}

/** Quotes a word for sh when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function toPosix(path: string): string {
  return path.replaceAll('\\', '/').replace(/^\.\//, '');
}

/**
 * Writes `~/.docker/config.json` for a registry from three environment variables, so vnfpipe's registry
 * client finds the credentials without a Docker CLI. Values are read from the environment, never inlined.
 */
export function registryLoginScript(hostVar: string, userVar: string, passwordVar: string): string {
  return [
    'mkdir -p "$HOME/.docker"',
    `auth=$(printf '%s:%s' "$${userVar}" "$${passwordVar}" | base64 | tr -d '\\n')`,
    `printf '{"auths":{"%s":{"auth":"%s"}}}\\n' "$${hostVar}" "$auth" > "$HOME/.docker/config.json"`,
  ].join('\n');
}

/** Job timeout in minutes: the configured one, raised to cover the steps' own timeouts plus set-up time. */
export function jobTimeoutMinutes(stage: CiStage, options: ResolvedCiOptions): number {
  const steps = Math.ceil(stage.stepTimeoutMs / 60_000);
  return steps > 0 ? Math.max(options.timeoutMinutes, steps + 10) : options.timeoutMinutes;
}

/** The environment a deploying stage's job is bound to: one per fleet wave, else the configured one. */
export function environmentOf(stage: CiStage, options: ResolvedCiOptions): string {
  return stage.wave !== undefined ? `${options.environment}-wave-${stage.wave}` : options.environment;
}
