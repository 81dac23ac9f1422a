import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import type { Digest } from '../../src/oci/digest.js';
import { parseReference } from '../../src/oci/reference.js';
import { RegistryClient } from '../../src/registry/client.js';
import { copyImage } from '../../src/registry/copy.js';
import { listReferrers } from '../../src/registry/referrers.js';
import { PredicateType, slsaProvenance } from '../../src/trust/attest.js';
import { BUNDLE_V03_MEDIA_TYPE, readBundles } from '../../src/trust/bundle.js';
import {
  readSignatures,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  signatureTag,
  simpleSigningPayload,
} from '../../src/trust/cosign.js';
import { generateKeys, loadPrivateKey } from '../../src/trust/keys.js';
import { attestReference, signReference } from '../../src/trust/sign.js';
import { verifyImage } from '../../src/trust/verify.js';
import { layoutDigest, makeBaseLayout } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

/** @sigstore/verify with one trusted key and no transparency log or timestamp requirements. */
function keyVerifier(publicKey: KeyObject): Verifier {
  const empty = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
  return new Verifier(
    toTrustMaterial(empty as never, () => ({ publicKey, validFor: () => true })),
    {
      tlogThreshold: 0,
      ctlogThreshold: 0,
      timestampThreshold: 0,
    },
  );
}

