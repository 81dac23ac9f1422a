/**
 * Sigstore bundles (v0.3) built by `@sigstore/sign` around our own key, attached to an image as OCI 1.1
 * referrers (the registry client falls back to the `sha256-<hex>` index tag where there is no referrers
 * API). The annotations are the ones cosign writes, so `cosign verify --new-bundle-format` can find them.
 */
import { createPublicKey, type KeyObject, sign as signBytes } from 'node:crypto';
import { BUNDLE_V03_MEDIA_TYPE, type Bundle, bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import type { Signer } from '@sigstore/sign';
import type { Descriptor } from '../oci/descriptor.js';
import { type Digest, digestOf } from '../oci/digest.js';
import { canonicalJson } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import { EMPTY_CONFIG } from '../registry/artifact.js';
import type { RegistryClient } from '../registry/client.js';
import { listReferrers, recordReferrer, referrerDescriptor } from '../registry/referrers.js';
import { getBytes, putBytes } from './blobs.js';
import { keyId } from './keys.js';

export { BUNDLE_V03_MEDIA_TYPE };
export const BUNDLE_CONTENT_ANNOTATION = 'dev.sigstore.bundle.content';
export const BUNDLE_PREDICATE_ANNOTATION = 'dev.sigstore.bundle.predicateType';

/** A `@sigstore/sign` signer over a local ECDSA key; the bundle carries the key's id as its hint. */
export function keySigner(key: KeyObject): Signer {
  const hint = keyId(key);
  const publicKey = createPublicKey(key).export({ format: 'pem', type: 'spki' }).toString();
  return {
    sign: async (data) => ({
      signature: signBytes('sha256', data, key),
      key: { $case: 'publicKey', publicKey, hint },
    }),
  };
}

/** Pushes a bundle as a referrer of `subject`; returns the referrer manifest's descriptor. */
export async function attachBundle(
  client: RegistryClient,
  repository: string,
  subject: Descriptor,
  bundle: Bundle,
  annotations: Record<string, string>,
): Promise<Descriptor> {
  const layer = await putBytes(
    client,
    repository,
    Buffer.from(JSON.stringify(bundleToJSON(bundle))),
    BUNDLE_V03_MEDIA_TYPE,
  );
  await putBytes(client, repository, Buffer.from('{}'), EMPTY_CONFIG.mediaType);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: BUNDLE_V03_MEDIA_TYPE,
    config: EMPTY_CONFIG,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  };
  const bytes = canonicalJson(manifest);
  const put = await client.putManifest(repository, digestOf(bytes), bytes, MediaType.ociManifest);
  const descriptor: Descriptor = { mediaType: MediaType.ociManifest, digest: put.digest, size: bytes.length };
  await recordReferrer(
    client,
    repository,
    subject.digest,
    referrerDescriptor(descriptor, manifest),
    put.subject !== undefined,
  );
  return descriptor;
}

export interface AttachedBundle {
  /** The referrer manifest. */
  referrer: Descriptor;
  bundle: Bundle;
}

/** Every Sigstore bundle attached to `subject`, parsed (those that do not parse are skipped). */
export async function readBundles(
  client: RegistryClient,
  repository: string,
  subject: Digest,
): Promise<AttachedBundle[]> {
  const { referrers } = await listReferrers(client, repository, subject, {
    artifactType: BUNDLE_V03_MEDIA_TYPE,
  });
  const out: AttachedBundle[] = [];
  for (const referrer of referrers) {
    const fetched = await client.getManifest(repository, referrer.digest);
    const manifest = JSON.parse(fetched.bytes.toString('utf8')) as { layers?: Descriptor[] };
    const layer = manifest.layers?.find((l) => l.mediaType === BUNDLE_V03_MEDIA_TYPE);
    if (!layer) continue;
    try {
      const json = JSON.parse((await getBytes(client, repository, layer)).toString('utf8'));
      out.push({ referrer, bundle: bundleFromJSON(json) });
    } catch (error) {
      if ((error as { code?: string }).code === 'OCI_DIGEST_MISMATCH') throw error;
    }
  }
  return out;
}
