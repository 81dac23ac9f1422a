/**
 * Keyless signing (Sigstore): an OIDC identity token buys a short-lived Fulcio certificate for an ephemeral
 * key, the signature is logged in Rekor, and the result is a Sigstore bundle; all through `@sigstore/sign`.
 * Verification (`@sigstore/verify`) checks the chain, the log entry and the certificate identity against a
 * trusted root. The cosign `.sig` layer gets the certificate annotations cosign writes for keyless.
 */
import { readFileSync } from 'node:fs';
import { type Bundle, isBundleWithMessageSignature } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { FulcioSigner, MessageSignatureBundleBuilder, RekorWitness } from '@sigstore/sign';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { VnfpipeError } from '../errors.js';
import type { Digest } from '../oci/digest.js';
import type { ClientOptions } from '../registry/client.js';
import { attachBundle, BUNDLE_CONTENT_ANNOTATION, readBundles } from './bundle.js';
import { addSignature, simpleSigningPayload } from './cosign.js';
import { withSubject } from './subject.js';

export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';

export interface KeylessOptions {
  /** The OIDC identity token (GitHub Actions: requested with `id-token: write`). */
  identityToken: string;
  fulcioURL?: string;
  rekorURL?: string;
  client?: ClientOptions;
}

export interface KeylessSigned {
  reference: string;
  digest: Digest;
  bundle: Bundle;
}

function derToPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** The identity token of the environment: `SIGSTORE_ID_TOKEN`, else GitHub Actions' OIDC endpoint. */
export async function ambientIdentityToken(env = process.env): Promise<string | undefined> {
  if (env.SIGSTORE_ID_TOKEN) return env.SIGSTORE_ID_TOKEN;
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer) return undefined;
  const res = await fetch(`${url}&audience=sigstore`, { headers: { authorization: `bearer ${bearer}` } });
  if (!res.ok) throw new VnfpipeError('TRUST_SIGN_FAILED', `the OIDC token request answered ${res.status}`);
  return ((await res.json()) as { value?: string }).value;
}

export async function signKeyless(ref: string, options: KeylessOptions): Promise<KeylessSigned> {
  return withSubject(ref, options.client ?? {}, async (client, parsed, subject) => {
    const payload = simpleSigningPayload(`${parsed.registry}/${parsed.repository}`, subject.digest);
    const signer = new FulcioSigner({
      identityProvider: { getToken: async () => options.identityToken },
      fulcioBaseURL: options.fulcioURL ?? 'https://fulcio.sigstore.dev',
    });
    const witness = new RekorWitness({ rekorBaseURL: options.rekorURL ?? 'https://rekor.sigstore.dev' });
    const bundle = await new MessageSignatureBundleBuilder({ signer, witnesses: [witness] })
      .create({ data: payload })
      .catch((error: Error) => {
        // @sigstore/sign quotes a refused token in its message: the token is a credential.
        const redact = (text: string) => text.split(options.identityToken).join('***');
        const cause = (error as { cause?: Error }).cause;
        throw new VnfpipeError(
          'TRUST_SIGN_FAILED',
          `keyless signing failed: ${redact(error.message)}${cause ? ` (${redact(cause.message)})` : ''}`,
          { where: `${parsed.registry}/${parsed.repository}@${subject.digest}` },
        );
      });
    if (!isBundleWithMessageSignature(bundle)) throw new Error('unexpected bundle content');
    const material = bundle.verificationMaterial.content;
    const annotations: Record<string, string> = {};
    if (material.$case === 'x509CertificateChain') {
      const [leaf, ...chain] = material.x509CertificateChain.certificates;
      if (leaf) annotations[CERTIFICATE_ANNOTATION] = derToPem(leaf.rawBytes);
      if (chain.length) annotations[CHAIN_ANNOTATION] = chain.map((c) => derToPem(c.rawBytes)).join('');
    } else if (material.$case === 'certificate') {
      annotations[CERTIFICATE_ANNOTATION] = derToPem(material.certificate.rawBytes);
    }
    await addSignature(
      client,
      parsed.repository,
      subject.digest,
      payload,
      bundle.content.messageSignature.signature,
      annotations,
    );
    await attachBundle(client, parsed.repository, subject, bundle, {
      [BUNDLE_CONTENT_ANNOTATION]: 'message-signature',
    });
    return {
      reference: `${parsed.registry}/${parsed.repository}@${subject.digest}`,
      digest: subject.digest,
      bundle,
    };
  });
}

export interface KeylessPolicy {
  /** The trusted root (Sigstore's `trusted_root.json`, or a private deployment's). */
  trustedRoot: TrustedRoot | string;
  /** The certificate's subject alternative name (an e-mail, or a workflow URI). */
  identity: string;
  /** The OIDC issuer recorded in the certificate. */
  issuer: string;
  client?: ClientOptions;
}

function loadTrustedRoot(root: TrustedRoot | string): TrustedRoot {
  if (typeof root !== 'string') return root;
  try {
    // The protobuf JSON mapping; @sigstore/protobuf-specs decodes it.
    return TrustedRoot.fromJSON(JSON.parse(readFileSync(root, 'utf8')));
  } catch (error) {
    throw new VnfpipeError('USAGE', 'cannot read the trusted root', { where: root, cause: error });
  }
}

/** Verifies a keyless signature bundle of `ref` against the trusted root and the expected identity. */
export async function verifyKeyless(
  ref: string,
  policy: KeylessPolicy,
): Promise<{ reference: string; digest: Digest }> {
  return withSubject(ref, policy.client ?? {}, async (client, parsed, subject) => {
    const where = `${parsed.registry}/${parsed.repository}@${subject.digest}`;
    const payload = simpleSigningPayload(`${parsed.registry}/${parsed.repository}`, subject.digest);
    const verifier = new Verifier(toTrustMaterial(loadTrustedRoot(policy.trustedRoot)));
    const reasons: string[] = [];
    for (const { bundle } of await readBundles(client, parsed.repository, subject.digest)) {
      if (!isBundleWithMessageSignature(bundle)) continue;
      try {
        verifier.verify(toSignedEntity(bundle, payload), {
          subjectAlternativeName: policy.identity,
          extensions: { issuer: policy.issuer },
        });
        return { reference: where, digest: subject.digest };
      } catch (error) {
        reasons.push((error as Error).message);
      }
    }
    throw new VnfpipeError(
      'TRUST_VERIFY_FAILED',
      reasons.length
        ? `no keyless signature verifies for ${policy.identity} (${policy.issuer}): ${[...new Set(reasons)].join('; ')}`
        : 'the image has no Sigstore signature bundle',
      { where },
    );
  });
}
