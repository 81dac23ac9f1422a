/**
 * The step cache. A step that declares inputs is skipped when its fingerprint — options, the outputs it
 * consumes, the content of its input files and the other values its kind names (a tool's version, a key's
 * digest) — matches its last successful run, its recorded output files are unchanged, and its kind's
 * `cacheValid` check (a registry still holding what was pushed) agrees; its recorded output is reused. Every
 * miss comes with the reasons, which `vnfpipe plan` prints.
 *
 * Checks are cheap: file content hashes come from a stat-keyed memo (`filememo.ts`), so an unchanged file
 * costs one `stat`. Entries are written whole (temp file and rename), so a killed run leaves the previous
 * entry or none, never a torn one.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { mapLimit } from '../limit.js';
import { FileHashMemo } from './filememo.js';
import { writeJsonAtomic } from './fsutil.js';
import { expandGlobs } from './globs.js';
import { sha256, stableJson } from './hash.js';
import type { CacheInputContext, CacheInputs, CacheValidContext } from './model.js';
import { canonicalOptions, describeRef, readRef } from './output.js';
import type { PlannedStep } from './plan.js';

export interface Fingerprint {
  /** Hash of the options with references named (not resolved). */
  options: string;
  /** Hash of the values the step consumes from other steps. */
  upstream: string;
  /** Content hash of every input file, by path relative to the project. */
  inputs: Record<string, string>;
  /**
   * Hash of each other value the step's kind names (`scanner version`); null when not known now (a secret
   * under `vnfpipe plan`). Absent in entries written before values existed: read as none.
   */
  values?: Record<string, string | null>;
}

export interface CacheEntry {
  version: 1;
  fingerprint: Fingerprint;
  /** Hashes of the files the step produced, checked before reuse. */
  outputs: Record<string, string>;
  output: unknown;
  runId: string;
  time: string;
}

export interface CacheCheck {
  cacheable: boolean;
  hit: boolean;
  /** Why the step will run (empty on a hit). */
  reasons: string[];
  entry?: CacheEntry;
  fingerprint?: Fingerprint;
  /** Values that could not be compared now (secrets under `vnfpipe plan`), by name. */
  unknown?: string[];
}

export interface FingerprintSource {
  /** Options with references as names and secrets as names (`canonicalOptions`). */
  namedOptions: unknown;
  /** The values consumed from other steps. */
  upstreamValues: unknown;
  /** Input globs relative to the project directory. */
  inputGlobs: string[];
  /** Named values besides files; undefined ones are unknown now. */
  values?: Record<string, unknown>;
}

const MAX_LISTED = 5;

export class StepCache {
  /** Content hashes by stat, shared by every check and store of this cache (one run, one plan). */
  readonly memo: FileHashMemo;

  constructor(
    private readonly stateDir: string,
    private readonly pipeline: string,
    private readonly cwd: string,
  ) {
    this.memo = new FileHashMemo(join(stateDir, 'cache', 'file-hashes.json'));
  }

  private entryPath(step: string): string {
    return join(this.stateDir, 'cache', 'steps', this.pipeline, `${step}.json`);
  }

  /** The content hash of a file (relative to the project or absolute), through the stat-keyed memo. */
  hashFile(file: string): Promise<string> {
    return this.memo.hash(resolve(this.cwd, file));
  }

  async fingerprint(source: FingerprintSource): Promise<Fingerprint> {
    const files = await expandGlobs(source.inputGlobs, this.cwd);
    const hashes = await mapLimit(files, 8, (file) => this.hashFile(file));
    const values = Object.entries(source.values ?? {});
    return {
      options: sha256(stableJson(source.namedOptions)),
      upstream: sha256(stableJson(source.upstreamValues ?? null)),
      inputs: Object.fromEntries(files.map((file, i) => [file, hashes[i]!])),
      ...(values.length
        ? {
            values: Object.fromEntries(
              values.map(([name, value]) => [
                name,
                value === undefined ? null : sha256(`vnfpipe-cache-value\0${stableJson(value)}`),
              ]),
            ),
          }
        : {}),
    };
  }

