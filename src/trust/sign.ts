/** Signing and attesting an image named by reference: resolve its digest once, then sign that digest. */
import type { KeyObject } from 'node:crypto';
import { MessageSignatureBundleBuilder } from '@sigstore/sign';
import { VnfpipeError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { parseRegistryReference } from '../oci/reference.js';
import { resolveDescriptor } from '../registry/artifact.js';
import { type ClientOptions, RegistryClient } from '../registry/client.js';
import { attestImage } from './attest.js';
import { attachBundle, BUNDLE_CONTENT_ANNOTATION, keySigner } from './bundle.js';
import { type SignedImage, signImage } from './cosign.js';
import { withSubject } from './subject.js';

export interface SignResult extends SignedImage {
  /** `host/repo@sha256:…` of the signed image. */
  reference: string;
  /** The Sigstore bundle referrer. */
  bundle: Descriptor;
}

/** Cosign signature in the `.sig` tag, and the same signature as a Sigstore bundle referrer. */
export async function signReference(
  ref: string,
  key: KeyObject,
  options: ClientOptions = {},
): Promise<SignResult> {
  return withSubject(ref, options, async (client, parsed, subject) => {
    const signed = await signImage(client, parsed.repository, subject.digest, key);
    const bundle = await new MessageSignatureBundleBuilder({ signer: keySigner(key), witnesses: [] }).create({
      data: signed.payload,
    });
    const referrer = await attachBundle(client, parsed.repository, subject, bundle, {
      [BUNDLE_CONTENT_ANNOTATION]: 'message-signature',
    });
    return {
      ...signed,
      reference: `${parsed.registry}/${parsed.repository}@${subject.digest}`,
      bundle: referrer,
    };
  });
}

export interface AttestResult {
  reference: string;
  referrer: Descriptor;
}

/** DSSE-signed in-toto statement about the image, attached as a referrer. */
export async function attestReference(
  ref: string,
  predicateType: string,
  predicate: unknown,
  key: KeyObject,
  options: ClientOptions = {},
): Promise<AttestResult> {
  if (predicate === null || typeof predicate !== 'object')
    throw new VnfpipeError('USAGE', 'an attestation predicate must be a JSON object');
  return withSubject(ref, options, async (client, parsed, subject) => ({
    reference: `${parsed.registry}/${parsed.repository}@${subject.digest}`,
    referrer: await attestImage(client, parsed.repository, subject, predicateType, predicate, key),
  }));
}

/** The client and subject of a reference, for steps that read the image before attesting it. */
export async function resolveForAttest(ref: string, options: ClientOptions = {}) {
  const parsed = parseRegistryReference(ref);
  const registryClient = new RegistryClient(parsed.registry, options);
  try {
    const descriptor = await resolveDescriptor(
      registryClient,
      parsed.repository,
      parsed.digest ?? parsed.tag ?? 'latest',
    );
    return {
      registryClient,
      subject: { registry: parsed.registry, repository: parsed.repository, digest: descriptor.digest },
    };
  } catch (error) {
    registryClient.close();
    throw error;
  }
}
