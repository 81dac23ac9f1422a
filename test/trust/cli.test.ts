import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseReference } from '../../src/oci/reference.js';
import { copyImage } from '../../src/registry/copy.js';
import { layoutDigest, makeBaseLayout } from '../support/images.js';
import { makeProject, type Project } from '../support/project.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

// Spawns bin/vnfpipe.js: run `npm run build` first.
describe('vnfpipe keygen, sign, attest, verify-image', () => {
  let registry: TestRegistry;
  let project: Project;
  let ref: string;
  let digest: string;
  const env = { COSIGN_PASSWORD: 'correct horse' };

  beforeAll(async () => {
    registry = await startRegistry();
    project = makeProject();
    const layout = makeBaseLayout(join(project.dir, 'base'));
    digest = layoutDigest(layout, 'latest');
    ref = `${registry.host}/vnf/cli:1`;
    await copyImage(parseReference(`oci:${layout}:latest`), parseReference(ref));
  });
  afterAll(async () => {
    await registry?.stop();
    if (project) rmSync(project.dir, { recursive: true, force: true });
  });

  it('keygen writes an encrypted key (0600) and a public key, and will not overwrite them', async () => {
    const made = await project.cli(['keygen'], { env });
    expect(made.code, made.stderr).toBe(0);
    expect(readFileSync(join(project.dir, 'cosign.key'), 'utf8')).toContain('ENCRYPTED SIGSTORE PRIVATE KEY');
    expect(statSync(join(project.dir, 'cosign.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(project.dir, 'cosign.pub'), 'utf8')).toContain('BEGIN PUBLIC KEY');
    const again = await project.cli(['keygen'], { env });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('pass --force');
    const other = await project.cli(['keygen', '--output-key-prefix', 'other'], { env });
    expect(other.code).toBe(0);
  });

  it('signs, verifies (0), refuses another key (1) and missing attestations (1), then attests', async () => {
    const wrongPassword = await project.cli(['sign', ref, '--key', 'cosign.key'], {
      env: { COSIGN_PASSWORD: 'not-the-password' },
    });
    expect(wrongPassword.code).toBe(2);
    expect(wrongPassword.stderr).toContain('wrong password');
    expect(wrongPassword.stderr).not.toContain('not-the-password');

    const signed = await project.cli(['sign', ref, '--key', 'cosign.key', '--json'], { env });
    expect(signed.code, signed.stderr).toBe(0);
    expect(JSON.parse(signed.stdout)).toMatchObject({
      reference: `${registry.host}/vnf/cli@${digest}`,
      signatureTag: `sha256-${digest.slice(7)}.sig`,
      signatures: 1,
    });

    const ok = await project.cli(['verify-image', ref, '--key', 'cosign.pub']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`verified ${registry.host}/vnf/cli@${digest}: 1 signature`);

    const wrongKey = await project.cli(['verify-image', ref, '--key', 'other.pub']);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain('no signature verifies with the key');

    const unattested = await project.cli([
      'verify-image',
      ref,
      '--key',
      'cosign.pub',
      '--attestation',
      'slsaprovenance',
    ]);
    expect(unattested.code).toBe(1);
    expect(unattested.stderr).toContain('missing verified attestation: slsaprovenance');

    project.write(
      'sbom.cdx.json',
      JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5', components: [] }),
    );
    const attested = await project.cli(
      ['attest', ref, '--predicate', 'sbom.cdx.json', '--type', 'cyclonedx', '--key', 'cosign.key'],
      { env },
    );
    expect(attested.code, attested.stderr).toBe(0);
    const withSbom = await project.cli([
      'verify-image',
      ref,
      '--key',
      'cosign.pub',
      '--attestation',
      'cyclonedx',
    ]);
    expect(withSbom.code, withSbom.stderr).toBe(0);
  });

  it('bad input exits 2', async () => {
    writeFileSync(join(project.dir, 'p.json'), '{}');
    const badType = await project.cli(
      ['attest', ref, '--predicate', 'p.json', '--type', 'spdx', '--key', 'cosign.key'],
      { env },
    );
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('unknown --type spdx');
    const noKey = await project.cli(['verify-image', ref, '--key', 'missing.pub']);
    expect(noKey.code).toBe(2);
    const notKey = await project.cli(['verify-image', ref, '--key', 'p.json']);
    expect(notKey.code).toBe(2);
    const neither = await project.cli(['sign', ref]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('either --key or --keyless');
    const noRoot = await project.cli([
      'verify-image',
      ref,
      '--certificate-identity',
      'a@example.test',
      '--certificate-oidc-issuer',
      'https://issuer.example.test',
    ]);
    expect(noRoot.code).toBe(2);
    expect(noRoot.stderr).toContain('--trusted-root');
    const noToken = await project.cli(['sign', ref, '--keyless'], { env: { SIGSTORE_ID_TOKEN: '' } });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('OIDC identity token');
  });
});
