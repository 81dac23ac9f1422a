import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactLsCommand, artifactPullCommand, artifactPushCommand } from '../../src/cli/registry.js';
import { parseReference } from '../../src/oci/reference.js';
import { pullArtifact, pushArtifact, resolveDescriptor } from '../../src/registry/artifact.js';
import { RegistryClient } from '../../src/registry/client.js';
import { copyImage } from '../../src/registry/copy.js';
import { listReferrers, referrersTag } from '../../src/registry/referrers.js';
import { capture } from '../support/capture.js';
import { layoutDigest, makeBaseLayout } from '../support/images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

describe('artifacts and referrers on distribution 2.8 (tag-schema fallback)', () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  let tmp: string;
  let image: string;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-reg-artifact-'));
    registry = await startRegistry();
    client = new RegistryClient(registry.host);
    const layout = makeBaseLayout(join(tmp, 'base'));
    image = layoutDigest(layout, 'latest');
    await copyImage(parseReference(`oci:${layout}:latest`), parseReference(`${registry.host}/vnf/app:1`));
    writeFileSync(join(tmp, 'sbom.cdx.json'), JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.5' }));
    writeFileSync(join(tmp, 'report.sarif'), JSON.stringify({ version: '2.1.0', runs: [] }));
  });
  afterAll(async () => {
    client?.close();
    await registry?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('attaches artifacts to an image and lists them as referrers through the fallback tag', async () => {
    const subject = await resolveDescriptor(client, 'vnf/app', '1');
    expect(subject.digest).toBe(image);
    const sbom = await pushArtifact(client, {
      repository: 'vnf/app',
      artifactType: 'application/vnd.cyclonedx+json',
      files: [{ path: join(tmp, 'sbom.cdx.json'), mediaType: 'application/vnd.cyclonedx+json' }],
      subject,
      annotations: { 'org.opencontainers.image.created': '2020-01-01T00:00:00Z' },
    });
    const report = await pushArtifact(client, {
      repository: 'vnf/app',
      artifactType: 'application/sarif+json',
      files: [{ path: join(tmp, 'report.sarif') }],
      subject,
    });
    // distribution 2.8 has no referrers API: the fallback index is tagged sha256-<hex>.
    expect(await client.referrersApi('vnf/app', subject.digest)).toBeUndefined();
    expect(await client.listTags('vnf/app')).toContain(referrersTag(subject.digest));

    const all = await listReferrers(client, 'vnf/app', subject.digest);
    expect(all.source).toBe('tag');
    expect(all.referrers.map((r) => r.digest).sort()).toEqual(
      [sbom.descriptor.digest, report.descriptor.digest].sort(),
    );
    const onlySbom = await listReferrers(client, 'vnf/app', subject.digest, {
      artifactType: 'application/vnd.cyclonedx+json',
    });
    expect(onlySbom.referrers).toHaveLength(1);
    expect(onlySbom.referrers[0]).toMatchObject({
      digest: sbom.descriptor.digest,
      artifactType: 'application/vnd.cyclonedx+json',
    });
    expect(onlySbom.referrers[0]?.annotations?.['org.opencontainers.image.created']).toBe(
      '2020-01-01T00:00:00Z',
    );

    const out = join(tmp, 'out');
    mkdirSync(out);
    // A pull killed midway left its temp file; the next pull removes it.
    const orphan = join(out, `.sbom.cdx.json.vnfpipe-${spawnSync('true').pid}.tmp`);
    writeFileSync(orphan, 'partial');
    const pulled = await pullArtifact(client, 'vnf/app', sbom.descriptor.digest, out);
    expect(pulled.artifactType).toBe('application/vnd.cyclonedx+json');
    expect(readFileSync(join(out, 'sbom.cdx.json'), 'utf8')).toContain('CycloneDX');
    expect(readdirSync(out)).toEqual(['sbom.cdx.json']);
  });

  it('does the same through the CLI functions', async () => {
    const pushed = await capture(() =>
      artifactPushCommand(`${registry.host}/vnf/app`, [join(tmp, 'report.sarif')], {
        artifactType: 'application/vnd.vnfpipe.verify+json',
        subject: '1',
        annotation: ['purpose=verify'],
      }),
    );
    expect(pushed.err).toBe('');
    expect(pushed.code).toBe(0);
    const reference = pushed.out.trim();
    expect(reference).toMatch(new RegExp(`^${registry.host}/vnf/app@sha256:`));
    const ls = await capture(() =>
      artifactLsCommand(`${registry.host}/vnf/app:1`, {
        artifactType: 'application/vnd.vnfpipe.verify+json',
        json: true,
      }),
    );
    expect(ls.code).toBe(0);
    const listed = JSON.parse(ls.out) as {
      subject: string;
      referrers: Array<{ digest: string; annotations: Record<string, string> }>;
    };
    expect(listed.subject).toBe(image);
    expect(listed.referrers.map((r) => `${registry.host}/vnf/app@${r.digest}`)).toEqual([reference]);
    expect(listed.referrers[0]?.annotations.purpose).toBe('verify');
    const out = join(tmp, 'cli-out');
    mkdirSync(out);
    const pull = await capture(() => artifactPullCommand(reference, { output: out }));
    expect(pull.code).toBe(0);
    expect(readFileSync(join(out, 'report.sarif'), 'utf8')).toContain('2.1.0');
  });
});
