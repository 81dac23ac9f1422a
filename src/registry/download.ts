/**
 * Pulling blobs: streamed to a staging file while hashed, resumed with a Range request after a dropped
 * connection, and kept only when size and digest match the descriptor. Staged files move into the OCI
 * layout only once every blob of the image verified, so a failed pull leaves the layout as it was.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, mkdir, open, rename, rm } from 'node:fs/promises';
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

  static async create(layoutDir: string): Promise<BlobStage> {
    const dir = join(
      dirname(layoutDir),
      `.${basename(layoutDir)}.vnfpipe-pull-${randomBytes(6).toString('hex')}`,
    );
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
