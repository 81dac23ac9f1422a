/**
 * Base images. The builder asks a resolver for the base's config and layers, with the layer blobs made
 * available in the target layout. `scratch`, OCI layouts and `docker save` archives are built in; others
 * (registry images) come as resolvers of one build (`BuildOptions.resolvers`), never shared between builds.
 */
import { constants } from 'node:fs';
import { copyFile, link } from 'node:fs/promises';
import { resolve } from 'node:path';
import { VnfpipeError } from '../errors.js';
import { checkLayerCount, type ImageConfig } from '../oci/config.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import { importDockerArchive, isDockerArchiveReference } from '../oci/docker-archive.js';
import { OciLayout } from '../oci/layout.js';
import { selectPlatform } from '../oci/manifest.js';
import {
  isIndexMediaType,
  isManifestMediaType,
  layerCompression,
  toOciMediaType,
} from '../oci/media-types.js';
import { formatPlatform, type Platform, platformMatches } from '../oci/platform.js';
import { parseOciLayoutReference } from '../oci/reference.js';
import { BlobVerifier } from './verified.js';

export interface ResolvedBase {
  /** The reference as given. */
  name: string;
  /** Digest of the base's manifest (undefined for scratch). */
  digest?: Digest;
  config?: ImageConfig;
  /** Layer descriptors (OCI media types); their blobs are present in the target layout. */
  layers: Descriptor[];
}

export interface BaseImageResolver {
  /** True when this resolver handles the reference (e.g. starts with `oci:`). */
  accepts(ref: string): boolean;
  resolve(ref: string, platform: Platform, target: OciLayout, options: ResolveOptions): Promise<ResolvedBase>;
}

export interface ResolveOptions {
  cwd: string;
  signal?: AbortSignal;
  /** Checks reused blobs (size and digest, once per blob file). */
  verifier?: BlobVerifier;
}

export const scratchResolver: BaseImageResolver = {
  accepts: (ref) => ref === 'scratch',
  resolve: async () => ({ name: 'scratch', layers: [] }),
};

/**
 * Puts a blob of one layout into another: hardlink when possible, else a copy-on-write clone or copy. The
 * blob is verified first (and the target's copy, when it already had one): a damaged base must not become
 * part of an image that looks fine until a registry or skopeo rejects it.
 */
async function transferBlob(
  from: OciLayout,
  to: OciLayout,
  blob: Descriptor,
  where: string,
  options: ResolveOptions,
): Promise<void> {
  const verifier = options.verifier ?? new BlobVerifier();
  if (from.dir !== to.dir && (await to.hasBlob(blob.digest))) {
    await verifier.verify(to.blobPath(blob.digest), blob, `oci:${to.dir}`, options.signal);
    return;
  }
  await verifier.verify(from.blobPath(blob.digest), blob, where, options.signal);
  if (from.dir === to.dir) return;
  const temp = await to.tempPath();
  await link(from.blobPath(blob.digest), temp).catch(() =>
    copyFile(from.blobPath(blob.digest), temp, constants.COPYFILE_FICLONE),
  );
  await to.adoptBlob(temp, blob.digest);
}

export const ociLayoutResolver: BaseImageResolver = {
  accepts: (ref) => ref.startsWith('oci:'),
  async resolve(ref, platform, target, options) {
    const { cwd } = options;
    const parsed = parseOciLayoutReference(ref);
    const source = await OciLayout.open(resolve(cwd, parsed.dir));
    let descriptor = await source.resolve(parsed.ref);
    if (isIndexMediaType(descriptor.mediaType)) {
      const index = await source.readImageIndex(descriptor);
      const chosen = selectPlatform(index, platform);
      if (!chosen) {
        const offered = index.manifests
          .map((m) => (m.platform ? formatPlatform(m.platform) : '?'))
          .join(', ');
        throw new VnfpipeError('OCI_NOT_FOUND', `no image for platform ${formatPlatform(platform)}`, {
          where: ref,
          hint: `the index offers: ${offered || '(nothing)'}`,
        });
      }
      descriptor = chosen;
    }
    if (!isManifestMediaType(descriptor.mediaType)) {
      throw new VnfpipeError('OCI_INVALID', `unexpected media type ${descriptor.mediaType}`, { where: ref });
    }
    const manifest = await source.readManifest(descriptor);
    const config = await source.readConfig(manifest.config);
    checkBaseConfig(config, manifest.layers.length, platform, source.blobPath(manifest.config.digest), ref);
    const layers: Descriptor[] = [];
    for (const layer of manifest.layers) {
      if (layerCompression(layer.mediaType) === undefined) {
        throw new VnfpipeError('OCI_INVALID', `unsupported layer media type ${layer.mediaType}`, {
          where: ref,
        });
      }
      if (!(await source.hasBlob(layer.digest))) {
        throw new VnfpipeError('OCI_NOT_FOUND', `layer blob ${layer.digest} missing`, {
          where: source.blobPath(layer.digest),
        });
      }
      await transferBlob(source, target, layer, ref, options);
      layers.push({ mediaType: toOciMediaType(layer.mediaType), digest: layer.digest, size: layer.size });
    }
    return { name: ref, digest: descriptor.digest, config, layers };
  },
};

/** `docker-archive:<file>[:ref]` (what `docker save` writes): its config and layers are copied in. */
export const dockerArchiveResolver: BaseImageResolver = {
  accepts: isDockerArchiveReference,
  async resolve(ref, platform, target, options) {
    const imported = await importDockerArchive(ref, target, options);
    checkBaseConfig(imported.config, imported.manifest.layers.length, platform, imported.where, ref);
    return {
      name: ref,
      digest: imported.descriptor.digest,
      config: imported.config,
      layers: imported.manifest.layers,
    };
  },
};

const builtIn: BaseImageResolver[] = [scratchResolver, ociLayoutResolver, dockerArchiveResolver];
const registered: BaseImageResolver[] = [];

/**
 * Adds a process-wide resolver; later registrations win over earlier ones.
 * @deprecated Pass `resolvers` to `buildImage` instead: a process-wide resolver carrying credentials is
 * shared by every concurrent build.
 */
export function registerBaseResolver(resolver: BaseImageResolver): void {
  registered.unshift(resolver);
}

/** The resolver for `ref`: the build's own resolvers first, then registered ones, then the built-in ones. */
export function findBaseResolver(ref: string, own: readonly BaseImageResolver[] = []): BaseImageResolver {
  const found = [...own, ...registered, ...builtIn].find((r) => r.accepts(ref));
  if (!found) {
    throw new VnfpipeError('USAGE', `cannot use ${JSON.stringify(ref)} as a base image yet`, {
      where: ref,
      hint: 'use scratch, oci:<dir>[:<ref>], docker-archive:<file>[:<ref>] or a registry image',
    });
  }
  return found;
}

/** A base's config must describe as many layers as its manifest has, for the platform being built. */
export function checkBaseConfig(
  config: ImageConfig,
  layerCount: number,
  platform: Platform,
  configWhere: string,
  ref: string,
): void {
  checkLayerCount(config, layerCount, configWhere);
  const candidate: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant) candidate.variant = config.variant;
  if (!platformMatches(platform, candidate)) {
    throw new VnfpipeError(
      'OCI_NOT_FOUND',
      `base is ${formatPlatform(candidate)}, not ${formatPlatform(platform)}`,
      {
        where: ref,
      },
    );
  }
}
