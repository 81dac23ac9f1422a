import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import { image } from '../../src/image/step.js';
import type { Digest } from '../../src/oci/digest.js';
import { definePipeline } from '../../src/pipeline/define.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { secret } from '../../src/pipeline/secret.js';
import { RegistryClient } from '../../src/registry/client.js';
import { push } from '../../src/registry/step.js';
import { PredicateType } from '../../src/trust/attest.js';
import { readBundles } from '../../src/trust/bundle.js';
import { generateKeys } from '../../src/trust/keys.js';
import { type AttestedImage, attest, type SignedImageRef, sign } from '../../src/trust/step.js';
import { verifyImage } from '../../src/trust/verify.js';
import { layoutDigest, makeBaseLayout } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

describe('sign and attest steps after push', () => {
  let registry: TestRegistry;
  let tmp: string;
  let baseDigest: string;
  const keys = generateKeys('step-pass');

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-trust-step-'));
    registry = await startRegistry();
    const base = makeBaseLayout(join(tmp, 'base'));
    baseDigest = layoutDigest(base, 'latest');
    writeFileSync(join(tmp, 'cosign.key'), keys.privateKeyPem);
    writeFileSync(join(tmp, 'vnfpipe.config.ts'), '// the pipeline file the provenance names\n');
    writeFileSync(join(tmp, 'rules.conf'), 'allow udp 5000\n');
    writeFileSync(
      join(tmp, 'sbom.cdx.json'),
      JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [{ name: 'busybox' }] }),
    );
  });
  afterAll(async () => {
    await registry?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('signs and attests the pushed digest; provenance names the real base digest', async () => {
    const pipeline = definePipeline('trust-steps', (p) => {
      const built = p.step(
        'image',
        image.build({
          from: `oci:${join(tmp, 'base')}:latest`,
          layers: [image.content({ '/etc/vfw': 'x' })],
        }),
      );
      const pushed = p.step('push', push({ image: built.out, to: `${registry.host}/vnf/steps:1` }));
      const key = { key: 'cosign.key', password: secret('SIGNING_PASSWORD') };
      p.step('sign', sign({ image: pushed.out, ...key }));
      p.step(
        'attest',
        attest({
          image: pushed.out,
          ...key,
          sbom: 'sbom.cdx.json',
          provenance: { materials: ['rules.conf'] },
        }),
      );
    });
    const result = await runPipeline(pipeline, {
      cwd: tmp,
      concurrency: 2,
      env: { ...process.env, SIGNING_PASSWORD: 'step-pass' },
    });
    expect(result.status, JSON.stringify(result)).toBe('ok');
    const signed = result.outputs.sign as SignedImageRef;
    const attested = result.outputs.attest as AttestedImage;
    const digest = signed.digest as Digest;
    expect(attested.digest).toBe(digest);
    expect(signed.ref).toBe(`${registry.host}/vnf/steps@${digest}`);
    expect(attested.attestations.map((a) => a.predicateType)).toEqual([
      PredicateType.slsaprovenance,
      PredicateType.cyclonedx,
    ]);

    const verified = await verifyImage(`${registry.host}/vnf/steps:1`, {
      key: keys.publicKeyPem,
      attestations: ['slsaprovenance', 'cyclonedx'],
    });
    expect(verified.digest).toBe(digest);

    const client = new RegistryClient(registry.host);
    try {
      const statements = (await readBundles(client, 'vnf/steps', digest)).flatMap((b) =>
        b.bundle.content.$case === 'dsseEnvelope'
          ? [JSON.parse(b.bundle.content.dsseEnvelope.payload.toString('utf8'))]
          : [],
      );
      const slsa = statements.find((s) => s.predicateType === PredicateType.slsaprovenance);
      const deps = slsa.predicate.buildDefinition.resolvedDependencies;
      expect(deps).toContainEqual(
        expect.objectContaining({ name: 'base-image', digest: { sha256: baseDigest.slice(7) } }),
      );
      expect(deps).toContainEqual({
        name: 'rules.conf',
        digest: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      });
      expect(slsa.predicate.buildDefinition.externalParameters.pipeline.path).toBe('vnfpipe.config.ts');
      const meta = slsa.predicate.runDetails.metadata;
      expect(Date.parse(meta.startedOn)).toBeLessThanOrEqual(Date.parse(meta.finishedOn));
      const sbom = statements.find((s) => s.predicateType === PredicateType.cyclonedx);
      expect(sbom.predicate.components).toEqual([{ name: 'busybox' }]);
    } finally {
      client.close();
    }
  });

  it('a key and password from secrets never reach the journal or the logs', async () => {
    const secretKeys = generateKeys('journal-pass-123');
    const pipeline = definePipeline('trust-secrets', (p) => {
      const built = p.step('image', async () => ({ ref: `${registry.host}/vnf/steps:1`, digest: '' }), {
        stage: 'build',
      });
      p.step('sign', sign({ image: built.out, key: secret('COSIGN_KEY'), password: secret('COSIGN_PW') }));
    });
    const lines: string[] = [];
    const result = await runPipeline(pipeline, {
      cwd: tmp,
      env: { ...process.env, COSIGN_KEY: secretKeys.privateKeyPem, COSIGN_PW: 'journal-pass-123' },
      onEvent: (e) => lines.push(JSON.stringify(e)),
    });
    expect(result.status).toBe('ok');
    const journal = listFiles(join(tmp, '.vnfpipe', 'runs'))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const body = secretKeys.privateKeyPem.split('\n')[1]!;
    for (const text of [journal, lines.join('\n')]) {
      expect(text).toContain('signed');
      expect(text).not.toContain('journal-pass-123');
      expect(text).not.toContain(body);
    }
  });

  it('validates options at plan time', () => {
    const spec = sign({ image: 'x', key: '' });
    expect(() => spec.validate?.(spec.options)).toThrow(VnfpipeError);
    const nothing = attest({ image: 'x', key: 'k', provenance: false });
    expect(() => nothing.validate?.(nothing.options)).toThrow(/nothing to attest/);
  });
});

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}
