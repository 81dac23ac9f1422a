/** The daemonless image builder: reproducible layers, layer cache, base images, OCI layout output. */
export {
  type BaseImageResolver,
  dockerArchiveResolver,
  findBaseResolver,
  ociLayoutResolver,
  type ResolvedBase,
  registerBaseResolver,
  scratchResolver,
} from './base.js';
export { buildImage, resolveEpoch } from './builder.js';
export { contentKey, LAYER_FORMAT_VERSION, LayerCache, shapeKey, statKey } from './cache.js';
export { composeConfig, isoTime } from './config.js';
export { createMatcher, type PathMatcher, parseIgnoreFile } from './dockerignore.js';
export { collectEntries, type LayerEntry, layerPath } from './entries.js';
export {
  DEFAULT_CHUNK_SIZE,
  defaultWorkerCount,
  GzipPool,
  gzipBuffer,
  ParallelGzip,
  sharedGzipPool,
} from './gzip.js';
export { diffIdOf, streamTar, type TarSink, tarSize, writeLayer } from './layer.js';
export {
  type BaseInput,
  type ImageBuildOptions,
  type ImagePlatformInput,
  image,
  type LayerInput,
} from './step.js';
export { encodeTarHeader, type TarEntryType, type TarHeader } from './tar.js';
export type {
  BlobPublisher,
  BlobStream,
  BuildOptions,
  BuildProgress,
  DirectorySpec,
  FileMapping,
  HealthcheckSpec,
  ImageConfigSpec,
  ImageRef,
  ImageSpec,
  InlineFile,
  LayerResult,
  LayerSpec,
  Ownership,
  PlatformSpec,
} from './types.js';
