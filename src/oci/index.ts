/** The OCI model: media types, digests, documents, platforms, references and the on-disk layout store. */
export { Annotation, type Annotations } from './annotations.js';
export {
  type ContainerConfig,
  checkLayerCount,
  type HealthcheckConfig,
  type HistoryEntry,
  type ImageConfig,
  parseImageConfig,
} from './config.js';
export { type Descriptor, parseDescriptor } from './descriptor.js';
export {
  type Digest,
  DigestStream,
  digestAlgorithm,
  digestHex,
  digestMismatch,
  digestOf,
  isDigest,
  parseDigest,
  sha256,
  verifyDigest,
} from './digest.js';
export {
  asLayoutReference,
  DOCKER_ARCHIVE_PREFIX,
  DockerArchive,
  type DockerArchiveImage,
  type DockerArchiveReference,
  type ImportedImage,
  importDockerArchive,
  isDockerArchiveReference,
  parseDockerArchiveReference,
} from './docker-archive.js';
export { type BlobWriter, type GcResult, type LayoutOptions, type LayoutRef, OciLayout } from './layout.js';
export {
  canonicalJson,
  describeDocument,
  type ImageIndex,
  type ImageManifest,
  parseIndex,
  parseManifest,
  parseManifestOrIndex,
  selectPlatform,
  verifiedBytes,
} from './manifest.js';
export {
  isConfigMediaType,
  isIndexMediaType,
  isManifestMediaType,
  type KnownMediaType,
  layerCompression,
  MediaType,
  toOciMediaType,
} from './media-types.js';
export {
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  type Platform,
  parsePlatform,
  platformMatches,
} from './platform.js';
export {
  DEFAULT_REGISTRY,
  DEFAULT_TAG,
  familiarName,
  formatReference,
  type ImageReference,
  type OciLayoutReference,
  parseOciLayoutReference,
  parseReference,
  parseRegistryReference,
  type RegistryReference,
} from './reference.js';
export { MAX_DOCUMENT_BYTES } from './validate.js';
