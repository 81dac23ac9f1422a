import { execFileSync } from 'node:child_process';
import { chmod, link, mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import { buildImage } from '../../src/image/builder.js';
import type { BuildOptions, LayerSpec } from '../../src/image/types.js';
import type { Digest } from '../../src/oci/digest.js';
import { OciLayout } from '../../src/oci/layout.js';
import { MediaType } from '../../src/oci/media-types.js';
import { listTarGz, TempDirs } from './support.js';

const temp = new TempDirs();
afterAll(() => temp.cleanup());

/** A small project tree; `mtime` varies file times, `salt` nothing else. */
async function makeProject(dir: string, mtime: Date): Promise<string> {
  await mkdir(join(dir, 'app', 'lib', 'empty'), { recursive: true });
  await mkdir(join(dir, 'app', 'docs'), { recursive: true });
  await writeFile(join(dir, 'app', 'run.sh'), '#!/bin/sh\necho hello\n');
  await chmod(join(dir, 'app', 'run.sh'), 0o755);
  await writeFile(join(dir, 'app', 'lib', 'data.bin'), Buffer.alloc(300_000, 1));
  await link(join(dir, 'app', 'lib', 'data.bin'), join(dir, 'app', 'lib', 'data-hard.bin'));
  await symlink('data.bin', join(dir, 'app', 'lib', 'data-link'));
  await writeFile(join(dir, 'app', 'docs', 'README.md'), 'docs');
  await writeFile(join(dir, 'app', 'notes.md'), 'notes');
  const long = join(dir, 'app', 'd'.repeat(90), 'é'.repeat(10));
  await mkdir(long, { recursive: true });
  await writeFile(join(long, `${'f'.repeat(99)}.txt`), 'long');
  for (const p of [
    'app',
    'app/run.sh',
    'app/lib',
    'app/lib/data.bin',
    'app/notes.md',
    'app/docs/README.md',
  ]) {
    await utimes(join(dir, p), mtime, mtime);
  }
  return dir;
}

const layers: LayerSpec[] = [
  { files: { app: '/opt/app' }, exclude: ['docs'] },
  {
    content: {
      '/etc/app.conf': 'port=1\n',
      '/usr/bin/tool': { content: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
    },
    symlinks: { '/usr/bin/alias': 'tool' },
    directories: { '/var/lib/app': { mode: 0o700, uid: 1000, gid: 1000 } },
    delete: ['/etc/motd'],
    opaque: ['/srv'],
  },
];

async function build(project: string, stateDir: string, extra: Partial<BuildOptions> = {}) {
  const logs: string[] = [];
  const ref = await buildImage({
    context: project,
    stateDir,
    name: 'app',
    layers,
    entrypoint: ['/opt/app/run.sh'],
    env: { MODE: 'test' },
    onLog: (line) => logs.push(line),
    ...extra,
  });
  return { ref, logs };
}

async function layerEntries(layoutDir: string, digest: Digest, index: number) {
  const layout = await OciLayout.open(layoutDir);
  const manifest = await layout.readManifest({
    mediaType: MediaType.ociManifest,
    digest,
    size: await layout.blobSize(digest),
  });
  return listTarGz(await layout.readBlob(manifest.layers[index]!.digest));
}

describe('native builder', () => {
  it('gives identical digests for the same inputs in different directories, times and states', async () => {
    const a = await build(
      await makeProject(await temp.make(), new Date('2001-02-03T04:05:06Z')),
      await temp.make(),
    );
    const b = await build(await makeProject(await temp.make(), new Date()), await temp.make());
    expect(a.ref.digest).toBe(b.ref.digest);
    const c = await build(await makeProject(await temp.make(), new Date()), await temp.make(), {
      sourceDateEpoch: 1_700_000_000,
    });
    expect(c.ref.digest).not.toBe(a.ref.digest);
  });

  it('writes sorted, normalised tar entries with links, whiteouts and overrides', async () => {
    const project = await makeProject(await temp.make(), new Date());
    const { ref } = await build(project, await temp.make(), { sourceDateEpoch: 86_400 });
    const files = await layerEntries(ref.layout, ref.digest, 0);
    const paths = files.map((e) => e.path);
    expect(paths).toEqual([...paths].sort());
    expect(paths).toContain('opt/app/');
    expect(paths).toContain('opt/app/lib/empty/');
    expect(paths.some((p) => p.includes('docs'))).toBe(false); // excluded
    expect(paths).toContain('opt/app/notes.md');
    expect(paths).toContain(`opt/app/${'d'.repeat(90)}/${'é'.repeat(10)}/${'f'.repeat(99)}.txt`);
    for (const e of files) {
      expect([e.uid, e.gid, e.uname, e.mtime]).toEqual([0, 0, '', 86_400]);
    }
    const byPath = new Map(files.map((e) => [e.path, e]));
    expect(byPath.get('opt/app/run.sh')?.mode).toBe(0o755);
    expect(byPath.get('opt/app/lib/data-link')).toMatchObject({ type: '2', linkname: 'data.bin' });
    // The first path in order keeps the content; the other becomes a hardlink to it.
    expect(byPath.get('opt/app/lib/data-hard.bin')).toMatchObject({ type: '0', size: 300_000 });
    expect(byPath.get('opt/app/lib/data.bin')).toMatchObject({
      type: '1',
      linkname: 'opt/app/lib/data-hard.bin',
    });

    // GNU tar (an independent reader) extracts the PAX long and non-ASCII names and the links.
    const layout0 = await OciLayout.open(ref.layout);
    const m0 = await layout0.readManifest(await layout0.resolve('app'));
    const out = await temp.make();
    execFileSync('tar', ['-xzf', layout0.blobPath(m0.layers[0]!.digest), '-C', out]);
    expect(
      await readFile(join(out, 'opt/app', 'd'.repeat(90), 'é'.repeat(10), `${'f'.repeat(99)}.txt`), 'utf8'),
    ).toBe('long');
    expect((await readFile(join(out, 'opt/app/lib/data.bin'))).length).toBe(300_000);

    const second = new Map((await layerEntries(ref.layout, ref.digest, 1)).map((e) => [e.path, e]));
    expect(second.get('etc/app.conf')?.content?.toString()).toBe('port=1\n');
    expect(second.get('usr/bin/tool')?.mode).toBe(0o755);
    expect(second.get('usr/bin/alias')).toMatchObject({ type: '2', linkname: 'tool' });
    expect(second.get('var/lib/app/')).toMatchObject({ type: '5', mode: 0o700, uid: 1000, gid: 1000 });
    expect(second.get('etc/.wh.motd')).toMatchObject({ type: '0', size: 0 });
    expect(second.get('srv/.wh..wh..opq')).toMatchObject({ type: '0', size: 0 });

    const layout = await OciLayout.open(ref.layout);
    const manifest = await layout.readManifest(await layout.resolve('app'));
    const config = await layout.readConfig(manifest.config);
    expect(config.created).toBe('1970-01-02T00:00:00Z');
    expect(config.config?.Entrypoint).toEqual(['/opt/app/run.sh']);
    expect(config.config?.Env).toEqual(['MODE=test']);
    expect(config.rootfs.diff_ids).toHaveLength(2);
    expect(config.history).toHaveLength(2);
    expect(manifest.annotations?.['org.opencontainers.image.created']).toBe('1970-01-02T00:00:00Z');
  });

  it('reuses unchanged layers, finds touched ones by content, rebuilds changed ones', async () => {
    const project = await makeProject(await temp.make(), new Date('2020-01-01T00:00:00Z'));
    const state = await temp.make();
    const first = await build(project, state);
    expect(first.logs.filter((l) => l.includes('built'))).toHaveLength(2);

    const again = await build(project, state);
    expect(again.ref.digest).toBe(first.ref.digest);
    expect(again.logs.filter((l) => l.includes('unchanged'))).toHaveLength(2);

    await utimes(join(project, 'app', 'notes.md'), new Date(), new Date());
    const touched = await build(project, state);
    expect(touched.ref.digest).toBe(first.ref.digest);
    expect(touched.logs.some((l) => l.includes('same content'))).toBe(true);

    await writeFile(join(project, 'app', 'notes.md'), 'changed');
    const changed = await build(project, state);
    expect(changed.ref.digest).not.toBe(first.ref.digest);
    expect(changed.logs.filter((l) => l.includes('built'))).toHaveLength(1);

    // A layout that lost its blobs gets them back from the cache without recompressing.
    const layout = await OciLayout.open(join(state, 'oci'));
    await layout.untag('app');
    await layout.gc();
    const restored = await build(project, state);
    expect(restored.ref.digest).toBe(changed.ref.digest);
    expect(restored.logs.filter((l) => l.includes('unchanged'))).toHaveLength(2);
    await layout.readBlob((await layout.readManifest(await layout.resolve('app'))).layers[0]!.digest);
  });

  it('builds an index over per-platform images', async () => {
    const project = await makeProject(await temp.make(), new Date());
    const { ref } = await build(project, await temp.make(), {
      platforms: [
        { platform: 'linux/amd64', layers: [{ content: { '/arch': 'amd64' } }] },
        { platform: 'linux/arm64', layers: [{ content: { '/arch': 'arm64' } }] },
      ],
    });
    expect(ref.mediaType).toBe(MediaType.ociIndex);
    expect(ref.platforms?.map((p) => p.platform)).toEqual(['linux/amd64', 'linux/arm64/v8']);
    const layout = await OciLayout.open(ref.layout);
    const index = await layout.readImageIndex(await layout.resolve('app'));
    expect(index.manifests).toHaveLength(2);
    const arm = await layout.readManifest(index.manifests[1]!);
    expect((await layout.readConfig(arm.config)).architecture).toBe('arm64');
    // Shared layers are stored once.
    const amd = await layout.readManifest(index.manifests[0]!);
    expect(amd.layers[0]!.digest).toBe(arm.layers[0]!.digest);
    expect(amd.layers[2]!.digest).not.toBe(arm.layers[2]!.digest);
  });

  it('gives the same layer digests with any number of compression workers', async () => {
    const project = await makeProject(await temp.make(), new Date());
    await writeFile(join(project, 'app', 'big.bin'), Buffer.alloc(5 * 1024 * 1024 + 3, 'vnf'));
    const one = await build(project, await temp.make(), { workers: 1 });
    const three = await build(project, await temp.make(), { workers: 3 });
    expect(three.ref.digest).toBe(one.ref.digest);
  });

  it('honours SOURCE_DATE_EPOCH and refuses a bad one', async () => {
    const project = await makeProject(await temp.make(), new Date());
    const previous = process.env.SOURCE_DATE_EPOCH;
    try {
      process.env.SOURCE_DATE_EPOCH = '1000';
      const { ref } = await build(project, await temp.make());
      expect((await layerEntries(ref.layout, ref.digest, 0))[0]?.mtime).toBe(1000);
      process.env.SOURCE_DATE_EPOCH = 'yesterday';
      await expect(build(project, await temp.make())).rejects.toThrow(/SOURCE_DATE_EPOCH/);
    } finally {
      if (previous === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = previous;
    }
  });

  it('applies include patterns and a .dockerignore file', async () => {
    const project = await makeProject(await temp.make(), new Date());
    await writeFile(join(project, '.dockerignore'), '# build junk\napp/lib\n!app/lib/data-link\n*.md\n');
    const { ref } = await build(project, await temp.make(), {
      layers: [
        { files: { app: '/a' }, ignoreFile: '.dockerignore' },
        { files: { app: '/b' }, include: ['**/*.md', 'run.sh'] },
      ],
    });
    const ignored = (await layerEntries(ref.layout, ref.digest, 0)).map((e) => e.path);
    expect(ignored).toContain('a/run.sh');
    expect(ignored).toContain('a/lib/data-link'); // re-included
    expect(ignored).not.toContain('a/lib/data.bin');
    expect(ignored).toContain('a/notes.md'); // `*.md` is anchored at the context root, as in docker
    const included = (await layerEntries(ref.layout, ref.digest, 1)).map((e) => e.path);
    expect(included.filter((p) => !p.endsWith('/'))).toEqual(['b/docs/README.md', 'b/notes.md', 'b/run.sh']);
  });

  it('leaves the layout as it was when a build is interrupted', async () => {
    const project = await makeProject(await temp.make(), new Date());
    const state = await temp.make();
    const first = await build(project, state);
    const indexBefore = await readFile(join(state, 'oci', 'index.json'), 'utf8');
    await writeFile(join(project, 'app', 'big.bin'), Buffer.alloc(8 * 1024 * 1024, 'x'));
    const controller = new AbortController();
    await expect(
      build(project, state, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.current > 1024 * 1024) controller.abort();
        },
      }),
    ).rejects.toThrow();
    expect(await readFile(join(state, 'oci', 'index.json'), 'utf8')).toBe(indexBefore);
    expect(await readdir(join(state, 'oci', '.tmp'))).toEqual([]);
    const layout = await OciLayout.open(join(state, 'oci'));
    expect((await layout.resolve('app')).digest).toBe(first.ref.digest);
  });

  it('stops when aborted', async () => {
    const project = await makeProject(await temp.make(), new Date());
    const controller = new AbortController();
    controller.abort();
    await expect(build(project, await temp.make(), { signal: controller.signal })).rejects.toThrow();
  });
});

