/**
 * Deploying straight from an OCI layout: the Docker 20.10 engine loads `docker save` archives, not OCI
 * layouts, so the image is streamed to `/images/load` as one — a `manifest.json` naming the config and the
 * layer blobs as they are in the layout (the engine decompresses gzip layers itself). The image's id is its
 * config digest, which pins the revision as a registry digest would.
 */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { VnfpipeError } from '../../errors.js';
import { BLOCK, encodeTarHeader } from '../../image/tar.js';
import type { Descriptor } from '../../oci/descriptor.js';
import type { Digest } from '../../oci/digest.js';
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
      yield entry(name(blob), blob.size);
      for await (const chunk of createReadStream(layout.blobPath(blob.digest))) yield chunk as Buffer;
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
