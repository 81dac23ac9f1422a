import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../src/image/builder.js';
import { OciLayout } from '../../src/oci/layout.js';
import { MediaType } from '../../src/oci/media-types.js';
import { hostPlatform } from '../../src/oci/platform.js';
import { listTarGz } from '../image/support.js';
import { DOCKER } from '../support/docker.js';
import { busyboxInDocker, busyboxLayout } from '../support/engine-images.js';
import { makeProject, type Project } from '../support/project.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { startTlsBasicRegistry } from '../support/registry-auth.js';

describe('vnfpipe image build | inspect | ls', () => {
  let project: Project;
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
    project = makeProject({ 'app/hello.txt': 'hello from vnfpipe\n' });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('builds onto a base layout, and inspect and skopeo agree on the result', async () => {
    const build = await project.cli([
      'image',
      'build',
      '--from',
      `oci:${busyboxLayout()}:latest`,
      '--layer',
      'app/hello.txt:/srv/hello.txt',
      '--entrypoint',
      '["/bin/cat"]',
      '--cmd',
      '/srv/hello.txt',
      '--env',
      'MODE=demo',
      '--user',
      '1000:1000',
      '--workdir',
      '/srv',
      '--label',
      'org.example.role=test',
      '--tag',
      'oci:out:app',
      '--json',
    ]);
    expect(build.code, build.stderr).toBe(0);
    const { digest, reference } = JSON.parse(build.stdout);
    expect(reference).toBe(`oci:out:app@${digest}`);

    const inspect = JSON.parse((await project.cli(['image', 'inspect', 'oci:out:app', '--json'])).stdout);
    expect(inspect.digest).toBe(digest);
    expect(inspect.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(inspect.config.config).toMatchObject({
      Entrypoint: ['/bin/cat'],
      Cmd: ['/srv/hello.txt'],
      User: '1000:1000',
      WorkingDir: '/srv',
      Labels: { 'org.example.role': 'test' },
    });
    expect(inspect.config.config.Env).toContain('MODE=demo');
    expect(inspect.manifest.layers.length).toBeGreaterThanOrEqual(2);

    const skopeo = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci:${project.dir}/out:app`], { encoding: 'utf8' }),
    );
    expect(skopeo.Digest).toBe(digest);

    const ls = await project.cli(['image', 'ls', 'oci:out']);
    expect(ls.stdout).toMatch(new RegExp(`^app\\s+${digest}`, 'm'));
  });

  it('pushes when the tag is a registry, and inspects registry images', async () => {
    const build = await project.cli([
      'image',
      'build',
      '--from',
      'scratch',
      '--layer',
      'app/hello.txt:/hello.txt',
      '--tag',
      `${registry.host}/demo/app:1`,
      '--json',
    ]);
    expect(build.code, build.stderr).toBe(0);
    const { digest, reference } = JSON.parse(build.stdout);
    expect(reference).toBe(`${registry.host}/demo/app:1@${digest}`);
    const inspect = JSON.parse(
      (await project.cli(['image', 'inspect', `${registry.host}/demo/app:1`, '--json'])).stdout,
    );
    expect(inspect.digest).toBe(digest);
    expect(inspect.manifest.layers).toHaveLength(1);
  });

  it('streams zstd layers into the registry during the build; skopeo reads the pushed image', async () => {
    const build = await project.cli([
      'image',
      'build',
      '--from',
      'scratch',
      '--layer',
      'app/hello.txt:/hello.txt',
      '--compression',
      'zstd',
      '--tag',
      `${registry.host}/demo/zstd:1`,
    ]);
    expect(build.code, build.stderr).toBe(0);
    expect(build.stderr).not.toMatch(/could not publish/);
    const skopeo = JSON.parse(
      execFileSync(
        'skopeo',
        ['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/demo/zstd:1`],
        {
          encoding: 'utf8',
        },
      ),
    );
    expect(skopeo.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
      'application/vnd.oci.image.layer.v1.tar+zstd',
    ]);
    const bad = await project.cli([
      'image',
      'build',
      '--from',
      'scratch',
      '--compression',
      'lz4',
      '--tag',
      'oci:out:x',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown compression "lz4"/);
  });

  it('inspects a Docker manifest list alike in a layout and in a registry', async () => {
    const dir = join(project.dir, 'list');
    // A Docker (v2s2) manifest, and a Docker manifest list over it, as `docker manifest create` makes.
    execFileSync('skopeo', [
      'copy',
      '-q',
      '--format',
      'v2s2',
      `oci:${busyboxLayout()}:latest`,
      `oci:${dir}:one`,
    ]);
    const layout = await OciLayout.open(dir);
    const one = await layout.resolve('one');
    expect(one.mediaType).toBe(MediaType.dockerManifest);
    const host = hostPlatform();
    const list = await layout.writeJson(
      {
        schemaVersion: 2,
        mediaType: MediaType.dockerManifestList,
        manifests: [
          { mediaType: one.mediaType, digest: one.digest, size: one.size, platform: host },
          {
            mediaType: one.mediaType,
            digest: one.digest,
            size: one.size,
            platform: { os: 'linux', architecture: host.architecture === 's390x' ? 'ppc64le' : 's390x' },
          },
        ],
      },
      MediaType.dockerManifestList,
    );
    await layout.tag('multi', list);
    // The same documents and blobs in a registry, put as they are (skopeo's oci: transport reads no Docker
    // documents from index.json).
    const remote = `${registry.host}/demo/multi:1`;
    const api = `${registry.url}/v2/demo/multi`;
    const manifest = await layout.readManifest(one);
    for (const blob of [manifest.config, ...manifest.layers]) {
      const start = await fetch(`${api}/blobs/uploads/`, { method: 'POST' });
      const location = new URL(start.headers.get('location')!, registry.url);
      location.searchParams.set('digest', blob.digest);
      const done = await fetch(location, {
        method: 'PUT',
        body: await readFile(layout.blobPath(blob.digest)),
      });
      expect(done.status).toBe(201);
    }
    for (const [reference, descriptor] of [
      [one.digest, one],
      ['1', list],
    ] as const) {
      const put = await fetch(`${api}/manifests/${reference}`, {
        method: 'PUT',
        headers: { 'content-type': descriptor.mediaType },
        body: await readFile(layout.blobPath(descriptor.digest)),
      });
      expect(put.status).toBe(201);
    }

    for (const ref of ['oci:list:multi', remote]) {
      const picked = await project.cli(['image', 'inspect', ref, '--json']);
      expect(picked.code, picked.stderr).toBe(0);
      const image = JSON.parse(picked.stdout);
      expect(image.digest, ref).toBe(one.digest);
      expect(image.config.os).toBe('linux');

      const whole = await project.cli(['image', 'inspect', ref, '--platform', 'all', '--json']);
      expect(whole.code, whole.stderr).toBe(0);
      const index = JSON.parse(whole.stdout);
      expect(index.digest, ref).toBe(list.digest);
      expect(index.mediaType).toBe(MediaType.dockerManifestList);
      expect(index.manifest.manifests).toHaveLength(2);

      const missing = await project.cli(['image', 'inspect', ref, '--platform', 'windows/arm64']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('no image for windows/arm64 in the index');
    }
  });

  it('shows the whole config in text: labels, ports, volumes, stop signal, healthcheck, history', async () => {
    await buildImage({
      context: project.dir,
      layout: join(project.dir, 'full'),
      name: 'app',
      from: `oci:${busyboxLayout()}:latest`,
      layers: [{ name: 'app files', files: { app: '/srv/app' } }],
      labels: { 'org.example.role': 'test', 'org.example.tier': 'edge' },
      exposedPorts: [8080, '5000/udp'],
      volumes: ['/data'],
      stopSignal: 'SIGQUIT',
      healthcheck: { test: 'true', intervalMs: 5000, retries: 3 },
    });
    const text = await project.cli(['image', 'inspect', 'oci:full:app']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('ports       8080/tcp 5000/udp');
    expect(text.stdout).toContain('volumes     /data');
    expect(text.stdout).toContain('stopsignal  SIGQUIT');
    expect(text.stdout).toContain('healthcheck ["CMD-SHELL","true"] (interval 5s, retries 3)');
    expect(text.stdout).toMatch(/labels:\n {2}org\.example\.role=test\n {2}org\.example\.tier=edge\n/);
    expect(text.stdout).toMatch(/history:\n(?: {2}.*\n)* {2}1970-01-01T00:00:00Z {2}app files\n/);
  });

  it('builds on and pushes a docker save archive', async () => {
    execFileSync(DOCKER, ['save', '-o', join(project.dir, 'busybox.tar'), busyboxInDocker()]);
    const build = await project.cli([
      'image',
      'build',
      '--from',
      'docker-archive:busybox.tar',
      '--layer',
      'app/hello.txt:/srv/hello.txt',
      '--tag',
      'oci:from-archive:app',
      '--json',
    ]);
    expect(build.code, build.stderr).toBe(0);
    const skopeo = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci:${project.dir}/from-archive:app`], { encoding: 'utf8' }),
    );
    expect(skopeo.Digest).toBe(JSON.parse(build.stdout).digest);
    expect(skopeo.Layers).toHaveLength(2);
    const inspect = await project.cli(['image', 'inspect', 'docker-archive:busybox.tar', '--json']);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout).manifest.layers[0].digest).toBe(skopeo.Layers[0]);

    const push = await project.cli([
      'push',
      `docker-archive:busybox.tar:${busyboxInDocker()}`,
      `${registry.host}/demo/archive:1`,
    ]);
    expect(push.code, push.stderr).toBe(0);
    const pushed = JSON.parse(
      execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/demo/archive:1`], {
        encoding: 'utf8',
      }),
    );
    expect(pushed.Layers).toEqual(skopeo.Layers.slice(0, 1));
  });

  it('normalises file modes unless --keep-modes is given', async () => {
    project.write('private/key.conf', 'secret-ish\n');
    chmodSync(join(project.dir, 'private', 'key.conf'), 0o600);
    chmodSync(join(project.dir, 'private'), 0o700);
    const modes = async (extra: string[], tag: string) => {
      const build = await project.cli([
        'image',
        'build',
        '--from',
        'scratch',
        '--layer',
        'private:/etc/private',
        ...extra,
        '--tag',
        `oci:modes:${tag}`,
      ]);
      expect(build.code, build.stderr).toBe(0);
      const layout = await OciLayout.open(join(project.dir, 'modes'));
      const manifest = await layout.readManifest(await layout.resolve(tag));
      const entries = listTarGz(await readFile(layout.blobPath(manifest.layers[0]!.digest)));
      return Object.fromEntries(entries.map((e) => [e.path, e.mode.toString(8)]));
    };
    expect(await modes([], 'normal')).toEqual({ 'etc/private/': '755', 'etc/private/key.conf': '644' });
    expect(await modes(['--keep-modes'], 'kept')).toEqual({
      'etc/private/': '700',
      'etc/private/key.conf': '600',
    });
  });

  it('uses --creds for a registry base', async () => {
    const secured = await startTlsBasicRegistry({ alice: 'alice-secret' });
    try {
      const env = { SSL_CERT_FILE: secured.caFile! };
      const base = `${secured.host}/base/busybox:1`;
      const push = await project.cli(
        ['push', `oci:${busyboxLayout()}:latest`, base, '--creds', 'alice:alice-secret'],
        {
          env,
        },
      );
      expect(push.code, push.stderr).toBe(0);
      const args = [
        'image',
        'build',
        '--from',
        base,
        '--layer',
        'app/hello.txt:/hello.txt',
        '--tag',
        'oci:creds:x',
      ];
      const without = await project.cli(args, { env });
      expect(without.code).toBe(1);
      expect(without.stderr).toContain('authentication failed');
      const withCreds = await project.cli([...args, '--creds', 'alice:alice-secret'], { env });
      expect(withCreds.code, withCreds.stderr).toBe(0);
      expect(withCreds.stdout + withCreds.stderr).not.toContain('alice-secret');
    } finally {
      await secured.stop();
    }
  });

  it('says what is wrong with a bad --layer and exits 2', async () => {
    const result = await project.cli([
      'image',
      'build',
      '--from',
      'scratch',
      '--layer',
      'no-destination',
      '--tag',
      'oci:out:x',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--layer 'no-destination' is not <host path>:<absolute image path>");
  });

  it('exits 2 for a --layer source that does not exist, naming it', async () => {
    const result = await project.cli([
      'image',
      'build',
      '--from',
      'scratch',
      '--layer',
      'nosuchdir:/x',
      '--tag',
      'oci:missing-src:x',
    ]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('source "nosuchdir" not found');
    expect(existsSync(join(project.dir, 'missing-src'))).toBe(false);
  });
});
