/**
 * Release history: every deploy is a numbered revision with its image digest, spec hash, status and times.
 * It lives in `.vnfpipe/releases/<target>/<name>.json` (replaced atomically) and, for what the target can
 * hold, in labels on the target's objects. A lock file serialises runs deploying the same workload.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VnfpipeError } from '../errors.js';
import { writeJsonAtomic } from '../pipeline/fsutil.js';
import { sha256, stableJson } from '../pipeline/hash.js';
import { isAlive } from '../pipeline/journal.js';
import type { Workload } from './model.js';

export type RevisionStatus =
  /** Being deployed; a run that dies here leaves it for the next run to repair. */
  | 'pending'
  /** Running, not yet verified. */
  | 'deployed'
  | 'verified'
  | 'failed'
  /** Replaced by a newer verified revision. */
  | 'superseded'
  /** Rolled back from after a failed verify. */
  | 'rolled-back'
  /** Left pending by a run that died, cleaned up by a later one. */
  | 'abandoned';

export interface Revision {
  revision: number;
  image: string;
  specHash: string;
  status: RevisionStatus;
  createdAt: string;
  updatedAt: string;
  /** The workload as deployed, so a revision can be recreated for a rollback. */
  workload: Workload;
  runId?: string;
  note?: string;
}

export interface ReleaseHistory {
  version: 1;
  target: string;
  name: string;
  revisions: Revision[];
}

export function specHash(workload: Workload): string {
  return sha256(stableJson(workload)).slice(0, 16);
}

export class ReleaseStore {
  constructor(
    private readonly stateDir: string,
    private readonly target: string,
  ) {}

  private path(name: string): string {
    return join(this.stateDir, 'releases', this.target, `${name}.json`);
  }

  async read(name: string): Promise<ReleaseHistory> {
    const path = this.path(name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return { version: 1, target: this.target, name, revisions: [] };
    }
    try {
      const history = JSON.parse(text) as ReleaseHistory;
      if (history.version !== 1 || !Array.isArray(history.revisions)) throw new Error('bad shape');
      return history;
    } catch (error) {
      throw new VnfpipeError('JOURNAL_CORRUPT', `release history of ${name} is unreadable`, {
        where: path,
        cause: error,
      });
    }
  }

  async write(history: ReleaseHistory): Promise<void> {
    await writeJsonAtomic(this.path(history.name), history);
  }

  /** Records a new pending revision of the workload and returns its number. */
  async begin(workload: Workload, runId?: string): Promise<number> {
    const history = await this.read(workload.name);
    const revision = Math.max(0, ...history.revisions.map((r) => r.revision)) + 1;
    const now = new Date().toISOString();
    history.revisions.push({
      revision,
      image: workload.image,
      specHash: specHash(workload),
      status: 'pending',
      createdAt: now,
      updatedAt: now,
      workload,
      ...(runId ? { runId } : {}),
    });
    await this.write(history);
    return revision;
  }

  async update(name: string, revision: number, status: RevisionStatus, note?: string): Promise<Revision> {
    const history = await this.read(name);
    const entry = history.revisions.find((r) => r.revision === revision);
    if (!entry)
      throw new VnfpipeError('USAGE', `${name} has no revision ${revision}`, { where: this.path(name) });
    entry.status = status;
    entry.updatedAt = new Date().toISOString();
    if (note) entry.note = note;
    await this.write(history);
    return entry;
  }

  /** Holds the workload's lock while `fn` runs. A lock left by a dead process is taken over. */
  async withLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
    const dir = join(this.stateDir, 'locks');
    await mkdir(dir, { recursive: true });
    const lock = join(dir, `${this.target}-${name}.lock`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const fd = openSync(lock, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = Number(readFileSafe(lock));
        if (!holder || !isAlive(holder)) {
          rmSync(lock, { force: true });
          continue;
        }
        if (Date.now() > deadline) {
          throw new VnfpipeError('STEP_FAILED', `another run (pid ${holder}) is deploying ${name}`, {
            where: lock,
            hint: 'wait for it to finish',
          });
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    try {
      return await fn();
    } finally {
      rmSync(lock, { force: true });
    }
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The newest revision that passed verify, other than `except`. */
export function lastVerified(history: ReleaseHistory, except?: number): Revision | undefined {
  return [...history.revisions]
    .reverse()
    .find((r) => r.revision !== except && (r.status === 'verified' || r.status === 'superseded'));
}
