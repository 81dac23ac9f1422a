/**
 * The engine side of builds on its embedded BuildKit: the `moby` exporter leaves images in the engine's
 * store, `/images/{name}/get` streams one back as a docker archive for our layout, and bases go in by tag.
 */
import { DockerEngine } from '../deploy/engine/client.js';
import { parseImageConfig } from '../oci/config.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { type ImportedImage, writeImportedManifest } from '../oci/docker-archive.js';
import type { OciLayout } from '../oci/layout.js';
import { MediaType } from '../oci/media-types.js';
import type { BuildkitAddress } from './address.js';

// Image configs are small documents; a bigger one is not read into memory.
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

export function engineOf(address: Extract<BuildkitAddress, { kind: 'engine' }>): DockerEngine {
  const { kind: _, ...endpoint } = address;
  return new DockerEngine(endpoint);
}

/** Copies the engine's image `tag` into the layout (blobs and manifest; tags nothing). */
export async function exportFromEngine(
  engine: DockerEngine,
  tag: string,
  layout: OciLayout,
): Promise<ImportedImage> {
  const info = await engine.json<EngineImage>({ path: `/images/${encodeURIComponent(tag)}/json` });
  const known = await fromLayoutBlobs(info, tag, layout);
  if (known) return known;
  // Streamed into the layout as it arrives: the archive itself is never written down. The tar reader is
  // loaded here, not at start-up: warm rebuilds never need it.
  const { importDockerArchiveStream } = await import('../oci/docker-archive-stream.js');
  const res = await engine.raw({ path: `/images/${encodeURIComponent(tag)}/get` });
  return importDockerArchiveStream(res, layout, {
    diffIds: info.RootFS?.Layers ?? [],
    where: `${engine.endpoint.display} image ${tag}`,
  });
}

interface EngineImage {
  Id: Digest;
  RootFS?: { Layers?: Digest[] };
}

/**
 * A warm rebuild gives an image whose config and layers the layout already holds (the engine's image id is
 * the config's digest; imported uncompressed layers are named by their diff-id): the manifest is written
 * from those blobs without streaming the image out of the engine again.
 */
async function fromLayoutBlobs(
  info: EngineImage,
  tag: string,
  layout: OciLayout,
): Promise<ImportedImage | undefined> {
  const diffIds = info.RootFS?.Layers ?? [];
  if (!(await layout.hasBlob(info.Id))) return undefined;
  for (const diffId of diffIds) if (!(await layout.hasBlob(diffId))) return undefined;
  const config = parseImageConfig(await layout.readBlob(info.Id, MAX_CONFIG_BYTES), `${tag} (${info.Id})`);
  if (config.rootfs.diff_ids.join() !== diffIds.join()) return undefined;
  const layers: Descriptor[] = [];
  for (const diffId of diffIds) {
    layers.push({ mediaType: MediaType.ociLayer, digest: diffId, size: await layout.blobSize(diffId) });
  }
  const configSize = await layout.blobSize(info.Id);
  return writeImportedManifest(layout, config, { digest: info.Id, size: configSize }, layers, tag);
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