  async read(step: string): Promise<CacheEntry | undefined> {
    try {
      // Synchronous: a small file, read faster than a turn in libuv's thread pool on a busy machine.
      const entry = JSON.parse(readFileSync(this.entryPath(step), 'utf8')) as CacheEntry;
      return entry.version === 1 && entry.fingerprint ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  async check(step: string, fingerprint: Fingerprint): Promise<CacheCheck> {
    const entry = await this.read(step);
    if (!entry) {
      await this.memo.flush();
      return { cacheable: true, hit: false, reasons: ['no earlier successful run to reuse'], fingerprint };
    }
    const reasons = compareFingerprints(entry.fingerprint, fingerprint);
    reasons.push(...(await this.changedOutputs(entry)));
    await this.memo.flush();
    const unknown = Object.entries(fingerprint.values ?? {})
      .filter(([, hash]) => hash === null)
      .map(([name]) => name);
    return {
      cacheable: true,
      hit: reasons.length === 0,
      reasons,
      entry,
      fingerprint,
      ...(unknown.length ? { unknown } : {}),
    };
  }

  /** Records a successful run; false (nothing written) when a value of the fingerprint was unknown. */
  async store(
    step: string,
    fingerprint: Fingerprint,
    output: unknown,
    outputFiles: string[],
    runId: string,
  ): Promise<boolean> {
    if (Object.values(fingerprint.values ?? {}).includes(null)) return false;
    const relativeFiles = outputFiles.map((file) => (isAbsolute(file) ? relative(this.cwd, file) : file));
    const hashes = await mapLimit(relativeFiles, 8, (file) => this.hashFile(file));
    const entry: CacheEntry = {
      version: 1,
      fingerprint,
      outputs: Object.fromEntries(relativeFiles.map((file, i) => [file, hashes[i]!])),
      output,
      runId,
      time: new Date().toISOString(),
    };
    await writeJsonAtomic(this.entryPath(step), entry);
    await this.memo.flush();
    return true;
  }

  private async changedOutputs(entry: CacheEntry): Promise<string[]> {
    const files = Object.entries(entry.outputs);
    const now = await mapLimit(files, 8, ([file]) => this.hashFile(file).catch(() => undefined));
    const reasons: string[] = [];
    files.forEach(([file, hash], i) => {
      if (now[i] === undefined) reasons.push(`output ${file} is missing`);
      else if (now[i] !== hash) reasons.push(`output ${file} was modified`);
    });
    return reasons;
  }
}

/** Human reasons why two fingerprints differ. */
export function compareFingerprints(before: Fingerprint, after: Fingerprint): string[] {
  const reasons: string[] = [];
  if (before.options !== after.options) reasons.push('options changed');
  if (before.upstream !== after.upstream) reasons.push('an output it uses from another step changed');
  const beforeValues = before.values ?? {};
  const afterValues = after.values ?? {};
  for (const name of new Set([...Object.keys(beforeValues), ...Object.keys(afterValues)])) {
    // Unknown now (a secret under plan): the caller says the step is reused only if it is unchanged.
    if (afterValues[name] === null) continue;
    if (beforeValues[name] !== afterValues[name]) reasons.push(`${name} changed`);
  }
  const changed: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const [file, hash] of Object.entries(after.inputs)) {
    if (!(file in before.inputs)) added.push(file);
    else if (before.inputs[file] !== hash) changed.push(file);
  }
  for (const file of Object.keys(before.inputs)) if (!(file in after.inputs)) removed.push(file);
  const list = (files: string[]) =>
    files.slice(0, MAX_LISTED).join(', ') +
    (files.length > MAX_LISTED ? ` and ${files.length - MAX_LISTED} more` : '');
  if (changed.length)
    reasons.push(`input ${changed.length === 1 ? 'file' : 'files'} changed: ${list(changed)}`);
  if (added.length) reasons.push(`input ${added.length === 1 ? 'file' : 'files'} added: ${list(added)}`);
  if (removed.length)
    reasons.push(`input ${removed.length === 1 ? 'file' : 'files'} removed: ${list(removed)}`);
  return reasons;
}

/** What a step's cache fingerprint is made of, or undefined when it is not cached. */
export async function cacheInputsOf(
  step: PlannedStep,
  resolved: unknown,
  ctx: CacheInputContext,
): Promise<CacheInputs | undefined> {
  const spec = step.definition.spec;
  const own = spec.cacheInputs ? await spec.cacheInputs(resolved as never, ctx) : undefined;
  const extra = step.definition.options.inputs ?? [];
  if (!own && extra.length === 0) return undefined;
  return { files: [...(own?.files ?? []), ...extra], ...(own?.values ? { values: own.values } : {}) };
}

/** The fingerprint of a step about to run (or being planned), or undefined when it is not cached. */
export async function fingerprintStep(
  cache: StepCache,
  step: PlannedStep,
  resolved: unknown,
  outputOf: (step: string) => unknown,
  ctx: CacheInputContext,
): Promise<Fingerprint | undefined> {
  const inputs = await cacheInputsOf(step, resolved, ctx);
  if (!inputs) return undefined;
  return cache.fingerprint({
    namedOptions: { kind: step.kind, options: canonicalOptions(step.definition.spec.options) },
    upstreamValues: step.refs.map((ref) => [describeRef(ref), readRef(ref, outputOf(ref.step))]),
    inputGlobs: inputs.files,
    ...(inputs.values ? { values: inputs.values } : {}),
  });
}

/** How long a `cacheValid` check may take before the step runs instead. */
export const CACHE_VALID_TIMEOUT_MS = 5000;

/**
 * Runs a step kind's `cacheValid` check on a recorded output: the reason it no longer holds, or undefined.
 * A check that fails or times out is a reason too: the step then runs, which is always safe.
 */
export async function revalidate(
  step: PlannedStep,
  output: unknown,
  resolved: unknown,
  ctx: Omit<CacheValidContext, 'signal'>,
  signal?: AbortSignal,
  timeoutMs = CACHE_VALID_TIMEOUT_MS,
): Promise<string | undefined> {
  const check = step.definition.spec.cacheValid;
  if (!check) return undefined;
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`no answer within ${timeoutMs} ms`);
      controller.abort(error);
      reject(error);
    }, timeoutMs);
  });
  try {
    return await Promise.race([
      check(output as never, resolved as never, { ...ctx, signal: controller.signal }),
      timedOut,
    ]);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const message = error instanceof Error ? error.message : String(error);
    return `could not check that the cached result still holds (${message.split('\n')[0]})`;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The `shared` values of one run's (or one plan's) cache checks, disposed together at its end. */
export class SharedValues {
  private readonly values = new Map<string, { value: unknown; dispose?: (value: never) => void }>();

  get<T>(key: string, create: () => T, dispose?: (value: T) => void): T {
    const found = this.values.get(key);
    if (found) return found.value as T;
    const value = create();
    this.values.set(key, { value, ...(dispose ? { dispose: dispose as (value: never) => void } : {}) });
    return value;
  }

  /** What `cacheValid` checks are given (besides their signal), sharing this run's values. */
  checkContext(base: Pick<CacheValidContext, 'cwd' | 'stateDir' | 'env'>): Omit<CacheValidContext, 'signal'> {
    return {
      ...base,
      shared: <T>(key: string, create: () => T, dispose?: (value: T) => void) =>
        this.get(key, create, dispose),
    };
  }

  disposeAll(): void {
    for (const { value, dispose } of this.values.values()) {
      try {
        dispose?.(value as never);
      } catch {
        // Closing a client that is already closed: nothing to do.
      }
    }
    this.values.clear();
  }
}
