/**
 * `vnfpipe/image`: the daemonless image builder — reproducible layers, base images, OCI layout output — for
 * scripts that build without a pipeline. Its internals (layer cache keys, gzip pools, tar encoding) are not
 * part of the API.
 */
// Resolvers are handed to a build (`buildImage({ resolvers })`), never registered process-wide.
export {
  type BaseImageResolver,
  dockerArchiveResolver,
  ociLayoutResolver,
  type ResolvedBase,
  scratchResolver,
} from './base.js';
export { buildImage, resolveEpoch } from './builder.js';
export { composeConfig, isoTime } from './config.js';
export { createMatcher, type PathMatcher, parseIgnoreFile } from './dockerignore.js';
export { diffIdOf } from './layer.js';
export {
  type BaseInput,
  type ImageBuildOptions,
  type ImagePlatformInput,
  image,
  type LayerInput,
} from './step.js';
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
