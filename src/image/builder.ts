/**
 * The daemonless builder: base + layers + config → manifest (or an index over per-platform manifests)
 * written into an OCI layout under a ref. Layers are collected and compressed concurrently and reused from
 * the layer cache when their inputs are unchanged.
 */
import { rm, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { VnfpipeError } from '../errors.js';
import { Annotation } from '../oci/annotations.js';
import type { HistoryEntry } from '../oci/config.js';
import type { Descriptor } from '../oci/descriptor.js';
import { OciLayout } from '../oci/layout.js';
import { tagLayoutImage } from '../oci/layout-image.js';
import type { ImageManifest } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import {
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  type Platform,
  parsePlatform,
} from '../oci/platform.js';
import { findBaseResolver } from './base.js';
import { contentKey, LayerCache, shapeKey, statKey } from './cache.js';
import { composeConfig, isoTime } from './config.js';
import { collectEntries } from './entries.js';
import { GzipPool, sharedGzipPool } from './gzip.js';
import { diffIdOf, writeLayer } from './layer.js';
import type { BuildOptions, ImageRef, ImageSpec, LayerResult, LayerSpec, PlatformSpec } from './types.js';
import { BlobVerifier } from './verified.js';
import { DEFAULT_ZSTD_LEVEL, zstdLibrary } from './zstd.js';

const REF_NAME = /^[A-Za-z0-9][A-Za-z0-9_.\-:/+@]*$/;

/** SOURCE_DATE_EPOCH (seconds) when set and valid, else 0: the same inputs give the same bytes. */
export function resolveEpoch(
  explicit: number | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): number {
  const raw = explicit ?? (env.SOURCE_DATE_EPOCH?.trim() ? Number(env.SOURCE_DATE_EPOCH) : 0);
  if (!Number.isSafeInteger(raw) || raw < 0) {
    throw new VnfpipeError(
      'USAGE',
      `invalid SOURCE_DATE_EPOCH ${JSON.stringify(env.SOURCE_DATE_EPOCH ?? explicit)}`,
      {
        hint: 'give whole seconds since 1970-01-01, e.g. $(git log -1 --format=%ct)',
      },
    );
  }
  return raw;
}

function describeLayer(spec: LayerSpec, index: number): string {
  if (spec.name) return spec.name;
  const parts: string[] = [];
  const files = Array.isArray(spec.files)
    ? spec.files
    : Object.entries(spec.files ?? {}).map(([from, to]) => ({ from, to }));
  // Only names as the caller wrote them (never absolute host paths), so history is the same on every machine.
  for (const m of files) parts.push(`${isAbsolute(m.from) ? basename(m.from) : m.from} -> ${m.to}`);
  for (const key of Object.keys(spec.content ?? {})) parts.push(`content ${key}`);
  for (const key of Object.keys(spec.symlinks ?? {})) parts.push(`symlink ${key}`);
  const dirs = Array.isArray(spec.directories) ? spec.directories : Object.keys(spec.directories ?? {});
  for (const d of dirs) parts.push(`mkdir ${d}`);
  for (const d of spec.delete ?? []) parts.push(`delete ${d}`);
  for (const d of spec.opaque ?? []) parts.push(`opaque ${d}`);
  const text = parts.join(', ');
  return text
    ? `vnfpipe layer ${index + 1}: ${text.length > 200 ? `${text.slice(0, 197)}...` : text}`
    : `vnfpipe layer ${index + 1}`;
}

function toPlatform(value: string | Platform | undefined): Platform {
  if (value === undefined) return hostPlatform();
  return normalizePlatform(typeof value === 'string' ? parsePlatform(value) : value);
}

interface BuildContext {
  options: BuildOptions;
  layout: OciLayout;
  cache: LayerCache | undefined;
  pool: GzipPool;
  epoch: number;
  level: number;
  /** The zstd library's version when layers are zstd, else undefined (gzip). */
  zstd: string | undefined;
  /** Layers being built in this run by key, so identical layers of several platforms are built once. */
  inflight: Map<string, Promise<LayerResult>>;
  verifier: BlobVerifier;
  progress: Map<string, { current: number; total: number }>;
}

async function buildLayer(ctx: BuildContext, spec: LayerSpec, index: number): Promise<LayerResult> {
  const { options, layout, cache } = ctx;
  const createdBy = describeLayer(spec, index);
  const entries = await collectEntries(
    spec.keepModes === undefined && options.keepModes !== undefined
      ? { ...spec, keepModes: options.keepModes }
      : spec,
    options.context,
    options.signal,
  );
  const keyOptions = { level: ctx.level, mtime: ctx.epoch, ...(ctx.zstd ? { zstd: ctx.zstd } : {}) };
  const byStat = cache ? statKey(entries, keyOptions) : undefined;
  const write = async (): Promise<LayerResult> => {
    if (cache && byStat) {
      const hit = await cache.lookup(byStat, layout);
      if (hit) {
        options.onLog?.(`layer ${index + 1} unchanged: ${hit.digest}`);
        options.publisher?.existing(hit, layout.blobPath(hit.digest));
        return hit;
      }
      const shape = shapeKey(entries);
      if (await cache.hasShape(shape)) {
        // Same paths as an earlier build: hashing the tar is far cheaper than compressing it.
        const diffId = await diffIdOf(entries, ctx.epoch, options.signal);
        const byContent = await cache.lookup(contentKey(diffId, keyOptions), layout);
        if (byContent) {
          await cache.store([byStat], byContent, layout);
          options.onLog?.(`layer ${index + 1} same content: ${byContent.digest}`);
          options.publisher?.existing(byContent, layout.blobPath(byContent.digest));
          return byContent;
        }
      }
    }
    const label = spec.name ?? `layer ${index + 1}`;
    // Start every worker now, not one per first task: their start-up overlaps the other layers' listing.
    ctx.pool.warm();
    const result = await writeLayer(entries, {
      layout,
      pool: ctx.pool,
      compression: ctx.zstd ? 'zstd' : 'gzip',
      level: ctx.level,
      mtime: ctx.epoch,
      createdBy,
      publisher: options.publisher,
      signal: options.signal,
      onProgress: options.onProgress
        ? (current, total) => options.onProgress?.({ label, current, total, unit: 'bytes' })
        : undefined,
    });
    if (cache && byStat) {
      await cache.store([byStat, contentKey(result.diffId, keyOptions)], result, layout, shapeKey(entries));
    }
    options.onLog?.(
      `layer ${index + 1} built: ${result.digest} (${result.uncompressedSize} -> ${result.size} bytes)`,
    );
    return result;
  };
  if (!byStat) return { ...(await write()), createdBy };
  let pending = ctx.inflight.get(byStat);
  if (!pending) {
    pending = write();
    ctx.inflight.set(byStat, pending);
  }
  return { ...(await pending), createdBy };
}

async function buildPlatformImage(
  ctx: BuildContext,
  spec: ImageSpec,
  platform: Platform,
): Promise<Descriptor> {
  const { options, layout, epoch } = ctx;
  const from = spec.from ?? 'scratch';
  const base = await findBaseResolver(from, options.resolvers).resolve(from, platform, layout, {
    cwd: options.context,
    signal: options.signal,
    verifier: ctx.verifier,
  });
  for (const layer of base.layers) options.publisher?.existing(layer, layout.blobPath(layer.digest));
  const layers = await Promise.all((spec.layers ?? []).map((layer, i) => buildLayer(ctx, layer, i)));
  const created = spec.annotations?.created ?? isoTime(epoch);
  const history: HistoryEntry[] = layers.map((l) => ({
    created,
    created_by: l.createdBy,
    comment: 'vnfpipe',
  }));
  const config = composeConfig({
    base: base.config,
    spec,
    platform,
    created,
    diffIds: layers.map((l) => l.diffId),
    history,
  });
  const configDescriptor = await layout.writeJson(config, MediaType.ociConfig);
  options.publisher?.existing(configDescriptor, layout.blobPath(configDescriptor.digest));
  const annotations: Record<string, string> = { [Annotation.created]: created };
  for (const [key, value] of Object.entries(spec.annotations ?? {})) {
    if (value === undefined || key === 'created') continue;
    annotations[key.includes('.') ? key : `org.opencontainers.image.${key}`] = value;
  }
  // The base's name only when it means the same everywhere (a registry name, not a local directory).
  if (base.digest) {
    annotations[Annotation.baseDigest] = base.digest;
    if (!from.startsWith('oci:') && !from.startsWith('docker-archive:'))
      annotations[Annotation.baseName] = from;
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: {
      mediaType: configDescriptor.mediaType,
      digest: configDescriptor.digest,
      size: configDescriptor.size,
    },
    layers: [
      ...base.layers,
      ...layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    ],
    annotations,
  };
  const descriptor = await layout.writeJson(manifest, MediaType.ociManifest);
  const out: Descriptor = {
    mediaType: MediaType.ociManifest,
    digest: descriptor.digest,
    size: descriptor.size,
  };
  out.platform = platform;
  return out;
}

function mergePlatformSpec(top: ImageSpec, spec: PlatformSpec): ImageSpec {
  const { platform: _platform, layers, ...rest } = spec;
  return { ...top, ...rest, layers: [...(top.layers ?? []), ...(layers ?? [])] };
}

/** Removes a layout no image was tagged in, unless another build is writing into it. */
async function removeIfEmpty(layout: OciLayout, ownMarker: string): Promise<void> {
  if ((await layout.liveWriters()).some((marker) => marker !== ownMarker)) return;
  const index = await layout.readIndex().catch(() => undefined);
  if (index && index.manifests.length === 0) await rm(layout.dir, { recursive: true, force: true });
}

/** Builds the image(s) and tags the result in the layout. */
export async function buildImage(options: BuildOptions): Promise<ImageRef> {
  const layers = [...(options.layers ?? []), ...(options.platforms ?? []).flatMap((p) => p.layers ?? [])];
  const run = layers.findIndex((layer) => 'run' in layer && layer.run !== undefined);
  if (run !== -1) {
    throw new VnfpipeError('USAGE', `layer ${run} runs a command: the native builder only assembles files`, {
      hint: 'run layers build through BuildKit: use image.build in a pipeline (it hands them to BuildKit) or a Dockerfile with image build --dockerfile',
    });
  }
  if (!REF_NAME.test(options.name)) {
    throw new VnfpipeError('USAGE', `invalid image name ${JSON.stringify(options.name)}`, {
      hint: 'letters, digits and . _ - : / + @',
    });
  }
  const layoutDir = options.layout ?? (options.stateDir ? join(options.stateDir, 'oci') : undefined);
  if (!layoutDir) throw new VnfpipeError('USAGE', 'buildImage needs `layout` or `stateDir`');
  const cacheDir =
    options.cacheDir ?? (options.stateDir ? join(options.stateDir, 'cache', 'layers') : undefined);
  const compression = options.compression ?? 'gzip';
  if (compression !== 'gzip' && compression !== 'zstd') {
    throw new VnfpipeError('USAGE', `unknown compression ${JSON.stringify(compression)}`, {
      hint: "use 'gzip' (default) or 'zstd'",
    });
  }
  const zstd = compression === 'zstd' ? zstdLibrary().version : undefined;
  const level = options.compressionLevel ?? (zstd ? DEFAULT_ZSTD_LEVEL : 1);
  const [minLevel, maxLevel] = zstd ? [1, 19] : [0, 9];
  if (!Number.isInteger(level) || level < minLevel || level > maxLevel) {
    throw new VnfpipeError(
      'USAGE',
      `${compression} compression level must be ${minLevel}–${maxLevel}, got ${level}`,
    );
  }
  options.signal?.throwIfAborted();
  const layoutPath = resolve(options.context, layoutDir);
  const existed = await stat(layoutPath).then(
    () => true,
    () => false,
  );
  const layout = await OciLayout.openOrCreate(layoutPath, { onLog: options.onLog });
  // What killed builds and pulls left behind (their writers are gone) is removed before adding more.
  await layout.cleanStale();
  const writing = await layout.beginWrite();
  const ownPool = options.workers !== undefined ? new GzipPool(options.workers) : undefined;
  const ctx: BuildContext = {
    options: { ...options, context: resolve(options.context) },
    layout,
    cache: cacheDir ? new LayerCache(resolve(options.context, cacheDir)) : undefined,
    pool: ownPool ?? sharedGzipPool(),
    epoch: resolveEpoch(options.sourceDateEpoch),
    level,
    zstd,
    inflight: new Map(),
    progress: new Map(),
    verifier: new BlobVerifier(cacheDir ? resolve(options.context, cacheDir, 'verified') : undefined),
  };
  try {
    const { platforms, platform, ...top } = options;
    let descriptor: Descriptor;
    let perPlatform: ImageRef['platforms'];
    if (platforms && platforms.length > 0) {
      const manifests: Descriptor[] = [];
      for (const spec of platforms) {
        manifests.push(
          await buildPlatformImage(ctx, mergePlatformSpec(top, spec), toPlatform(spec.platform)),
        );
      }
      const seen = new Set(manifests.map((m) => formatPlatform(m.platform!)));
      if (seen.size !== manifests.length)
        throw new VnfpipeError('USAGE', 'a platform is listed twice in `platforms`');
      const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
      descriptor = await layout.writeJson(index, MediaType.ociIndex);
      perPlatform = manifests.map((m) => ({ platform: formatPlatform(m.platform!), digest: m.digest }));
    } else {
      const built = await buildPlatformImage(ctx, top, toPlatform(platform));
      descriptor = { mediaType: built.mediaType, digest: built.digest, size: built.size };
    }
    options.signal?.throwIfAborted();
    const ref: ImageRef = await tagLayoutImage(layout, options.name, descriptor);
    if (perPlatform) ref.platforms = perPlatform;
    return ref;
  } catch (error) {
    // A failed first build leaves nothing behind: an empty layout would look like a result.
    if (!existed) await removeIfEmpty(layout, writing.marker);
    throw error;
  } finally {
    // Published blobs are in the registry before the caller pushes the manifest (failures were logged).
    await options.publisher?.settle();
    await writing.end();
    await ownPool?.close();
  }
}
