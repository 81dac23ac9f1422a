/**
 * `verifyImage`: does an image, by digest, carry a cosign signature that verifies with the policy's key, and
 * every attestation the policy requires (DSSE-signed by that key, about that digest)? Deploy targets call it
 * before they start anything; it throws TRUST_VERIFY_FAILED naming what is missing.
 */
import type { KeyObject } from 'node:crypto';
import { isBundleWithDsseEnvelope } from '@sigstore/bundle';
import { VnfpipeError } from '../errors.js';
import { type Digest, digestHex } from '../oci/digest.js';
import { parseRegistryReference } from '../oci/reference.js';
import type { ClientOptions, RegistryClient } from '../registry/client.js';
import { PredicateType, type Statement } from './attest.js';
import { readBundles } from './bundle.js';
import { checkSignature, readSignatures } from './cosign.js';
import { IN_TOTO_PAYLOAD_TYPE, verifyEnvelope } from './dsse.js';
import type { KeylessPolicy } from './keyless.js';
import { loadPublicKey } from './keys.js';
import { withSubject } from './subject.js';

export interface TrustPolicy {
  /** The public key (PEM text or a KeyObject) signatures and attestations must verify with. */
  key?: KeyObject | string;
  /**
   * Keyless instead of `key`: a Sigstore bundle whose Fulcio certificate names this identity and issuer,
   * chained to the trusted root (a `trusted_root.json` path or object), logged in its Rekor.
   */
  keyless?: Omit<KeylessPolicy, 'client'>;
  /** Predicate types that must be attested: `slsaprovenance`, `cyclonedx` or a predicate type URI. */
  attestations?: readonly string[];
  /** Registry client options (credentials, insecure, signal). */
  client?: ClientOptions;
}

export interface VerifiedImage {
  /** `host/repo@sha256:…`: deploy this, not the tag, so what runs is what was verified. */
  reference: string;
  digest: Digest;
  /** Signatures in the `.sig` tag that verify with the key. */
  signatures: number;
  /** Verified attestations: predicate type → count. */
  attestations: Record<string, number>;
}

function predicateUri(name: string): string {
  return (PredicateType as Record<string, string>)[name] ?? name;
}

/** Verified statements (predicate types) attached to `digest` and signed with `key`. */
async function verifiedPredicates(
  client: RegistryClient,
  repository: string,
  digest: Digest,
  key: KeyObject,
): Promise<Record<string, number>> {
  const found: Record<string, number> = {};
  for (const { bundle } of await readBundles(client, repository, digest)) {
    if (!isBundleWithDsseEnvelope(bundle)) continue;
    const envelope = bundle.content.dsseEnvelope;
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) continue;
    const dsse = {
      payloadType: envelope.payloadType,
      payload: envelope.payload.toString('base64'),
      signatures: envelope.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig.toString('base64') })),
    };
    if (!verifyEnvelope(dsse, key)) continue;
    let doc: Statement;
    try {
      doc = JSON.parse(envelope.payload.toString('utf8')) as Statement;
    } catch {
      continue;
    }
    const about = doc.subject?.some((s) => s.digest?.sha256 === digestHex(digest));
    if (!about || typeof doc.predicateType !== 'string') continue;
    found[doc.predicateType] = (found[doc.predicateType] ?? 0) + 1;
  }
  return found;
}

/**
 * Verifies `ref` (tag or digest) against `policy`; throws TRUST_VERIFY_FAILED with the reason.
 *
 * @example
 * ```ts
 * const { reference } = await verifyImage('registry.example/vnf/vfw:1', { key: readFileSync('cosign.pub', 'utf8') });
 * ```
 * @see the deploy steps' `trust` option, which calls it before anything is deployed.
 */
export async function verifyImage(ref: string, policy: TrustPolicy): Promise<VerifiedImage> {
  if ((policy.key === undefined) === (policy.keyless === undefined))
    throw new VnfpipeError('USAGE', 'a trust policy names either a public key or a keyless identity');
  if (policy.keyless) {
    if (policy.attestations?.length)
      throw new VnfpipeError(
        'USAGE',
        'required attestations are checked against a key (keyless: signature only)',
      );
    const { verifyKeyless } = await import('./keyless.js');
    const verified = await verifyKeyless(ref, {
      ...policy.keyless,
      ...(policy.client ? { client: policy.client } : {}),
    });
    return { ...verified, signatures: 1, attestations: {} };
  }
  // The reference is checked before the key is read, and both before the registry is asked.
  const reference = parseRegistryReference(ref);
  const key = typeof policy.key === 'string' ? loadPublicKey(policy.key) : policy.key!;
  return withSubject(reference, policy.client ?? {}, async (client, parsed, subject) => {
    const where = `${parsed.registry}/${parsed.repository}@${subject.digest}`;
    const fail = (message: string, hint?: string) =>
      new VnfpipeError('TRUST_VERIFY_FAILED', message, { where, hint });

    const signatures = await readSignatures(client, parsed.repository, subject.digest);
    if (signatures.length === 0)
      throw fail('the image is not signed (no cosign signature for this digest)', 'sign it: vnfpipe sign');
    const checks = signatures.map((s) => checkSignature(s, key, subject.digest));
    const valid = checks.filter((c) => c.ok).length;
    if (valid === 0) {
      const reasons = [...new Set(checks.map((c) => (c.ok ? '' : c.reason)))].join('; ');
      throw fail(`no signature verifies with the key (${signatures.length} found: ${reasons})`);
    }

    const attestations = policy.attestations?.length
      ? await verifiedPredicates(client, parsed.repository, subject.digest, key)
      : {};
    const missing = (policy.attestations ?? []).filter((name) => !attestations[predicateUri(name)]);
    if (missing.length)
      throw fail(
        `missing verified attestation${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`,
        'attach them: vnfpipe attest',
      );
    return { reference: where, digest: subject.digest, signatures: valid, attestations };
  });
}
