/**
 * Deploying straight from an OCI layout: the Docker 20.10 engine loads `docker save` archives, not OCI
 * layouts, so the image is streamed to `/images/load` as one — a `manifest.json` naming the config and the
 * layer blobs as they are in the layout (the engine decompresses gzip layers itself). The image's id is its
 * config digest, which pins the revision as a registry digest would.
 *
 * Each blob is sent as exactly the bytes its descriptor names: a tar entry sized from the descriptor but
 * fed a longer file would let the extra bytes pose as further entries (a second `manifest.json` that
 * re-tags any image on the engine). Sizes are checked before an entry starts and digests while streaming;
 * a mismatch aborts the upload mid-entry, so the engine sees a broken archive and loads nothing.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { VnfpipeError } from '../../errors.js';
import { BLOCK, encodeTarHeader } from '../../image/tar.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { type Digest, DigestStream, digestAlgorithm } from '../../oci/digest.js';
import { OciLayout } from '../../oci/layout.js';
import { selectPlatform } from '../../oci/manifest.js';
import { MediaType } from '../../oci/media-types.js';
import { hostPlatform } from '../../oci/platform.js';
import { parseOciLayoutReference } from '../../oci/reference.js';
import type { DockerEngine } from '../engine/client.js';

/** `oci:<dir>:<ref>@sha256:…` → the image id (`sha256:<config>`) in the engine, loading it when missing. */
export async function loadLayoutImage(
  engine: DockerEngine,
  reference: string,
  cwd: string,
  log: (line: string) => void,
): Promise<string> {
  const at = reference.lastIndexOf('@sha256:');
  const parsed = parseOciLayoutReference(at === -1 ? reference : reference.slice(0, at));
  const layout = await OciLayout.open(resolve(cwd, parsed.dir));
  let descriptor: Descriptor =
    at === -1 ? await layout.resolve(parsed.ref) : await pinned(layout, reference.slice(at + 1) as Digest);
  if (descriptor.mediaType.includes('index')) {
    const chosen = selectPlatform(await layout.readImageIndex(descriptor), hostPlatform());
    if (!chosen)
      throw new VnfpipeError('OCI_NOT_FOUND', 'the image index has no image for this engine’s platform', {
        where: reference,
      });
    descriptor = chosen;
  }
  const manifest = await layout.readManifest(descriptor);
  const id = manifest.config.digest;
  const { status } = await engine.call({ path: `/images/${id}/json`, accept: [404] });
  if (status !== 404) return id;

  log(`loading ${reference} into the engine (${manifest.layers.length} layers)`);
  const blobs = [manifest.config, ...manifest.layers];
  const name = (d: Descriptor) => `blobs/sha256/${d.digest.slice('sha256:'.length)}`;
  const index = Buffer.from(
    JSON.stringify([{ Config: name(manifest.config), RepoTags: null, Layers: manifest.layers.map(name) }]),
  );
  async function* archive(): AsyncGenerator<Buffer> {
    const entry = (path: string, size: number) =>
      encodeTarHeader({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 0 });
    const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
    yield entry('manifest.json', index.length);
    yield index;
    yield padding(index.length);
    for (const blob of blobs) {
      const path = layout.blobPath(blob.digest);
      await checkBlobSize(path, blob, reference);
      yield entry(name(blob), blob.size);
      yield* verifiedBlob(path, blob, reference);
      yield padding(blob.size);
    }
    yield Buffer.alloc(2 * BLOCK);
  }
  await engine.stream(
    {
      method: 'POST',
      path: '/images/load',
      query: { quiet: 1 },
      stream: archive(),
      contentType: 'application/x-tar',
      timeoutMs: 600_000,
    },
    () => {},
  );
  const loaded = await engine.call({ path: `/images/${id}/json`, accept: [404] });
  if (loaded.status === 404) {
    throw new VnfpipeError('STEP_FAILED', `the engine did not keep the image it loaded (${id})`, {
      where: reference,
    });
  }
  return id;
}

/**
 * The descriptor of a pinned manifest: from the layout's index, or — when the ref has moved on to a newer
 * build (a rollback to an older revision) — straight from its blob, which is still in the layout.
 */
async function pinned(layout: OciLayout, digest: Digest): Promise<Descriptor> {
  try {
    return await layout.resolve(digest);
  } catch (error) {
    if (!(await layout.hasBlob(digest))) throw error;
    const blob = await layout.readBlob(digest, 4 * 1024 * 1024);
    const mediaType =
      (JSON.parse(blob.toString('utf8')) as { mediaType?: string }).mediaType ?? MediaType.ociManifest;
    return { mediaType, digest, size: blob.length };
  }
}

function blobMismatch(blob: Descriptor, reference: string, problem: string): VnfpipeError {
  return new VnfpipeError('OCI_DIGEST_MISMATCH', `blob ${blob.digest} ${problem}`, {
    where: reference,
    hint: 'the OCI layout is corrupt or was modified: rebuild the image; nothing was loaded',
  });
}

async function checkBlobSize(path: string, blob: Descriptor, reference: string): Promise<void> {
  const size = (await stat(path)).size;
  if (size !== blob.size)
    throw blobMismatch(blob, reference, `is ${size} bytes in the layout, its descriptor says ${blob.size}`);
}

/**
 * The blob's bytes, at most `blob.size` of them, hashed on the way. The last chunk is held back until the
 * digest is known, so a mismatch cuts the archive inside the entry rather than at a clean tar boundary.
 */
async function* verifiedBlob(path: string, blob: Descriptor, reference: string): AsyncGenerator<Buffer> {
  const hash = new DigestStream(digestAlgorithm(blob.digest));
  let held: Buffer | undefined;
  if (blob.size > 0) {
    for await (const chunk of createReadStream(path, { end: blob.size - 1 })) {
      if (held) yield held;
      held = chunk as Buffer;
      hash.update(held);
    }
  }
  const actual = hash.digest();
  if (hash.size !== blob.size || actual !== blob.digest)
    throw blobMismatch(blob, reference, `has digest ${actual} (${hash.size} bytes) in the layout`);
  if (held) yield held;
}
