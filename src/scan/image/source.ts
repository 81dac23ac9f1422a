/**
 * Opens the image to scan: its manifest, config and layer blobs. OCI layouts (`oci:<dir>[:ref]`) are read
 * in place; an index is narrowed to the host platform (or the only image it holds).
 */
import type { Readable } from 'node:stream';
import { VnfpipeError } from '../../errors.js';
import type { ImageConfig } from '../../oci/config.js';
import type { Descriptor } from '../../oci/descriptor.js';
import type { Digest } from '../../oci/digest.js';
import type { ImageManifest } from '../../oci/manifest.js';

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
}

export async function openImage(ref: string): Promise<ScanImage> {
  const [
    { parseReference },
    { OciLayout },
    { isIndexMediaType, isManifestMediaType },
    { hostPlatform },
    { selectPlatform },
  ] = await Promise.all([
    import('../../oci/reference.js'),
    import('../../oci/layout.js'),
    import('../../oci/media-types.js'),
    import('../../oci/platform.js'),
    import('../../oci/manifest.js'),
  ]);
  const parsed = parseReference(ref);
  if (parsed.transport !== 'oci') {
    throw new VnfpipeError('USAGE', `scanning straight from a registry is not supported yet: ${ref}`, {
      hint: `copy it into an OCI layout first, e.g. skopeo copy docker://${ref} oci:./image:scan, then scan oci:./image:scan`,
    });
  }
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
  return { ref, digest: descriptor.digest, tag: parsed.ref, manifest, config, layers };
}