function openssl(args: string[]): { ok: boolean; output: string } {
  try {
    return { ok: true, output: execFileSync('openssl', args, { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

async function failure(promise: Promise<unknown>): Promise<VnfpipeError> {
  try {
    await promise;
  } catch (error) {
    return error as VnfpipeError;
  }
  throw new Error('expected a failure');
}

describe('cosign-format signatures and attestations in a registry (distribution 2.8)', () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  let tmp: string;
  let image: Digest;
  const keys = generateKeys('pw');
  const key = loadPrivateKey(keys.privateKeyPem, 'pw');
  const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-trust-'));
    registry = await startRegistry();
    client = new RegistryClient(registry.host);
    const layout = makeBaseLayout(join(tmp, 'base'));
    image = layoutDigest(layout, 'latest') as Digest;
    await copyImage(parseReference(`oci:${layout}:latest`), parseReference(`${registry.host}/vnf/fw:1`));
    writeFileSync(join(tmp, 'cosign.pub'), keys.publicKeyPem);
    writeFileSync(join(tmp, 'other.pub'), other.publicKey.export({ format: 'pem', type: 'spki' }));
  });
  afterAll(async () => {
    client?.close();
    await registry?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('signs into the sha256-<hex>.sig tag; openssl verifies the payload bytes fetched from the registry', async () => {
    const signed = await signReference(`${registry.host}/vnf/fw:1`, key);
    expect(signed.reference).toBe(`${registry.host}/vnf/fw@${image}`);
    expect(signed.tag).toBe(`sha256-${image.slice(7)}.sig`);
    expect(await client.listTags('vnf/fw')).toContain(signatureTag(image));

    const manifest = JSON.parse((await client.getManifest('vnf/fw', signed.tag)).bytes.toString('utf8'));
    expect(manifest.layers).toHaveLength(1);
    const layer = manifest.layers[0];
    expect(layer.mediaType).toBe(SIMPLE_SIGNING_MEDIA_TYPE);
    const res = await client.fetchBlob('vnf/fw', layer.digest);
    const payload = await res.bytes();
    expect(JSON.parse(payload.toString('utf8'))).toEqual({
      critical: {
        identity: { 'docker-reference': `${registry.host}/vnf/fw` },
        image: { 'docker-manifest-digest': image },
        type: 'cosign container image signature',
      },
      optional: null,
    });
    writeFileSync(join(tmp, 'payload.json'), payload);
    writeFileSync(join(tmp, 'payload.sig'), Buffer.from(layer.annotations[SIGNATURE_ANNOTATION], 'base64'));

    const good = openssl([
      'dgst',
      '-sha256',
      '-verify',
      join(tmp, 'cosign.pub'),
      '-signature',
      join(tmp, 'payload.sig'),
      join(tmp, 'payload.json'),
    ]);
    expect(good.output).toContain('Verified OK');
    expect(good.ok).toBe(true);

    const otherKey = openssl([
      'dgst',
      '-sha256',
      '-verify',
      join(tmp, 'other.pub'),
      '-signature',
      join(tmp, 'payload.sig'),
      join(tmp, 'payload.json'),
    ]);
    expect(otherKey.ok).toBe(false);
    expect(otherKey.output).toContain('Verification failure');

    writeFileSync(join(tmp, 'changed.json'), Buffer.concat([payload, Buffer.from(' ')]));
    const changed = openssl([
      'dgst',
      '-sha256',
      '-verify',
      join(tmp, 'cosign.pub'),
      '-signature',
      join(tmp, 'payload.sig'),
      join(tmp, 'changed.json'),
    ]);
    expect(changed.ok).toBe(false);

    // The same signature as a Sigstore bundle, listed through the referrers fallback tag.
    const { referrers, source } = await listReferrers(client, 'vnf/fw', image, {
      artifactType: BUNDLE_V03_MEDIA_TYPE,
    });
    expect(source).toBe('tag');
    expect(referrers.map((r) => r.digest)).toContain(signed.bundle.digest);
    const bundles = await readBundles(client, 'vnf/fw', image);
    expect(bundles[0]?.bundle.content.$case).toBe('messageSignature');
  });

  it('the attached Sigstore bundles verify with @sigstore/verify (an independent verifier)', async () => {
    const verifierFor = keyVerifier;
    const payload = simpleSigningPayload(`${registry.host}/vnf/fw`, image);
    const bundles = await readBundles(client, 'vnf/fw', image);
    const message = bundles.find((b) => b.bundle.content.$case === 'messageSignature')!.bundle;
    expect(() =>
      verifierFor(createPublicKey(keys.publicKeyPem)).verify(toSignedEntity(message, payload)),
    ).not.toThrow();
    expect(() => verifierFor(other.publicKey).verify(toSignedEntity(message, payload))).toThrow();
    expect(() =>
      verifierFor(createPublicKey(keys.publicKeyPem)).verify(
        toSignedEntity(message, Buffer.from('other payload')),
      ),
    ).toThrow();
  });

  it('verifies the signed image, and refuses another key', async () => {
    const verified = await verifyImage(`${registry.host}/vnf/fw:1`, { key: keys.publicKeyPem });
    expect(verified).toMatchObject({
      digest: image,
      reference: `${registry.host}/vnf/fw@${image}`,
      signatures: 1,
    });

    const wrong = await failure(verifyImage(`${registry.host}/vnf/fw:1`, { key: other.publicKey }));
    expect(wrong).toBeInstanceOf(VnfpipeError);
    expect(wrong.code).toBe('TRUST_VERIFY_FAILED');
    expect(wrong.exitCode).toBe(1);
    expect(wrong.message).toContain('no signature verifies with the key');
  });

  it('a second signature keeps the first', async () => {
    await signReference(`${registry.host}/vnf/fw@${image}`, other.privateKey);
    const all = await readSignatures(client, 'vnf/fw', image);
    expect(all).toHaveLength(2);
    expect((await verifyImage(`${registry.host}/vnf/fw:1`, { key: other.publicKey })).signatures).toBe(1);
    expect((await verifyImage(`${registry.host}/vnf/fw:1`, { key: keys.publicKeyPem })).signatures).toBe(1);
  });

  it('an unsigned image is refused with the reason', async () => {
    // A different image: the base with another config is a different digest, hence unsigned.
    const layout = makeBaseLayout(join(tmp, 'unsigned'));
    execFileSync(
      'umoci',
      ['config', '--image', `${layout}:latest`, '--config.env', 'X=1', '--tag', 'latest'],
      { stdio: 'pipe' },
    );
    await copyImage(
      parseReference(`oci:${layout}:latest`),
      parseReference(`${registry.host}/vnf/fw:unsigned`),
    );
    const refused = await failure(
      verifyImage(`${registry.host}/vnf/fw:unsigned`, { key: keys.publicKeyPem }),
    );
    expect(refused.code).toBe('TRUST_VERIFY_FAILED');
    expect(refused.message).toMatch(/not signed/);
  });

  it('requires attestations signed by the key, about this digest', async () => {
    const missing = await failure(
      verifyImage(`${registry.host}/vnf/fw:1`, {
        key: keys.publicKeyPem,
        attestations: ['slsaprovenance', 'cyclonedx'],
      }),
    );
    expect(missing.message).toBe('missing verified attestations: slsaprovenance, cyclonedx');

    const provenance = slsaProvenance({
      builderId: 'https://example.test/vnfpipe',
      pipeline: { path: 'vnfpipe.config.ts', digest: `sha256:${'a'.repeat(64)}` },
      baseImage: { reference: 'docker.io/library/busybox', digest: image },
      startedOn: new Date('2026-01-01T00:00:00Z'),
      finishedOn: new Date('2026-01-01T00:01:00Z'),
    });
    await attestReference(`${registry.host}/vnf/fw:1`, PredicateType.slsaprovenance, provenance, key);
    // A CycloneDX attestation signed by another key does not count.
    await attestReference(
      `${registry.host}/vnf/fw:1`,
      PredicateType.cyclonedx,
      { bomFormat: 'CycloneDX' },
      other.privateKey,
    );
    const stillMissing = await failure(
      verifyImage(`${registry.host}/vnf/fw:1`, {
        key: keys.publicKeyPem,
        attestations: ['slsaprovenance', 'cyclonedx'],
      }),
    );
    expect(stillMissing.message).toBe('missing verified attestation: cyclonedx');

    await attestReference(
      `${registry.host}/vnf/fw:1`,
      PredicateType.cyclonedx,
      { bomFormat: 'CycloneDX' },
      key,
    );
    const verified = await verifyImage(`${registry.host}/vnf/fw:1`, {
      key: keys.publicKeyPem,
      attestations: ['slsaprovenance', 'cyclonedx'],
    });
    expect(verified.attestations).toEqual({
      [PredicateType.slsaprovenance]: 1,
      [PredicateType.cyclonedx]: 1,
    });

    // The DSSE bundles verify with @sigstore/verify too (it computes the PAE itself).
    const dsse = (await readBundles(client, 'vnf/fw', image)).filter(
      (b) => b.bundle.content.$case === 'dsseEnvelope',
    );
    const mine = dsse.filter((b) => {
      try {
        keyVerifier(createPublicKey(keys.publicKeyPem)).verify(toSignedEntity(b.bundle));
        return true;
      } catch {
        return false;
      }
    });
    expect(dsse).toHaveLength(3);
    expect(mine).toHaveLength(2);
    const envelopes = (await readBundles(client, 'vnf/fw', image)).filter(
      (b) => b.bundle.content.$case === 'dsseEnvelope',
    );
    const statements = envelopes.map((b) =>
      b.bundle.content.$case === 'dsseEnvelope'
        ? JSON.parse(b.bundle.content.dsseEnvelope.payload.toString('utf8'))
        : undefined,
    );
    const slsa = statements.find((s) => s.predicateType === PredicateType.slsaprovenance);
    expect(slsa.subject).toEqual([{ name: `${registry.host}/vnf/fw`, digest: { sha256: image.slice(7) } }]);
    expect(slsa.predicate.buildDefinition.resolvedDependencies).toContainEqual({
      uri: 'oci://docker.io/library/busybox',
      name: 'base-image',
      digest: { sha256: image.slice(7) },
    });
  });

  it('attestations attached at once are all listed (the fallback index is updated one at a time)', async () => {
    const layout = makeBaseLayout(join(tmp, 'many'));
    execFileSync(
      'umoci',
      ['config', '--image', `${layout}:latest`, '--config.env', 'X=2', '--tag', 'latest'],
      {
        stdio: 'pipe',
      },
    );
    await copyImage(parseReference(`oci:${layout}:latest`), parseReference(`${registry.host}/vnf/fw:many`));
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((n) =>
        attestReference(`${registry.host}/vnf/fw:many`, `https://example.test/predicate/${n}`, { n }, key),
      ),
    );
    const subject = results[0]!.reference.split('@')[1] as Digest;
    const { referrers } = await listReferrers(client, 'vnf/fw', subject);
    expect(referrers.map((r) => r.digest).sort()).toEqual(results.map((r) => r.referrer.digest).sort());
  });
});
