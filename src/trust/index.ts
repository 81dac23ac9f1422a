/** `vnfpipe/trust`: cosign-format signatures, DSSE/in-toto attestations, and `verifyImage` for deploy targets. */
export {
  attestImage,
  BUILD_TYPE,
  type PredicateKind,
  PredicateType,
  type ProvenanceInput,
  type Statement,
  slsaProvenance,
  statement,
} from './attest.js';
export { type AttachedBundle, BUNDLE_V03_MEDIA_TYPE, keySigner, readBundles } from './bundle.js';
export {
  type CosignSignature,
  checkSignature,
  readSignatures,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  signatureTag,
  signImage,
  simpleSigningPayload,
} from './cosign.js';
export { type DsseEnvelope, IN_TOTO_PAYLOAD_TYPE, pae, verifyEnvelope } from './dsse.js';
export { type KeySource, readPrivateKey, readPublicKey } from './key-source.js';
export {
  ambientIdentityToken,
  CERTIFICATE_ANNOTATION,
  type KeylessOptions,
  type KeylessPolicy,
  type KeylessSigned,
  signKeyless,
  verifyKeyless,
} from './keyless.js';
export {
  encryptPrivateKey,
  type GeneratedKeys,
  generateKeys,
  keyId,
  loadPrivateKey,
  loadPublicKey,
} from './keys.js';
export { type AttestResult, attestReference, type SignResult, signReference } from './sign.js';
export { type TrustPolicy, type VerifiedImage, verifyImage } from './verify.js';