describe('layer safety', () => {
  async function refused(spec: LayerSpec, project?: string): Promise<VnfpipeError> {
    const dir = project ?? (await makeProject(await temp.make(), new Date()));
    try {
      await buildImage({ context: dir, stateDir: await temp.make(), name: 'x', layers: [spec] });
    } catch (error) {
      expect(error).toBeInstanceOf(VnfpipeError);
      return error as VnfpipeError;
    }
    throw new Error('expected the build to be refused');
  }

  it('refuses destinations that climb out of the image root', async () => {
    const error = await refused({ files: { 'app/notes.md': '../../etc/passwd' } });
    expect(error.code).toBe('LAYER_UNSAFE');
    expect(error.where).toBe('../../etc/passwd');
    expect((await refused({ content: { '/a/../../x': 'x' } })).code).toBe('LAYER_UNSAFE');
    expect((await refused({ symlinks: { '../x': '/etc' } })).code).toBe('LAYER_UNSAFE');
    expect((await refused({ delete: ['/../etc'] })).code).toBe('LAYER_UNSAFE');
  });

  it('refuses sources outside the context, given directly or through a symlink', async () => {
    const project = await makeProject(await temp.make(), new Date());
    const outside = await refused({ files: { '/etc/hostname': '/x' } }, project);
    expect(outside.code).toBe('LAYER_UNSAFE');
    expect(outside.where).toBe('/etc/hostname');
    expect((await refused({ files: { '../': '/x' } }, project)).code).toBe('LAYER_UNSAFE');
    await symlink('/etc', join(project, 'etc-link'));
    const through = await refused({ files: { 'etc-link/hostname': '/x' } }, project);
    expect(through.code).toBe('LAYER_UNSAFE');
    expect(through.message).toMatch(/symlink/);
  });

  it('refuses entries written through a symlink of the same layer', async () => {
    const error = await refused({ symlinks: { '/opt/link': '/etc' }, content: { '/opt/link/passwd': 'x' } });
    expect(error.code).toBe('LAYER_UNSAFE');
    expect(error.where).toBe('opt/link/passwd');
  });

  it('keeps symlinks inside a copied tree as links (never follows them out)', async () => {
    const project = await makeProject(await temp.make(), new Date());
    await symlink('/etc/passwd', join(project, 'app', 'passwd-link'));
    const { ref } = await build(project, await temp.make());
    const entry = (await layerEntries(ref.layout, ref.digest, 0)).find(
      (e) => e.path === 'opt/app/passwd-link',
    );
    expect(entry).toMatchObject({ type: '2', linkname: '/etc/passwd', size: 0 });
    expect(await readFile(join(project, 'app', 'notes.md'), 'utf8')).toBe('notes');
  });
});

