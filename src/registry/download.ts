/**
 * Pulling blobs: streamed to a staging file while hashed, resumed with a Range request after a dropped
 * connection, and kept only when size and digest match the descriptor. Staged files move into the OCI
 * layout only once every blob of the image verified, so a failed pull leaves the layout as it was.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { VnfpipeError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { type Digest, DigestStream, digestAlgorithm, digestHex } from '../oci/digest.js';
import type { OciLayout } from '../oci/layout.js';
import type { RegistryClient } from './client.js';
import { unreachable } from './errors.js';
import { backoffDelay, isNetworkError } from './retry.js';

function tampered(where: string, message: string): VnfpipeError {
  return new VnfpipeError('OCI_DIGEST_MISMATCH', message, {
    where,
    hint: 'the registry (or something between) returned other bytes than the digest names; nothing was written',
  });
}

/** Streams one blob into `file`; throws OCI_DIGEST_MISMATCH naming the blob when the bytes are wrong. */
export async function downloadBlob(
  client: RegistryClient,
  repository: string,
  descriptor: Descriptor,
  file: string,
  onProgress?: (current: number) => void,
): Promise<void> {
  const where = `${client.registry}/${repository}@${descriptor.digest}`;
  const handle = await open(file, 'w');
  let hash = new DigestStream(digestAlgorithm(descriptor.digest));
  let offset = 0;
  try {
    for (let failures = 0; ; ) {
      try {
        const res = await client.fetchBlob(repository, descriptor.digest, offset);
        if (offset > 0 && res.status === 200) {
          // No range support: start over.
          await handle.truncate(0);
          hash = new DigestStream(digestAlgorithm(descriptor.digest));
          offset = 0;
        }
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          if (offset + chunk.length > descriptor.size) {
            res.body.destroy();
            throw tampered(
              where,
              `blob ${descriptor.digest} is larger than the ${descriptor.size} bytes its descriptor says`,
            );
          }
          hash.update(chunk);
          await handle.write(chunk, 0, chunk.length, offset);
          offset += chunk.length;
          onProgress?.(offset);
        }
        break;
      } catch (error) {
        if (!isNetworkError(error)) throw error;
        if (++failures >= client.retry.attempts || client.signal?.aborted) throw unreachable(where, error);
        await delay(backoffDelay(client.retry, failures));
      }
    }
  } finally {
    await handle.close();
  }
  if (offset !== descriptor.size) {
    throw tampered(
      where,
      `blob ${descriptor.digest} has ${offset} bytes, its descriptor says ${descriptor.size}`,
    );
  }
  const actual = hash.digest();
  if (actual !== descriptor.digest) {
    throw tampered(where, `blob ${descriptor.digest} has digest ${actual}: the registry sent wrong content`);
  }
}

/**
 * A staging folder beside the layout (same filesystem, so commits are renames). Files are named by digest;
 * `commit` moves them into the layout's blob store.
 */
export class BlobStage {
  readonly dir: string;
  private readonly staged = new Set<Digest>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * `.<layout>.vnfpipe-pull-<pid>-<hex>` beside the layout: the PID lets a later pull (or `image gc`) tell
   * an interrupted pull's leftovers from a live one's. Stale ones of this layout are removed first.
   */
  static async create(layoutDir: string): Promise<BlobStage> {
    const parent = dirname(layoutDir);
    const prefix = `.${basename(layoutDir)}.vnfpipe-pull-`;
    await removeStaleStages(parent, prefix);
    const dir = join(parent, `${prefix}${process.pid}-${randomBytes(6).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    return new BlobStage(dir);
  }

  path(digest: Digest): string {
    return join(this.dir, `${digestAlgorithm(digest)}-${digestHex(digest)}`);
  }

  /** Marks a staged file as verified, to be committed. */
  verified(digest: Digest): void {
    this.staged.add(digest);
  }

  async commit(layout: OciLayout): Promise<void> {
    for (const digest of this.staged) {
      if (await layout.hasBlob(digest)) continue;
      const target = layout.blobPath(digest);
      await mkdir(dirname(target), { recursive: true });
      try {
        await rename(this.path(digest), target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
        const temp = await layout.tempPath();
        await copyFile(this.path(digest), temp, constants.COPYFILE_FICLONE);
        await layout.adoptBlob(temp, digest);
      }
    }
  }

  async discard(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Past this age a staging folder is stale even when its PID runs (the PID was reused). */
const STAGE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
/** Folders of older versions carry no PID: stale once this old. */
const UNNAMED_STAGE_MAX_AGE_MS = 24 * 3600 * 1000;

function processRuns(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes staging folders `<prefix>…` in `parent` whose pull died; a live pull's folder stays. */
export async function removeStaleStages(parent: string, prefix: string, now = Date.now()): Promise<string[]> {
  const names = await readdir(parent).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const path = join(parent, name);
    const info = await lstat(path).catch(() => undefined);
    if (!info?.isDirectory()) continue;
    const age = now - info.mtimeMs;
    const pid = /^(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length))?.[1];
    const stale =
      pid === undefined
        ? age > UNNAMED_STAGE_MAX_AGE_MS
        : !processRuns(Number(pid)) || age > STAGE_MAX_AGE_MS;
    if (!stale) continue;
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  }
  return removed;
}
