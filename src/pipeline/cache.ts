/**
 * The step cache. A step that declares inputs is skipped when its fingerprint — options, the outputs it
 * consumes, and the content of its input files — matches its last successful run; its recorded output is
 * reused. Every miss comes with the reasons, which `vnfpipe plan` prints.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { mapLimit } from '../limit.js';
import { writeJsonAtomic } from './fsutil.js';
import { expandGlobs } from './globs.js';
import { hashFile, sha256, stableJson } from './hash.js';
import { canonicalOptions, describeRef, readRef } from './output.js';
import type { PlannedStep } from './plan.js';

export interface Fingerprint {
  /** Hash of the options with references named (not resolved). */
  options: string;
  /** Hash of the values the step consumes from other steps. */
  upstream: string;
  /** Content hash of every input file, by path relative to the project. */
  inputs: Record<string, string>;
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
}

export interface FingerprintSource {
  /** Options with references as names and secrets as names (`canonicalOptions`). */
  namedOptions: unknown;
  /** The values consumed from other steps. */
  upstreamValues: unknown;
  /** Input globs relative to the project directory. */
  inputGlobs: string[];
}

const MAX_LISTED = 5;

export class StepCache {
  constructor(
    private readonly stateDir: string,
    private readonly pipeline: string,
    private readonly cwd: string,
  ) {}

  private entryPath(step: string): string {
    return join(this.stateDir, 'cache', 'steps', this.pipeline, `${step}.json`);
  }

  async fingerprint(source: FingerprintSource): Promise<Fingerprint> {
    const files = await expandGlobs(source.inputGlobs, this.cwd);
    const hashes = await mapLimit(files, 8, (file) => hashFile(join(this.cwd, file)));
    return {
      options: sha256(stableJson(source.namedOptions)),
      upstream: sha256(stableJson(source.upstreamValues ?? null)),
      inputs: Object.fromEntries(files.map((file, i) => [file, hashes[i]!])),
    };
  }

  async read(step: string): Promise<CacheEntry | undefined> {
    try {
      const entry = JSON.parse(await readFile(this.entryPath(step), 'utf8')) as CacheEntry;
      return entry.version === 1 && entry.fingerprint ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  async check(step: string, fingerprint: Fingerprint): Promise<CacheCheck> {
    const entry = await this.read(step);
    if (!entry)
      return { cacheable: true, hit: false, reasons: ['no earlier successful run to reuse'], fingerprint };
    const reasons = compareFingerprints(entry.fingerprint, fingerprint);
    reasons.push(...(await this.changedOutputs(entry)));
    return { cacheable: true, hit: reasons.length === 0, reasons, entry, fingerprint };
  }

  async store(step: string, fingerprint: Fingerprint, output: unknown, outputFiles: string[], runId: string) {
    const relativeFiles = outputFiles.map((file) => (isAbsolute(file) ? relative(this.cwd, file) : file));
    const hashes = await mapLimit(relativeFiles, 8, (file) => hashFile(join(this.cwd, file)));
    const entry: CacheEntry = {
      version: 1,
      fingerprint,
      outputs: Object.fromEntries(relativeFiles.map((file, i) => [file, hashes[i]!])),
      output,
      runId,
      time: new Date().toISOString(),
    };
    await writeJsonAtomic(this.entryPath(step), entry);
  }

  private async changedOutputs(entry: CacheEntry): Promise<string[]> {
    const reasons: string[] = [];
    for (const [file, hash] of Object.entries(entry.outputs)) {
      const now = await hashFile(join(this.cwd, file)).catch(() => undefined);
      if (now === undefined) reasons.push(`output ${file} is missing`);
      else if (now !== hash) reasons.push(`output ${file} was modified`);
    }
    return reasons;
  }
}

/** Human reasons why two fingerprints differ. */
export function compareFingerprints(before: Fingerprint, after: Fingerprint): string[] {
  const reasons: string[] = [];
  if (before.options !== after.options) reasons.push('options changed');
  if (before.upstream !== after.upstream) reasons.push('an output it uses from another step changed');
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

/** The input globs of a step: its kind's own plus the step's `inputs` option; undefined when it has none. */
export function cacheGlobs(step: PlannedStep, resolved: unknown): string[] | undefined {
  const own = step.definition.spec.cacheInputs?.(resolved as never)?.files ?? [];
  const globs = [...own, ...(step.definition.options.inputs ?? [])];
  return globs.length > 0 ? globs : undefined;
}

/** The fingerprint of a step about to run (or being planned), or undefined when it declares no inputs. */
export async function fingerprintStep(
  cache: StepCache,
  step: PlannedStep,
  resolved: unknown,
  outputOf: (step: string) => unknown,
): Promise<Fingerprint | undefined> {
  const globs = cacheGlobs(step, resolved);
  if (!globs) return undefined;
  return cache.fingerprint({
    namedOptions: { kind: step.kind, options: canonicalOptions(step.definition.spec.options) },
    upstreamValues: step.refs.map((ref) => [describeRef(ref), readRef(ref, outputOf(ref.step))]),
    inputGlobs: globs,
  });
}