describe('base images', () => {
  it('picks the platform from a base index and refuses a missing one', async () => {
    const project = await makeProject(await temp.make(), new Date());
    const state = await temp.make();
    const multi = await build(project, state, {
      name: 'multi',
      platforms: [
        { platform: 'linux/amd64', layers: [{ content: { '/arch': 'amd64' } }] },
        { platform: 'linux/arm64', layers: [{ content: { '/arch': 'arm64' } }] },
      ],
    });
    const arm = multi.ref.platforms?.find((p) => p.platform === 'linux/arm64/v8');
    const child = await buildImage({
      context: project,
      stateDir: await temp.make(),
      name: 'child',
      from: `oci:${multi.ref.layout}:multi`,
      platform: 'linux/arm64',
      layers: [{ content: { '/child': 'yes' } }],
    });
    const layout = await OciLayout.open(child.layout);
    const manifest = await layout.readManifest(await layout.resolve('child'));
    expect(manifest.layers).toHaveLength(4);
    expect(manifest.annotations?.['org.opencontainers.image.base.digest']).toBe(arm?.digest);
    expect(manifest.annotations?.['org.opencontainers.image.base.name']).toBeUndefined(); // a local path
    const config = await layout.readConfig(manifest.config);
    expect(config.architecture).toBe('arm64');
    expect(config.config?.Env).toEqual(['MODE=test']); // inherited from the base
    expect(config.history).toHaveLength(4);

    await expect(
      buildImage({
        context: project,
        stateDir: await temp.make(),
        name: 'x',
        from: `oci:${multi.ref.layout}:multi`,
        platform: 'linux/s390x',
      }),
    ).rejects.toMatchObject({ code: 'OCI_NOT_FOUND' });
    await expect(
      buildImage({
        context: project,
        stateDir: await temp.make(),
        name: 'x',
        from: `oci:${multi.ref.layout}:nope`,
      }),
    ).rejects.toMatchObject({ code: 'OCI_NOT_FOUND' });
  });

  it('reads a base with Docker media types and writes OCI ones', async () => {
    const project = await makeProject(await temp.make(), new Date());
    const state = await temp.make();
    const { ref } = await build(project, state, { platform: 'linux/amd64' });
    const layout = await OciLayout.open(ref.layout);
    const manifest = await layout.readManifest(await layout.resolve('app'));
    const docker = await layout.writeJson(
      {
        schemaVersion: 2,
        mediaType: MediaType.dockerManifest,
        config: { ...manifest.config, mediaType: MediaType.dockerConfig },
        layers: manifest.layers.map((l) => ({ ...l, mediaType: MediaType.dockerLayerGzip })),
      },
      MediaType.dockerManifest,
    );
    await layout.tag('docker', docker);
    const child = await buildImage({
      context: project,
      stateDir: state,
      name: 'child',
      from: `oci:${ref.layout}:docker`,
      platform: 'linux/amd64',
    });
    const out = await layout.readManifest(await layout.resolve('child'));
    expect(out.mediaType).toBe(MediaType.ociManifest);
    expect(out.layers.map((l) => [l.mediaType, l.digest])).toEqual(
      manifest.layers.map((l) => [MediaType.ociLayerGzip, l.digest]),
    );
    expect(child.digest).not.toBe(ref.digest);
  });
});
