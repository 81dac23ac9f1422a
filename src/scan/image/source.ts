/**
 * Opens the image to scan: its manifest, config and layer blobs. OCI layouts (`oci:<dir>[:ref]`) are read
 * in place; registry references are pulled (host platform only) into a temporary layout that `close()`
 * removes. An index is narrowed to the host platform (or the only image it holds).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { VnfpipeError } from '../../errors.js';
import type { ImageConfig } from '../../oci/config.js';
import type { Descriptor } from '../../oci/descriptor.js';
import type { Digest } from '../../oci/digest.js';
import type { ImageManifest } from '../../oci/manifest.js';
import type { ClientOptions } from '../../registry/client.js';

export interface ImageLayer {
  index: number;
  /** Digest of the blob as stored (compressed). */
  digest: Digest;
  /** Digest of the uncompressed tar (from the config). */
  diffId: Digest | undefined;
  mediaType: string;
  size: number;
  open(): Readable;
}

export interface ScanImage {
  /** The reference as the user wrote it. */
  ref: string;
  /** Manifest digest. */
  digest: Digest;
  /** The tag, when the reference names one (for the `latest` check). */
  tag: string | undefined;
  manifest: ImageManifest;
  config: ImageConfig;
  layers: ImageLayer[];
  /** Releases what opening took (the temporary layout of a pulled image). */
  close(): Promise<void>;
}

export interface OpenImageOptions {
  /** Credentials, TLS and retries for the registry of a registry reference. */
  registry?: ClientOptions;
  signal?: AbortSignal;
}

export async function openImage(ref: string, options: OpenImageOptions = {}): Promise<ScanImage> {
  // One import at a time: Node 20's loader can fail concurrent imports of a shared module graph
  // ("request for '../errors.js' is not in cache", nodejs/node#52187).
  const { parseReference } = await import('../../oci/reference.js');
  const { OciLayout } = await import('../../oci/layout.js');
  const { isIndexMediaType, isManifestMediaType } = await import('../../oci/media-types.js');
  const { hostPlatform, formatPlatform } = await import('../../oci/platform.js');
  const { selectPlatform } = await import('../../oci/manifest.js');
  const parsed = parseReference(ref);
  if (parsed.transport !== 'oci') {
    // Pulled through the project's registry client into a temporary layout, then scanned like one.
    const { copyImage } = await import('../../registry/copy.js');
    const dir = await mkdtemp(join(tmpdir(), 'vnfpipe-scan-pull-'));
    try {
      await copyImage(
        parsed,
        { transport: 'oci', dir, ref: 'scan' },
        {
          registries: { [parsed.registry]: options.registry ?? {} },
          platform: formatPlatform(hostPlatform()),
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
      const image = await openImage(`oci:${dir}:scan`);
      const tag = parsed.digest ? undefined : (parsed.tag ?? 'latest');
      return { ...image, ref, tag, close: () => rm(dir, { recursive: true, force: true }) };
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }
  // The layout refuses a FIFO or device where it must hold a regular file (reading one would block).
  const layout = await OciLayout.open(parsed.dir);
  let descriptor: Descriptor = await layout.resolve(parsed.ref);
  if (isIndexMediaType(descriptor.mediaType)) {
    const index = await layout.readImageIndex(descriptor);
    const manifests = index.manifests.filter((m) => isManifestMediaType(m.mediaType));
    const chosen =
      selectPlatform(index, hostPlatform()) ?? (manifests.length === 1 ? manifests[0] : undefined);
    if (!chosen) {
      throw new VnfpipeError(
        'OCI_INVALID',
        `image index ${descriptor.digest} has no manifest for this platform`,
        {
          where: ref,
          hint: 'tag the platform-specific manifest in the layout and scan that',
        },
      );
    }
    descriptor = chosen;
  }
  const manifest = await layout.readManifest(descriptor);
  const config = await layout.readConfig(manifest.config);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new VnfpipeError(
      'OCI_INVALID',
      `config lists ${diffIds.length} diff_ids but the manifest has ${manifest.layers.length} layers`,
      { where: `${ref} (${descriptor.digest})` },
    );
  }
  for (const layer of manifest.layers) await layout.blobSize(layer.digest);
  const layers = manifest.layers.map(
    (layer, index): ImageLayer => ({
      index,
      digest: layer.digest,
      diffId: diffIds[index],
      mediaType: layer.mediaType,
      size: layer.size,
      open: () => layout.openBlob(layer.digest),
    }),
  );
  return {
    ref,
    digest: descriptor.digest,
    tag: parsed.ref,
    manifest,
    config,
    layers,
    close: async () => {},
  };
}
