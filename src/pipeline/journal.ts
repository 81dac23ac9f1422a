/**
 * The journal: `.vnfpipe/runs/<run-id>/` holds `run.json` (status, timings and outputs of every step) and
 * `steps/<step>.log`. `run.json` is replaced atomically, so a killed run leaves the last complete state.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VnfpipeError } from '../errors.js';
import type { RunStatus, StepStatus } from './events.js';
import { writeJsonAtomic } from './fsutil.js';

export interface StepRecord {
  status: StepStatus | 'running' | 'pending';
  kind: string;
  stage: string;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  attempts: number;
  output?: unknown;
  error?: string;
  reason?: string;
  /** The run whose output a cached or stage-borrowed step reused. */
  fromRun?: string;
  /** The step failed in vnfpipe's tooling or environment, not in what it checks: its onFailure did not run. */
  infrastructure?: boolean;
}

export interface RunRecord {
  version: 1;
  id: string;
  pipeline: string;
  file?: string;
  pid: number;
  startedAt: string;
  endedAt?: string;
  status: RunStatus | 'running';
  /** The stages selected with `--stage`, or null for the whole pipeline. */
  stages: string[] | null;
  steps: Record<string, StepRecord>;
}

export function runsDir(stateDir: string): string {
  return join(stateDir, 'runs');
}

/**
 * Sortable by time to the millisecond: 20261127T235959123Z-a1b2c3. Runs in the same second must sort in
 * the order they started: `runs last` and `--stage` borrowing take the newest.
 */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export class RunJournal {
  readonly dir: string;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    stateDir: string,
    readonly record: RunRecord,
  ) {
    this.dir = join(runsDir(stateDir), record.id);
    mkdirSync(join(this.dir, 'steps'), { recursive: true });
  }

  /** Persists the current record; writes are serialised so the newest state always lands last. */
  save(): Promise<void> {
    const snapshot = JSON.parse(JSON.stringify(this.record)) as RunRecord;
    // One failed write must not fail every later one: each save starts after the previous settled.
    const write = this.writing
      .catch(() => {})
      .then(() => writeJsonAtomic(join(this.dir, 'run.json'), snapshot));
    this.writing = write;
    return write;
  }

  logPath(step: string): string {
    return join(this.dir, 'steps', `${step}.log`);
  }

  /** Appends one (already masked) log line. Synchronous so that lines stay in order across steps. */
  appendLog(step: string, line: string): void {
    appendFileSync(this.logPath(step), `${line}\n`);
  }
}

export async function readRun(stateDir: string, id: string): Promise<RunRecord> {
  const file = join(runsDir(stateDir), id, 'run.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new VnfpipeError('JOURNAL_CORRUPT', `run ${id} has no run.json`, { where: file, cause: error });
  }
  try {
    const record = JSON.parse(text) as RunRecord;
    const wellFormed =
      record?.version === 1 &&
      typeof record.id === 'string' &&
      typeof record.pipeline === 'string' &&
      typeof record.startedAt === 'string' &&
      typeof record.steps === 'object' &&
      record.steps !== null &&
      Object.values(record.steps).every(
        (step) => typeof step === 'object' && step !== null && typeof step.status === 'string',
      );
    if (!wellFormed) throw new Error('bad shape');
    return record;
  } catch (error) {
    throw new VnfpipeError('JOURNAL_CORRUPT', `run ${id}: run.json is not a vnfpipe journal`, {
      where: file,
      cause: error,
    });
  }
}

export interface RunListing {
  runs: RunRecord[];
  /** Run folders that could not be read, with the reason. */
  unreadable: Array<{ id: string; problem: string }>;
}

/** Runs newest first. A run still marked running whose process is gone is reported as killed. */
export async function listRuns(stateDir: string, limit = Number.POSITIVE_INFINITY): Promise<RunListing> {
  let ids: string[];
  try {
    ids = (await readdir(runsDir(stateDir))).sort().reverse();
  } catch {
    return { runs: [], unreadable: [] };
  }
  const listing: RunListing = { runs: [], unreadable: [] };
  for (const id of ids) {
    if (listing.runs.length >= limit) break;
    try {
      listing.runs.push(await readRun(stateDir, id));
    } catch (error) {
      listing.unreadable.push({ id, problem: (error as Error).message });
    }
  }
  return listing;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The status to show for a run: a `running` run whose process died was killed. */
export function displayStatus(run: RunRecord): string {
  if (run.status === 'running' && !isAlive(run.pid)) return 'killed';
  return run.status;
}

export interface BorrowedOutput {
  output: unknown;
  runId: string;
}

/**
 * The newest recorded output of each wanted step, from earlier runs of the same pipeline. This is how
 * `run --stage X` gets what earlier stages produced (in CI, another job's journal).
 */
/** The newest earlier record of `step` in a run of `pipeline` (in CI, the job that ran its stage). */
export async function findLatestStepRecord(
  stateDir: string,
  pipeline: string,
  step: string,
): Promise<{ record: StepRecord; run: RunRecord } | undefined> {
  const { runs } = await listRuns(stateDir);
  for (const run of runs) {
    const record = run.pipeline === pipeline ? run.steps[step] : undefined;
    if (record && record.status !== 'pending' && record.status !== 'skipped') return { record, run };
  }
  return undefined;
}

export async function findPreviousOutputs(
  stateDir: string,
  pipeline: string,
  steps: readonly string[],
): Promise<Map<string, BorrowedOutput>> {
  const found = new Map<string, BorrowedOutput>();
  const { runs } = await listRuns(stateDir);
  for (const run of runs) {
    if (run.pipeline !== pipeline) continue;
    for (const step of steps) {
      const record = run.steps[step];
      if (found.has(step) || !record) continue;
      if ((record.status === 'ok' || record.status === 'cached') && 'output' in record) {
        found.set(step, { output: record.output, runId: run.id });
      }
    }
    if (found.size === steps.length) break;
  }
  return found;
}
