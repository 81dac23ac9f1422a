/**
 * Release history: every deploy is a numbered revision with its image digest, spec hash, status and times.
 * It lives in `.vnfpipe/releases/<target>/<name>.json` (replaced atomically) and, for what the target can
 * hold, in labels on the target's objects. A lock file serialises runs deploying the same workload.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { VnfpipeError } from '../errors.js';
import { writeJsonAtomic } from '../pipeline/fsutil.js';
import { sha256, stableJson } from '../pipeline/hash.js';
import { isAlive } from '../pipeline/journal.js';
import { WORKLOAD_NAME, type Workload } from './model.js';

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

/**
 * A workload name from outside a pipeline (the CLI, a release output from an earlier job) is checked before
 * it becomes part of a path: `../../x` must not reach files outside the releases folder.
 */
export function checkWorkloadName(name: string, where = 'workload name'): string {
  if (typeof name !== 'string' || !WORKLOAD_NAME.test(name)) {
    throw new VnfpipeError('USAGE', `'${String(name)}' is not a workload name`, {
      where,
      hint: "workload names are lower-case letters, digits, '.', '_' or '-' (≤ 63), starting with a letter or digit",
    });
  }
  return name;
}

export function specHash(workload: Workload): string {
  return sha256(stableJson(workload)).slice(0, 16);
}

export class ReleaseStore {
  /** `scope` keeps apart the histories of one workload name on several engines (engineScope in engine/address.ts). */
  constructor(
    private readonly stateDir: string,
    private readonly target: string,
    private readonly scope?: string,
  ) {}

  private path(name: string): string {
    const folder = join(this.stateDir, 'releases', this.target, ...(this.scope ? [this.scope] : []));
    return join(folder, `${checkWorkloadName(name)}.json`);
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

  /**
   * Holds the workload's lock while `fn` runs. The lock file appears with its owner already in it (written
   * to a temp file, then hard-linked into place), so no one ever reads a half-made lock. A lock whose owner
   * process on this host is gone is taken over by renaming it away first, so two runs cannot both take it.
   */
  async withLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
    const dir = join(this.stateDir, 'locks');
    await mkdir(dir, { recursive: true });
    const scope = this.scope ? `${this.scope}-` : '';
    const lock = join(dir, `${this.target}-${scope}${checkWorkloadName(name)}.lock`);
    const mine = `${process.pid}@${hostname()}@${randomBytes(4).toString('hex')}`;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (tryLink(lock, mine)) break;
      const holder = readFileSafe(lock);
      if (holder && isStale(holder)) {
        const moved = `${lock}.stale-${randomBytes(4).toString('hex')}`;
        try {
          renameSync(lock, moved);
          // Someone else may have replaced the stale lock between our read and the rename: put theirs back.
          if (readFileSafe(moved) !== holder) renameSync(moved, lock);
          else rmSync(moved, { force: true });
        } catch {
          // Gone already: try again.
        }
        continue;
      }
      if (Date.now() > deadline) {
        throw new VnfpipeError(
          'STEP_FAILED',
          `another run (${holder.split('@')[0] || 'unknown'}) is deploying ${name}`,
          {
            where: lock,
            hint: 'wait for it to finish',
          },
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    try {
      return await fn();
    } finally {
      // Only our own lock is removed.
      if (readFileSafe(lock) === mine) rmSync(lock, { force: true });
    }
  }
}

/** Creates `lock` holding `owner`, atomically; false when it exists. */
function tryLink(lock: string, owner: string): boolean {
  const temp = `${lock}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, owner);
  try {
    linkSync(temp, lock);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** `pid@host@nonce`: stale when its process on this host is gone. Locks of other hosts are never stale. */
function isStale(holder: string): boolean {
  const [pid, host] = holder.split('@');
  return (host === undefined || host === hostname()) && !isAlive(Number(pid));
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
  return lastVerifiedOf(history.revisions, except);
}

interface RevisionLike {
  revision: number;
  status: string;
}

/** The newest revision that passed verify (verified, or superseded since), other than `except`; any target's. */
export function lastVerifiedOf<R extends RevisionLike>(
  revisions: readonly R[],
  except?: number,
): R | undefined {
  return [...revisions]
    .reverse()
    .find((r) => r.revision !== except && (r.status === 'verified' || r.status === 'superseded'));
}

/**
 * Where a rollback goes: revision `to` when given, else the newest one that passed verify before the newest
 * revision (or the newest itself when it is the verified one — a rollback then restores it).
 */
export function rollbackTargetOf<R extends RevisionLike>(
  revisions: readonly R[],
  to?: number,
): R | undefined {
  if (to !== undefined) return revisions.find((r) => r.revision === to);
  const newest = revisions.at(-1);
  return lastVerifiedOf(revisions, newest?.status === 'verified' ? undefined : newest?.revision);
}
