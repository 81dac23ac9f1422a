/**
 * Registry images as build bases: a `BaseImageResolver` for the image builder (refs like
 * `localhost:5000/vnf/base:1` or `docker://…`), and `fetchImageToLayout` to copy a registry image into a
 * layout. Blobs are verified before they enter the target layout.
 */
import { VnfpipeError } from '../errors.js';
import type { BaseImageResolver, ResolvedBase } from '../image/base.js';
import { checkBaseConfig, registerBaseResolver } from '../image/base.js';
import { mapLimit } from '../limit.js';
import { parseImageConfig } from '../oci/config.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { OciLayout } from '../oci/layout.js';
import { parseIndex, parseManifest, selectPlatform } from '../oci/manifest.js';
import { isIndexMediaType, layerCompression, toOciMediaType } from '../oci/media-types.js';
import { formatPlatform, type Platform } from '../oci/platform.js';
import { parseRegistryReference, type RegistryReference } from '../oci/reference.js';
import { MAX_DOCUMENT_BYTES } from '../oci/validate.js';
import { type ClientOptions, RegistryClient } from './client.js';
import { type CopyOptions, type CopyResult, copyImage } from './copy.js';
import { BlobStage, downloadBlob } from './download.js';

/** True for refs a registry resolver should take: not `scratch`, not `oci:`, and a valid registry ref. */
export function isRegistryRef(ref: string): boolean {
  if (ref === 'scratch' || ref.startsWith('oci:')) return false;
  try {
    parseRegistryReference(ref);
    return true;
  } catch {
    return false;
  }
}

export function createRegistryBaseResolver(options: ClientOptions = {}): BaseImageResolver {
  return {
    accepts: isRegistryRef,
    async resolve(ref, platform, target, { signal }) {
      const parsed = parseRegistryReference(ref);
      const client = new RegistryClient(parsed.registry, { ...options, ...(signal ? { signal } : {}) });
      try {
        return await resolveBase(client, parsed, ref, platform, target);
      } finally {
        client.close();
      }
    },
  };
}

async function resolveBase(
  client: RegistryClient,
  parsed: RegistryReference,
  ref: string,
  platform: Platform,
  target: OciLayout,
): Promise<ResolvedBase> {
  const where = `${client.registry}/${parsed.repository}`;
  let fetched = await client.getManifest(parsed.repository, parsed.digest ?? parsed.tag ?? 'latest');
  if (isIndexMediaType(fetched.mediaType)) {
    const index = parseIndex(fetched.bytes, where, fetched.mediaType);
    const chosen = selectPlatform(index, platform);
    if (!chosen) {
      const offered = index.manifests.map((m) => (m.platform ? formatPlatform(m.platform) : '?')).join(', ');
      throw new VnfpipeError('OCI_NOT_FOUND', `no image for platform ${formatPlatform(platform)}`, {
        where: ref,
        hint: `the index offers: ${offered || '(nothing)'}`,
      });
    }
    fetched = await client.getManifest(parsed.repository, chosen.digest);
  }
  const manifest = parseManifest(fetched.bytes, `${where}@${fetched.digest}`, fetched.mediaType);
  if (manifest.config.size > MAX_DOCUMENT_BYTES) {
    throw new VnfpipeError('OCI_INVALID', `config is ${manifest.config.size} bytes`, { where: ref });
  }
  const stage = await BlobStage.create(target.dir);
  try {
    await downloadBlob(client, parsed.repository, manifest.config, stage.path(manifest.config.digest));
    const { readFile } = await import('node:fs/promises');
    const config = parseImageConfig(
      await readFile(stage.path(manifest.config.digest)),
      `${where}@${manifest.config.digest}`,
    );
    checkBaseConfig(config, manifest.layers.length, platform, `${where}@${manifest.config.digest}`, ref);
    for (const layer of manifest.layers) {
      if (layerCompression(layer.mediaType) === undefined) {
        throw new VnfpipeError('OCI_INVALID', `unsupported layer media type ${layer.mediaType}`, {
          where: ref,
        });
      }
    }
    await mapLimit(manifest.layers, 4, async (layer) => {
      if (await target.hasBlob(layer.digest)) return;
      await downloadBlob(client, parsed.repository, layer, stage.path(layer.digest));
      stage.verified(layer.digest);
    });
    await stage.commit(target);
    const layers: Descriptor[] = manifest.layers.map((l) => ({
      mediaType: toOciMediaType(l.mediaType),
      digest: l.digest,
      size: l.size,
    }));
    return { name: ref, digest: fetched.digest, config, layers };
  } finally {
    await stage.discard();
  }
}

/** Lets the image builder take registry refs as bases (`from: 'localhost:5000/vnf/base:1'`). */
export function enableRegistryBases(options: ClientOptions = {}): void {
  registerBaseResolver(createRegistryBaseResolver(options));
}

/** Copies a registry image into an OCI layout under `name` (default: the ref's tag). */
export function fetchImageToLayout(
  ref: string,
  layoutDir: string,
  options: CopyOptions & { name?: string } = {},
): Promise<CopyResult> {
  const source = parseRegistryReference(ref);
  const name = options.name ?? source.tag;
  return copyImage(
    source,
    name ? { transport: 'oci', dir: layoutDir, ref: name } : { transport: 'oci', dir: layoutDir },
    options,
  );
}
