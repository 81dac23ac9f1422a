/**
 * The engine side of builds on its embedded BuildKit: the `moby` exporter leaves images in the engine's
 * store, `/images/{name}/get` streams one back as a docker archive for our layout, and bases go in by tag.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DockerEngine } from '../deploy/engine/client.js';
import { type ImportedImage, importDockerArchive } from '../oci/docker-archive.js';
import type { OciLayout } from '../oci/layout.js';
import type { BuildkitAddress } from './address.js';

export function engineOf(address: Extract<BuildkitAddress, { kind: 'engine' }>): DockerEngine {
  return new DockerEngine(
    address.socketPath
      ? { socketPath: address.socketPath, display: address.display }
      : { host: address.host!, port: address.port!, display: address.display },
  );
}

/** Copies the engine's image `tag` into the layout (blobs and manifest; tags nothing). */
export async function exportFromEngine(
  engine: DockerEngine,
  tag: string,
  layout: OciLayout,
): Promise<ImportedImage> {
  const scratch = await mkdtemp(join(tmpdir(), 'vnfpipe-bk-'));
  try {
    const archive = join(scratch, 'image.tar');
    const res = await engine.raw({ path: `/images/${encodeURIComponent(tag)}/get` });
    await pipeline(res, createWriteStream(archive));
    return await importDockerArchive(`docker-archive:${archive}:${tag}`, layout);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Removes a temporary tag (the image stays while something else refers to it). */
export async function untag(engine: DockerEngine, tag: string): Promise<void> {
  await engine
    .call({
      method: 'DELETE',
      path: `/images/${encodeURIComponent(tag)}`,
      query: { noprune: 1 },
      accept: [404, 409],
    })
    .catch(() => {});
}
