import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fulcioHandler,
  type HandlerFn,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  rekorHandler,
} from '@sigstore/mock';
import { HashAlgorithm, PublicKeyDetails, TrustedRoot } from '@sigstore/protobuf-specs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VnfpipeError } from '../../src/errors.js';
import { parseReference } from '../../src/oci/reference.js';
import { RegistryClient } from '../../src/registry/client.js';
import { copyImage } from '../../src/registry/copy.js';
import { readSignatures } from '../../src/trust/cosign.js';
import { CERTIFICATE_ANNOTATION, signKeyless, verifyKeyless } from '../../src/trust/keyless.js';
import { verifyImage } from '../../src/trust/verify.js';
import { layoutDigest, makeBaseLayout } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const ISSUER = 'https://token.actions.example.test';
const IDENTITY = 'release-bot@example.test';

/** An unsigned JWT: the mock Fulcio decodes the claims without checking a signature. */
function identityToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.sig`;
}

/** Serves @sigstore/mock's Fulcio and Rekor handlers on loopback. */
async function serve(routes: Record<string, HandlerFn>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const handler = routes[req.url ?? ''];
      if (!handler || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      const out = await handler(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(out.statusCode, { 'content-type': out.contentType ?? 'text/plain' });
      res.end(typeof out.response === 'string' ? out.response : Buffer.from(out.response.buffer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('keyless signing against @sigstore/mock', () => {
  let registry: TestRegistry;
  let tmp: string;
  let sigstore: { server: Server; url: string };
  let trustedRoot: TrustedRoot;
  let digest: string;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-keyless-'));
    registry = await startRegistry();
    const layout = makeBaseLayout(join(tmp, 'base'));
    digest = layoutDigest(layout, 'latest');
    await copyImage(parseReference(`oci:${layout}:latest`), parseReference(`${registry.host}/vnf/kl:1`));

    const caKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const tlogKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const ctlog = await initializeCTLog(caKeys);
    const ca = await initializeCA(caKeys, ctlog);
    const fulcio = fulcioHandler(ca);
    // The Rekor mock needs its URL before the server exists: routes are filled in after listening.
    const routes: Record<string, HandlerFn> = {};
    sigstore = await serve(routes);
    const tlog = await initializeTLog(sigstore.url, tlogKeys);
    const rekor = rekorHandler(tlog);
    routes[fulcio.path] = fulcio.fn;
    routes[rekor.path] = rekor.fn;

    const since = { start: new Date(Date.now() - 3600_000), end: undefined };
    trustedRoot = {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [
        {
          baseUrl: sigstore.url,
          hashAlgorithm: HashAlgorithm.SHA2_256,
          publicKey: {
            rawBytes: tlog.publicKey,
            keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
            validFor: since,
          },
          logId: { keyId: createHash('sha256').update(tlog.publicKey).digest() },
          checkpointKeyId: undefined,
          operator: 'mock',
        },
      ],
      certificateAuthorities: [
        {
          subject: { organization: 'mock', commonName: 'mock' },
          uri: sigstore.url,
          certChain: { certificates: [{ rawBytes: Buffer.from(ca.rootCertificate.buffer) }] },
          validFor: since,
          operator: 'mock',
        },
      ],
      ctlogs: [
        {
          baseUrl: sigstore.url,
          hashAlgorithm: HashAlgorithm.SHA2_256,
          publicKey: {
            rawBytes: ctlog.publicKey,
            keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
            validFor: since,
          },
          logId: { keyId: Buffer.from(ctlog.logID.buffer) },
          checkpointKeyId: undefined,
          operator: 'mock',
        },
      ],
      timestampAuthorities: [],
    };
  });
  afterAll(async () => {
    sigstore?.server.close();
    await registry?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('signs with a Fulcio certificate and a Rekor entry, and verifies the identity', async () => {
    const ref = `${registry.host}/vnf/kl:1`;
    const signed = await signKeyless(ref, {
      identityToken: identityToken({ sub: IDENTITY, iss: ISSUER, email: IDENTITY, email_verified: true }),
      fulcioURL: sigstore.url,
      rekorURL: sigstore.url,
    });
    expect(signed.digest).toBe(digest);
    expect(signed.bundle.verificationMaterial.tlogEntries).toHaveLength(1);

    const client = new RegistryClient(registry.host);
    try {
      const [sig] = await readSignatures(client, 'vnf/kl', signed.digest);
      expect(sig?.layer.annotations?.[CERTIFICATE_ANNOTATION]).toContain('BEGIN CERTIFICATE');
    } finally {
      client.close();
    }

    const ok = await verifyKeyless(ref, { trustedRoot, identity: IDENTITY, issuer: ISSUER });
    expect(ok.digest).toBe(digest);
    // The same through verifyImage, with the trusted root as a trusted_root.json file.
    const rootFile = join(tmp, 'trusted_root.json');
    writeFileSync(rootFile, JSON.stringify(TrustedRoot.toJSON(trustedRoot)));
    const viaPolicy = await verifyImage(ref, {
      keyless: { trustedRoot: rootFile, identity: IDENTITY, issuer: ISSUER },
    });
    expect(viaPolicy.reference).toBe(`${registry.host}/vnf/kl@${digest}`);
    const wrongIssuer = await verifyImage(ref, {
      keyless: { trustedRoot: rootFile, identity: IDENTITY, issuer: 'https://other.example.test' },
    }).catch((e: VnfpipeError) => e);
    expect((wrongIssuer as VnfpipeError).code).toBe('TRUST_VERIFY_FAILED');

    const wrongIdentity = await verifyKeyless(ref, {
      trustedRoot,
      identity: 'mallory@example.test',
      issuer: ISSUER,
    }).catch((e: VnfpipeError) => e);
    expect((wrongIdentity as VnfpipeError).code).toBe('TRUST_VERIFY_FAILED');

    const otherRoot = { ...trustedRoot, certificateAuthorities: [] };
    const untrusted = await verifyKeyless(ref, {
      trustedRoot: otherRoot,
      identity: IDENTITY,
      issuer: ISSUER,
    }).catch((e: VnfpipeError) => e);
    expect((untrusted as VnfpipeError).code).toBe('TRUST_VERIFY_FAILED');
  });

  it('a refused identity token fails typed, and the token is not in the message', async () => {
    const token = identityToken({ sub: IDENTITY, iss: ISSUER, email: IDENTITY, email_verified: false });
    const error = (await signKeyless(`${registry.host}/vnf/kl:1`, {
      identityToken: token,
      fulcioURL: sigstore.url,
      rekorURL: sigstore.url,
    }).catch((e: VnfpipeError) => e)) as VnfpipeError;
    expect(error.code).toBe('TRUST_SIGN_FAILED');
    expect(error.message).toContain('email not verified');
    expect(error.describe()).not.toContain(token);
  });
});
