/** The OCI distribution client: auth, blobs, manifests, referrers, artifacts, image copies and the push step. */

export {
  type ArtifactFile,
  EMPTY_CONFIG,
  type PulledArtifact,
  type PushArtifactOptions,
  type PushedArtifact,
  pullArtifact,
  pushArtifact,
  resolveDescriptor,
} from './artifact.js';
export { type Challenge, parseChallenges } from './auth/challenge.js';
export {
  type Credentials,
  credentialsFromEnv,
  credentialsFromString,
  resolveCredentials,
} from './auth/credentials.js';
export {
  credentialsFromDockerConfig,
  dockerConfigPath,
  eraseCredentials,
  storeCredentials,
} from './auth/docker-config.js';
export { createRegistryBaseResolver, fetchImageToLayout, isRegistryRef } from './base.js';
export {
  type ApiRequest,
  type ClientOptions,
  type FetchedManifest,
  MANIFEST_ACCEPT,
  RegistryClient,
} from './client.js';
export { convertToOci, IMAGE_FORMATS, type ImageFormat } from './convert.js';
export { type BlobProgress, type CopyOptions, type CopyResult, copyImage } from './copy.js';
export { type RegistryPublisher, type RegistryPublisherOptions, registryPublisher } from './publish.js';
export { type ListReferrersOptions, listReferrers, recordReferrer, referrersTag } from './referrers.js';
export { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
export { type PushedImage, type PushOptions, push } from './step.js';
export { StreamingUpload, type StreamingUploadOptions } from './stream-upload.js';
export {
  DEFAULT_HEADER_TIMEOUT_MS,
  DEFAULT_MIN_RATE,
  isLoopbackHost,
  type MinRate,
  type TransportOptions,
} from './transport.js';
export { type BlobSource, type UploadOptions, type UploadResult, uploadBlob } from './upload.js';
