/**
 * Cosign's key-based image signatures: a "simple signing" payload naming the image's repository and manifest
 * digest, signed with ECDSA P-256/SHA-256, stored as a layer of the manifest tagged `sha256-<hex>.sig` in the
 * image's repository (where cosign 2 looks), with the base64 DER signature in the layer's annotation.
 */
import { type KeyObject, sign as signBytes, verify as verifyBytes } from 'node:crypto';
import type { Descriptor } from '../oci/descriptor.js';
import { type Digest, digestHex } from '../oci/digest.js';
import { canonicalJson, type ImageManifest, parseManifest } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import type { RegistryClient } from '../registry/client.js';
import { getBytes, putBytes } from './blobs.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const SIGNATURE_TYPE = 'cosign container image signature';

/** cosign's tag for an image's signatures: `sha256-<hex>.sig`. */
export function signatureTag(subject: Digest): string {
  return `sha256-${digestHex(subject)}.sig`;
}

/** The payload cosign signs; `dockerReference` is the repository without tag (`host/repo`). */
export function simpleSigningPayload(dockerReference: string, digest: Digest): Buffer {
  return canonicalJson({
    critical: {
      identity: { 'docker-reference': dockerReference },
      image: { 'docker-manifest-digest': digest },
      type: SIGNATURE_TYPE,
    },
    optional: null,
  });
}

export interface CosignSignature {
  payload: Buffer;
  /** DER, as the annotation carries it in base64. */
  signature: Buffer;
  layer: Descriptor;
}

async function currentSignatures(
  client: RegistryClient,
  repository: string,
  subject: Digest,
): Promise<ImageManifest | undefined> {
  const tag = signatureTag(subject);
  try {
    const fetched = await client.getManifest(repository, tag);
    return parseManifest(fetched.bytes, `${client.registry}/${repository}:${tag}`, fetched.mediaType);
  } catch (error) {
    if ((error as { code?: string }).code === 'OCI_NOT_FOUND') return undefined;
    throw error;
  }
}

export interface SignedImage {
  /** The signature manifest's digest (its tag is `signatureTag(subject)`). */
  digest: Digest;
  tag: string;
  payload: Buffer;
  signature: Buffer;
  /** Signatures the tag holds now, this one included. */
  count: number;
}

/** Signs `repository@subject` and adds the signature to its `.sig` manifest, keeping earlier ones. */
export async function signImage(
  client: RegistryClient,
  repository: string,
  subject: Digest,
  key: KeyObject,
): Promise<SignedImage> {
  const payload = simpleSigningPayload(`${client.registry}/${repository}`, subject);
  return addSignature(client, repository, subject, payload, signBytes('sha256', payload, key));
}

/**
 * Appends a signed payload to the `.sig` manifest. `annotations` carries what keyless signatures add
 * (`dev.sigstore.cosign/certificate`, `…/chain`).
 */
export async function addSignature(
  client: RegistryClient,
  repository: string,
  subject: Digest,
  payload: Buffer,
  signature: Buffer,
  annotations: Record<string, string> = {},
): Promise<SignedImage> {
  const layer = await putBytes(client, repository, payload, SIMPLE_SIGNING_MEDIA_TYPE);
  layer.annotations = { [SIGNATURE_ANNOTATION]: signature.toString('base64'), ...annotations };
  const current = await currentSignatures(client, repository, subject);
  // Earlier signatures stay (other keys, other signers). The payload is deterministic, so layers share a
  // digest; they differ by their signature annotation.
  const layers = [...(current?.layers ?? []), layer];
  const config = await putBytes(
    client,
    repository,
    canonicalJson({
      architecture: '',
      os: '',
      config: {},
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
    }),
    MediaType.ociConfig,
  );
  const manifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers };
  const tag = signatureTag(subject);
  const put = await client.putManifest(repository, tag, canonicalJson(manifest), MediaType.ociManifest);
  return { digest: put.digest, tag, payload, signature, count: layers.length };
}

/** Every simple-signing layer in the image's `.sig` manifest, payload bytes fetched and digest-checked. */
export async function readSignatures(
  client: RegistryClient,
  repository: string,
  subject: Digest,
): Promise<CosignSignature[]> {
  const manifest = await currentSignatures(client, repository, subject);
  if (!manifest) return [];
  const out: CosignSignature[] = [];
  for (const layer of manifest.layers) {
    const annotation = layer.annotations?.[SIGNATURE_ANNOTATION];
    if (layer.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE || !annotation) continue;
    out.push({
      payload: await getBytes(client, repository, layer),
      signature: Buffer.from(annotation, 'base64'),
      layer,
    });
  }
  return out;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** Checks one signature: valid over its payload, and the payload names this digest and type. */
export function checkSignature(sig: CosignSignature, key: KeyObject, subject: Digest): SignatureCheck {
  let valid = false;
  try {
    valid = verifyBytes('sha256', sig.payload, key, sig.signature);
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, reason: 'signature does not verify with the key' };
  let payload: { critical?: { image?: Record<string, unknown>; type?: unknown } };
  try {
    payload = JSON.parse(sig.payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'signed payload is not JSON' };
  }
  if (payload.critical?.type !== SIGNATURE_TYPE)
    return { ok: false, reason: `signed payload type is ${JSON.stringify(payload.critical?.type)}` };
  const digest = payload.critical?.image?.['docker-manifest-digest'];
  if (digest !== subject) return { ok: false, reason: `signed payload names ${String(digest)}` };
  return { ok: true };
}
