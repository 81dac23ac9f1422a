/**
 * Air-gapped release bundles end to end, on real components: a multi-platform image built natively, pushed
 * by a pipeline's push step to a "build" docker-registry, signed (cosign `.sig` tag plus a Sigstore bundle
 * referrer) and attested (a DSSE referrer) is bundled with the pipeline's rendered files; the build registry is then stopped, so what
 * follows works from the bundle alone: verify (with the key, a wrong key, a corrupted blob), a push to a
 * "site" registry that is SIGKILLed midway and rerun, skopeo's view of the site, and a deploy — signature
 * and attestation checked there — on a second dockerd that pulls from the site registry.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BundleArchive } from '../../src/fleet/bundle/archive.js';
import { type BundleIndex, blobMember } from '../../src/fleet/bundle/format.js';
import { buildImage } from '../../src/image/index.js';
import { sha256 } from '../../src/oci/digest.js';
import { PredicateType } from '../../src/trust/attest.js';
import { generateKeys, loadPrivateKey } from '../../src/trust/keys.js';
import { attestReference, signReference } from '../../src/trust/sign.js';
import { requireDocker } from '../support/docker.js';
import { busyboxLayout } from '../support/engine-images.js';
import { type ExtraEngine, startExtraEngine } from '../support/extra-engine.js';
import { makeProject, type Project } from '../support/project.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const suffix = randomBytes(3).toString('hex');
const BIG = 12 * 1024 * 1024;

function skopeo(...args: string[]): string {
  return execFileSync('skopeo', args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
}

describe('release bundles', () => {
  let build: TestRegistry;
  let site: TestRegistry;
  let extra: ExtraEngine;
  let project: Project;
  let digest: string;
  let platformDigests: string[];
  let source: string;
  const name = `vb-${suffix}`;

  beforeAll(async () => {
    requireDocker();
    [build, site] = await Promise.all([startRegistry(), startRegistry()]);
    project = makeProject();
    for (const n of [1, 2, 3]) project.write(`big${n}.bin`, randomBytes(BIG).toString('latin1'));
    const built = await buildImage({
      context: project.dir,
      layout: join(project.dir, 'oci'),
      name: 'app',
      cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
      layers: [1, 2, 3].map((n) => ({ files: { [`big${n}.bin`]: `/data/big${n}.bin` } })),
      platforms: [
        {
          platform: 'linux/amd64',
          from: `oci:${busyboxLayout()}:latest`,
          layers: [{ content: { '/arch': 'amd64' } }],
        },
        { platform: 'linux/arm64', from: 'scratch', layers: [{ content: { '/arch': 'arm64' } }] },
      ],
    });
    digest = built.digest;
    platformDigests = built.platforms!.map((p) => p.digest);
    source = `${build.host}/vnf/app`;
    const keys = generateKeys('pw');
    project.write('cosign.pub', keys.publicKeyPem);
    project.write('other.pub', generateKeys('pw').publicKeyPem);
    project.write(
      'vnfpipe.config.ts',
      `import { definePipeline, deploy, push } from 'vnfpipe';
export default definePipeline('bundled', (p) => {
  const pushed = p.step('push', push({ image: 'oci:oci:app', to: '${source}:1' }));
  p.step('push-copy', push({ image: 'oci:oci:app', to: '${source}-copy:2' }));
  p.step('deploy', deploy.docker({ workload: { name: '${name}', image: pushed.out } }));
  p.step('deploy-k8s', deploy.kubernetes({ workload: { name: 'app', image: pushed.out }, namespace: 'vnf' }));
});
`,
    );
    const pushed = await project.cli(['run', '--stage', 'push']);
    expect(pushed.code, pushed.stderr).toBe(0);
    const key = loadPrivateKey(keys.privateKeyPem, 'pw');
    await signReference(`${source}:1`, key);
    await signReference(`${source}-copy:2`, key);
    await attestReference(`${source}:1`, PredicateType.slsaprovenance, { buildDefinition: {} }, key);
    extra = await startExtraEngine();
  }, 300_000);

  afterAll(async () => {
    try {
      extra?.docker(['rm', '-f', `${name}-r1`]);
    } catch {
      // never deployed
    }
    await Promise.all([extra?.stop(), build?.stop(), site?.stop()]);
    if (project) rmSync(project.dir, { recursive: true, force: true });
  }, 120_000);

  const bundleIndex = (file: string): BundleIndex =>
    JSON.parse(
      execFileSync('tar', ['-xOf', file, 'vnfpipe-bundle.json'], { encoding: 'utf8' }),
    ) as BundleIndex;

  it('packs every platform, the signature and its referrer, and the rendered files into one OCI layout', async () => {
    const result = await project.cli(['bundle', 'create', '-o', 'release.tar']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([`${source}:1@${digest}`, `${source}-copy:2@${digest}`]);
    // The second image's layers are the first one's: packed once.
    expect(result.stderr).toMatch(/ shared with an earlier image \(14\.\d MiB\)/);
    const file = join(project.dir, 'release.tar');
    const members = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).split('\n');
    expect(members).toEqual(
      expect.arrayContaining([
        'oci-layout',
        'index.json',
        'vnfpipe-bundle.json',
        'workloads/deploy.json',
        'kubernetes/deploy-k8s.yaml',
      ]),
    );
    const index = bundleIndex(file);
    expect(index.pipeline).toBe('bundled');
    expect(index.images).toHaveLength(2);
    const [image] = index.images;
    expect(image!.digest).toBe(digest);
    expect(image!.platforms).toEqual(['linux/amd64', 'linux/arm64/v8']);
    expect(image!.documents.map((d) => d.digest)).toEqual(
      expect.arrayContaining([digest, ...platformDigests]),
    );
    for (const d of image!.documents) expect(members).toContain(blobMember(d.digest as never));
    for (const b of image!.blobs) expect(members).toContain(blobMember(b.digest as never));
    expect(image!.tags.map((t) => t.tag)).toEqual([
      `sha256-${digest.slice(7)}.sig`,
      `sha256-${digest.slice(7)}`,
      '1',
    ]);
    // The Sigstore bundle of the signature and the attestation, through the registry's sha256-<hex> index.
    expect(image!.artifacts).toMatchObject({ signatures: 1, referrers: 2 });
    const workload = JSON.parse(
      execFileSync('tar', ['-xOf', file, 'workloads/deploy.json'], { encoding: 'utf8' }),
    );
    expect(workload.workload.image).toBe(`${source}@${digest}`);
    // Workloads are pinned by digest as the deploy steps pin them.
    expect(execFileSync('tar', ['-xOf', file, 'kubernetes/deploy-k8s.yaml'], { encoding: 'utf8' })).toContain(
      `image: ${source}@${digest}`,
    );
    // skopeo reads it as an OCI archive: the index by the name the bundle gives it, digest kept.
    const raw = skopeo('inspect', '--raw', `oci-archive:${file}:${source}:1`);
    expect(sha256(raw)).toBe(digest);
    // From here on the build registry is gone: everything comes from the bundle.
    await build.stop();
  });

  it('verifies digests, sizes and the signature with the key, and refuses another key', async () => {
    const ok = await project.cli(['bundle', 'verify', 'release.tar', '--key', 'cosign.pub']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(
      /release\.tar: ok — 2 image\(s\), \d+ blobs .* signatures verified for all 2 image\(s\)/,
    );
    const wrong = await project.cli(['bundle', 'verify', 'release.tar', '--key', 'other.pub']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`${source}:1@${digest}: no signature verifies with the given key(s)`);
  });

  it('names the image and the blob of a corrupted layer, with the expected and actual digests', async () => {
    const file = join(project.dir, 'corrupt.tar');
    writeFileSync(file, readFileSync(join(project.dir, 'release.tar')));
    const index = bundleIndex(file);
    const layer = [...index.images[0]!.blobs].sort((a, b) => b.size - a.size)[0]!;
    const member = (await BundleArchive.open(file)).member(blobMember(layer.digest))!;
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from('corrupt'), 0, 7, member.offset + Math.floor(member.size / 2));
    closeSync(fd);
    const result = await project.cli(['bundle', 'verify', 'corrupt.tar']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `${source}:1@${digest}, ${source}-copy:2@${digest}: blob ${layer.digest}: content does not match its digest: expected ${layer.digest}, actual sha256:[0-9a-f]{64}`,
      ),
    );
    expect(result.stderr).toMatch(/vnfpipe: error: corrupt\.tar: 1 problem\(s\) in the bundle/);
    // Pushing it anyway fails on that blob: the site registry checks what it receives.
    const pushed = await project.cli(['bundle', 'push', 'corrupt.tar', `${site.host}/corrupt`]);
    expect(pushed.code).toBe(1);
    expect(pushed.stderr).toContain(
      `blob ${layer.digest} of ${source}:1@${digest} does not match its digest (the site registry refused it)`,
    );
    expect(pushed.stderr).toMatch(/hint: the bundle is damaged: `vnfpipe bundle verify` lists what/);
  });

  it('mirrors to the site registry, resuming a push killed midway, with every digest kept', async () => {
    const target = `${site.host}/mirror`;
    let pusher: { kill(signal: NodeJS.Signals): boolean } | undefined;
    const killed = await project.cli(['bundle', 'push', 'release.tar', target, '-j', '1'], {
      onSpawn: (child) => {
        pusher = child;
      },
      // Killed once a big layer is up, while the next one is on its way.
      onStderr: (soFar) => {
        if ((soFar.match(/ uploaded \(\d+\.\d MiB\)/g) ?? []).length >= 2) pusher?.kill('SIGKILL');
      },
    });
    expect(killed.signal).toBe('SIGKILL');
    const uploadedBefore = (killed.stderr.match(/ uploaded \(/g) ?? []).length;
    expect(killed.stderr).toMatch(/ uploaded \(14\.\d MiB\)/);
    // Killed before its tags: the site names no incomplete image.
    expect(() => skopeo('inspect', '--tls-verify=false', '--raw', `docker://${target}/vnf/app:1`)).toThrow(
      /manifest unknown/,
    );

    const rerun = await project.cli(['bundle', 'push', 'release.tar', target, '--mapping', 'site.json']);
    expect(rerun.code, rerun.stderr).toBe(0);
    const siteRef = `${target}/vnf/app:1@${digest}`;
    expect(rerun.stdout.trim().split('\n')).toEqual([siteRef, `${target}/vnf/app-copy:2@${digest}`]);
    // The copy's blobs are mounted from the repository the first image filled.
    expect(rerun.stderr).toMatch(/ mounted \(14\.\d MiB\)/);
    // What the killed push finished is skipped, the big layer too; the rest is sent.
    expect((rerun.stderr.match(/ already there \(/g) ?? []).length).toBeGreaterThanOrEqual(uploadedBefore);
    expect(rerun.stderr).toMatch(/ already there \(14\.\d MiB\)/);
    expect(rerun.stderr).toMatch(/\[\d+\/\d+\] sha256:[0-9a-f]{12} {2}uploaded/);
    const mapping = JSON.parse(readFileSync(join(project.dir, 'site.json'), 'utf8'));
    expect(mapping.images).toEqual([
      { source: `${source}:1@${digest}`, reference: siteRef, digest },
      { source: `${source}-copy:2@${digest}`, reference: `${target}/vnf/app-copy:2@${digest}`, digest },
    ]);

    // skopeo's view of the site: the same index and platform manifests, blobs that verify on copy.
    const raw = skopeo('inspect', '--tls-verify=false', '--raw', `docker://${target}/vnf/app:1`);
    expect(sha256(raw)).toBe(digest);
    for (const platform of platformDigests)
      expect(
        sha256(skopeo('inspect', '--tls-verify=false', '--raw', `docker://${target}/vnf/app@${platform}`)),
      ).toBe(platform);
    const copied = join(project.dir, 'copied');
    skopeo('copy', '--all', '--src-tls-verify=false', `docker://${target}/vnf/app:1`, `oci:${copied}:app`);
    expect(existsSync(join(copied, 'blobs', 'sha256', digest.slice(7)))).toBe(true);
    // The signature came along: verify-image checks it against the site registry alone.
    const verified = await project.cli(['verify-image', siteRef, '--key', 'cosign.pub']);
    expect(verified.code, verified.stderr).toBe(0);
    // A second push finds everything there.
    const again = await project.cli(['bundle', 'push', 'release.tar', target, '--mapping', 'site.json']);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/ uploaded \(/);
  });

  it('deploys at the site from the site registry alone, signature checked, on a second engine', async () => {
    const siteRef = `${site.host}/mirror/vnf/app:1@${digest}`;
    project.write(
      'site.ts',
      `import { definePipeline, deploy } from 'vnfpipe';
export default definePipeline('site', (p) => {
  p.step('deploy', deploy.docker({
    workload: { name: '${name}', image: '${siteRef}' },
    engine: '${extra.host}',
    trust: { key: 'cosign.pub', attestations: ['slsaprovenance'] },
  }));
});
`,
    );
    const result = await project.cli(['run', '-f', 'site.ts']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(
      extra.docker(['inspect', '--format', '{{.State.Running}} {{.Config.Image}}', `${name}-r1`]).trim(),
    ).toBe(`true ${site.host}/mirror/vnf/app@${digest}`);
  });
});
