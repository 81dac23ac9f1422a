import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullCommand } from '../../src/cli/registry.js';
import { parseReference } from '../../src/oci/reference.js';
import { copyImage } from '../../src/registry/copy.js';
import { capture } from '../support/capture.js';
import { DOCKER, dockerAvailable } from '../support/docker.js';
import { layoutDigest, makeBaseLayout } from '../support/images.js';
import { runCli } from '../support/project.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const docker = dockerAvailable();

describe('interoperability with the Docker engine and skopeo', () => {
  let registry: TestRegistry;
  let tmp: string;
  let layout: string;
  const pulledByDocker: string[] = [];
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-reg-interop-'));
    registry = await startRegistry();
    layout = makeBaseLayout(join(tmp, 'base'));
    mkdirSync(join(tmp, 'files'));
    writeFileSync(join(tmp, 'files', 'hello.txt'), 'hello from vnfpipe\n');
    execFileSync(
      'umoci',
      [
        'insert',
        '--history.created',
        '2020-01-01T00:00:00Z',
        '--image',
        `${layout}:latest`,
        '--tag',
        'app',
        join(tmp, 'files', 'hello.txt'),
        '/hello.txt',
      ],
      { stdio: 'ignore' },
    );
  });
  afterAll(async () => {
    for (const ref of pulledByDocker) {
      try {
        execFileSync(DOCKER, ['rmi', '-f', ref], { stdio: 'ignore' });
      } catch {}
    }
    await registry?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('an image we push is pulled by digest and run by the Docker engine', async () => {
    expect(docker.ok, docker.ok ? '' : docker.problem).toBe(true);
    const result = await copyImage(
      parseReference(`oci:${layout}:app`),
      parseReference(`${registry.host}/interop/app:1`),
    );
    const ref = `${registry.host}/interop/app@${result.digest}`;
    execFileSync(DOCKER, ['pull', '-q', ref], { stdio: 'ignore', timeout: 60_000 });
    pulledByDocker.push(ref);
    const output = execFileSync(DOCKER, ['run', '--rm', '--network', 'none', ref, 'cat', '/hello.txt'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(output).toBe('hello from vnfpipe\n');
    const repoDigests = execFileSync(DOCKER, ['image', 'inspect', '--format', '{{json .RepoDigests}}', ref], {
      encoding: 'utf8',
    });
    expect(repoDigests).toContain(result.digest);
  });

  it('an image we push is copied by skopeo with the same digest', async () => {
    const result = await copyImage(
      parseReference(`oci:${layout}:app`),
      parseReference(`${registry.host}/interop/app:2`),
    );
    const out = join(tmp, 'skopeo-out');
    execFileSync(
      'skopeo',
      [
        'copy',
        '-q',
        '--src-tls-verify=false',
        `docker://${registry.host}/interop/app:2`,
        `oci:${out}:copied`,
      ],
      { stdio: 'pipe' },
    );
    expect(layoutDigest(out, 'copied')).toBe(result.digest);
  });

  it('an image skopeo pushed is pulled by us with verified digests', async () => {
    execFileSync(
      'skopeo',
      [
        'copy',
        '-q',
        '--dest-tls-verify=false',
        `oci:${layout}:app`,
        `docker://${registry.host}/interop/by-skopeo:1`,
      ],
      { stdio: 'pipe' },
    );
    const out = join(tmp, 'ours');
    const pulled = await copyImage(
      parseReference(`${registry.host}/interop/by-skopeo:1`),
      parseReference(`oci:${out}:x`),
    );
    expect(pulled.digest).toBe(layoutDigest(layout, 'app'));
    const manifest = JSON.parse(
      readFileSync(join(out, 'blobs', 'sha256', pulled.digest.slice(7)), 'utf8'),
    ) as { layers: unknown[] };
    expect(manifest.layers).toHaveLength(2);
    expect(pulled.blobs.transferred).toBe(3);
  });

  it('a Docker v2 schema 2 image pulls with its digest by default, and as OCI that skopeo and umoci read with --format oci', async () => {
    const ref = `${registry.host}/interop/v2s2:1`;
    execFileSync(
      'skopeo',
      ['copy', '-q', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${layout}:app`, `docker://${ref}`],
      {
        stdio: 'pipe',
      },
    );
    const remote = JSON.parse(
      execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], {
        encoding: 'utf8',
      }),
    ) as { mediaType: string; layers: Array<{ digest: string }>; config: { digest: string } };
    expect(remote.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    const remoteDigest = (
      JSON.parse(
        execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`], { encoding: 'utf8' }),
      ) as {
        Digest: string;
      }
    ).Digest;

    // Default: the manifest as the registry has it, digest kept.
    const kept = await capture(() => pullCommand(ref, `oci:${join(tmp, 'kept')}:x`, { json: true }));
    expect(kept.code).toBe(0);
    expect(JSON.parse(kept.out)).toMatchObject({
      digest: remoteDigest,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    });

    // --format oci through the CLI: OCI media types, new manifest digest, same blobs.
    const pulled = await runCli(tmp, ['pull', ref, 'oci:converted:x', '--format', 'oci', '--json']);
    expect(pulled.stderr).not.toContain('error');
    expect(pulled.code).toBe(0);
    const result = JSON.parse(pulled.stdout) as { digest: string; mediaType: string };
    expect(result.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(result.digest).not.toBe(remoteDigest);
    const dir = join(tmp, 'converted');
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
      manifests: Array<{ mediaType: string }>;
    };
    expect(index.manifests[0]!.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    const manifest = JSON.parse(
      readFileSync(join(dir, 'blobs', 'sha256', result.digest.slice(7)), 'utf8'),
    ) as {
      config: { digest: string; mediaType: string };
      layers: Array<{ digest: string; mediaType: string }>;
    };
    expect(manifest.config).toMatchObject({
      digest: remote.config.digest,
      mediaType: 'application/vnd.oci.image.config.v1+json',
    });
    expect(manifest.layers.map((l) => l.digest)).toEqual(remote.layers.map((l) => l.digest));
    expect(manifest.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+gzip')).toBe(
      true,
    );

    const inspected = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci:${dir}:x`], { encoding: 'utf8' }),
    ) as {
      Digest: string;
      Layers: string[];
    };
    expect(inspected.Digest).toBe(result.digest);
    expect(inspected.Layers).toEqual(remote.layers.map((l) => l.digest));
    execFileSync('umoci', ['stat', '--image', `${dir}:x`], { stdio: 'pipe' });
    const bundle = join(tmp, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${dir}:x`, bundle], { stdio: 'pipe' });
    expect(readFileSync(join(bundle, 'rootfs', 'hello.txt'), 'utf8')).toBe('hello from vnfpipe\n');
  });
});
