/**
 * `--format oci`, as `skopeo copy --format oci` does: Docker v2 schema 2 manifests and manifest lists become
 * OCI manifests and indexes, their config and layer descriptors OCI media types. Blobs stay byte for byte;
 * only manifests are rewritten, so their digests change (and an index's, whose children changed). Documents
 * that are OCI already keep their bytes and digests.
 */
import type { Descriptor } from '../oci/descriptor.js';
import { type Digest, sha256 } from '../oci/digest.js';
import { type ImageIndex, type ImageManifest, parseManifestOrIndex } from '../oci/manifest.js';
import { MediaType, toOciMediaType } from '../oci/media-types.js';

export type ImageFormat = 'keep' | 'oci';

export const IMAGE_FORMATS: readonly ImageFormat[] = ['keep', 'oci'];

export interface ConvertedDocument {
  descriptor: Descriptor;
  bytes: Buffer;
  parsed: { kind: 'manifest'; manifest: ImageManifest } | { kind: 'index'; index: ImageIndex };
}

/** Layer types without a plain mapping in `toOciMediaType`. */
function ociBlobType(mediaType: string): string {
  if (mediaType === MediaType.dockerForeignLayerGzip)
    return 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
  return toOciMediaType(mediaType);
}

type Json = Record<string, unknown>;

function withType(descriptor: unknown, mediaType: string): Json {
  return { ...(descriptor as Json), mediaType };
}

/**
 * Converts documents given children before parents (as the copy graph holds them): the result maps each
 * old digest to its document as written, in the same order.
 */
export function convertToOci(
  documents: readonly ConvertedDocument[],
  where: string,
): Map<Digest, ConvertedDocument> {
  const out = new Map<Digest, ConvertedDocument>();
  for (const doc of documents) {
    const json = JSON.parse(doc.bytes.toString('utf8')) as Json;
    let changed = false;
    if (doc.parsed.kind === 'manifest') {
      const { manifest } = doc.parsed;
      const config = ociBlobType(manifest.config.mediaType);
      const layers = manifest.layers.map((l) => ociBlobType(l.mediaType));
      changed =
        manifest.mediaType !== MediaType.ociManifest ||
        config !== manifest.config.mediaType ||
        layers.some((t, i) => t !== manifest.layers[i]!.mediaType);
      if (changed) {
        json.mediaType = MediaType.ociManifest;
        json.config = withType(json.config, config);
        json.layers = (json.layers as unknown[]).map((l, i) => withType(l, layers[i]!));
      }
    } else {
      const { index } = doc.parsed;
      const children = index.manifests.map((m) => out.get(m.digest)?.descriptor ?? m);
      changed =
        index.mediaType !== MediaType.ociIndex ||
        children.some((c, i) => c.digest !== index.manifests[i]!.digest);
      if (changed) {
        json.mediaType = MediaType.ociIndex;
        json.manifests = (json.manifests as unknown[]).map((m, i) => ({
          ...(m as Json),
          mediaType: children[i]!.mediaType,
          digest: children[i]!.digest,
          size: children[i]!.size,
        }));
      }
    }
    if (!changed) {
      out.set(doc.descriptor.digest, doc);
      continue;
    }
    const bytes = Buffer.from(JSON.stringify(json));
    const mediaType = doc.parsed.kind === 'manifest' ? MediaType.ociManifest : MediaType.ociIndex;
    const descriptor: Descriptor = {
      ...doc.descriptor,
      mediaType,
      digest: sha256(bytes),
      size: bytes.length,
    };
    out.set(doc.descriptor.digest, {
      ...doc,
      descriptor,
      bytes,
      parsed: parseManifestOrIndex(bytes, where, mediaType),
    });
  }
  return out;
}
