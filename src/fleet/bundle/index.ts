/** Air-gapped release bundles: create (registry → one OCI layout tar), verify, push (tar → site registry). */
export { type ArchiveMember, ArchiveWriter, BundleArchive } from './archive.js';
export {
  type BundleFileInput,
  type BundleProgress,
  type CreateBundleOptions,
  createBundle,
} from './create.js';
export {
  BUNDLE_INDEX_FILE,
  BUNDLE_MEDIA_TYPE,
  type BundleBlob,
  type BundleDocument,
  type BundleFile,
  type BundleImage,
  type BundleIndex,
  type BundleTag,
  parseBundleIndex,
} from './format.js';
export { type PipelineContents, pipelineContents } from './pipeline.js';
export {
  type PushBundleOptions,
  type PushedBundle,
  type PushedBundleImage,
  type PushProgress,
  parseSiteDestination,
  pushBundle,
  siteReference,
} from './push.js';
export {
  type BundleProblem,
  type BundleVerification,
  readBundleIndex,
  type VerifyBundleOptions,
  verifyBundle,
} from './verify.js';
