/**
 * Base images: reused base blobs are verified, bases made by Docker keep their config, bases with device
 * nodes are usable, base resolvers belong to one build, and a failed first build leaves no layout behind.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import { buildImage } from '../../src/image/builder.js';
import { image } from '../../src/image/step.js';
import { OciLayout } from '../../src/oci/layout.js';
import type { StepContext } from '../../src/pipeline/model.js';
import { createRegistryBaseResolver } from '../../src/registry/base.js';
import { copyImage } from '../../src/registry/copy.js';
import { DOCKER } from '../support/docker.js';
import { busyboxInDocker, busyboxLayout } from '../support/engine-images.js';
import { type AuthRegistry, startTlsBasicRegistry } from '../support/registry-auth.js';
import { TempDirs } from './support.js';

const temp = new TempDirs();
const dockerTags: string[] = [];

function docker(args: string[], input?: string | Buffer): string {
  return execFileSync(DOCKER, args, {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  }).trim();
}

/** The busybox layout's only layer (the blob a build would reuse). */
async function firstLayer(layoutDir: string): Promise<{ digest: `sha256:${string}`; size: number }> {
  const layout = await OciLayout.open(layoutDir);
  const manifest = await layout.readManifest(await layout.resolve('latest'));
  return manifest.layers[0] as { digest: `sha256:${string}`; size: number };
}

async function failure(promise: Promise<unknown>): Promise<VnfpipeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VnfpipeError);
  return error as VnfpipeError;
}

afterAll(async () => {
  for (const tag of dockerTags) execFileSync(DOCKER, ['rmi', '-f', tag], { stdio: 'ignore' });
  await temp.cleanup();
});

describe('base blobs are verified before reuse', () => {
  it('refuses a base layer whose digest does not match, naming the blob and the layout', async () => {
    const work = await temp.make();
    const base = join(work, 'base');
    await cp(busyboxLayout(), base, { recursive: true });
    const layer = await firstLayer(base);
    const path = join(base, 'blobs', 'sha256', layer.digest.slice(7));
    const bytes = await readFile(path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1); // same size, other content
    await writeFile(path, bytes);
    const error = await failure(
      buildImage({ context: work, layout: join(work, 'out'), name: 'x', from: `oci:${base}:latest` }),
    );
    expect(error.code).toBe('OCI_DIGEST_MISMATCH');
    expect(error.exitCode).toBe(1);
    expect(error.message).toContain(layer.digest);
    expect(error.where).toContain(`oci:${base}:latest`);
  });

  it('refuses a base layer of another size than its descriptor says', async () => {
    const work = await temp.make();
    const base = join(work, 'base');
    await cp(busyboxLayout(), base, { recursive: true });
    const layer = await firstLayer(base);
    const path = join(base, 'blobs', 'sha256', layer.digest.slice(7));
    await writeFile(path, Buffer.concat([await readFile(path), Buffer.from('x')]));
    const error = await failure(
      buildImage({ context: work, layout: join(work, 'out'), name: 'x', from: `oci:${base}:latest` }),
    );
    expect(error.code).toBe('OCI_DIGEST_MISMATCH');
    expect(error.message).toContain(`${layer.size + 1} bytes`);
  });

  it('remembers a verified blob in the cache, and checks again once the file changed', async () => {
    const work = await temp.make();
    const base = join(work, 'base');
    await cp(busyboxLayout(), base, { recursive: true });
    const layer = await firstLayer(base);
    const build = () =>
      buildImage({
        context: work,
        layout: join(work, 'out'),
        cacheDir: join(work, 'cache'),
        name: 'x',
        from: `oci:${base}:latest`,
      });
    await build();
    expect(existsSync(join(work, 'cache', 'verified', layer.digest.slice(7)))).toBe(true);
    // The target now shares the blob's inode; damaging it is noticed on the next build.
    const path = join(base, 'blobs', 'sha256', layer.digest.slice(7));
    const bytes = await readFile(path);
    bytes.writeUInt8(bytes.readUInt8(10) ^ 0xff, 10);
    await writeFile(path, bytes);
    expect((await failure(build())).code).toBe('OCI_DIGEST_MISMATCH');
  });
});

describe('bases made by Docker', () => {
  let work: string;
  beforeAll(async () => {
    work = await temp.make('vnfpipe-docker-base-');
  });

  it('keeps Shell, OnBuild and Healthcheck of a Docker-built base', async () => {
    const tag = `vnfpipe-test/image-shell:${randomBytes(4).toString('hex')}`;
    const context = join(work, 'shell-ctx');
    await mkdir(context, { recursive: true });
    await writeFile(
      join(context, 'Dockerfile'),
      [
        `FROM ${busyboxInDocker()}`,
        'SHELL ["/bin/sh", "-xc"]',
        'ONBUILD RUN echo building on me',
        'HEALTHCHECK --interval=5s CMD true',
        '',
      ].join('\n'),
    );
    execFileSync(DOCKER, ['build', '-q', '-t', tag, context], {
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
      stdio: 'pipe',
    });
    dockerTags.push(tag);
    const base = join(work, 'shell-base');
    // --format v2s2 keeps Docker's manifest and config (as a registry copy would), Shell and OnBuild included.
    execFileSync('skopeo', ['copy', '-q', '--format', 'v2s2', `docker-daemon:${tag}`, `oci:${base}:base`], {
      stdio: 'pipe',
    });
    const out = join(work, 'shell-out');
    await buildImage({
      context: work,
      layout: out,
      name: 'app',
      from: `oci:${base}:base`,
      layers: [{ content: { '/hello': 'hi' } }],
    });
    // skopeo reads the result; the config blob is read raw (skopeo --config re-encodes it as OCI's subset).
    const manifest = JSON.parse(
      execFileSync('skopeo', ['inspect', '--raw', `oci:${out}:app`], { encoding: 'utf8' }),
    );
    const config = JSON.parse(
      await readFile(join(out, 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8'),
    );
    expect(config.config.Shell).toEqual(['/bin/sh', '-xc']);
    expect(config.config.OnBuild).toEqual(['RUN echo building on me']);
    expect(config.config.Healthcheck.Test).toEqual(['CMD-SHELL', 'true']);
  });

  it('builds on a base whose layer has device nodes (docker import of a root filesystem)', async () => {
    const rootfs = join(work, 'rootfs');
    await mkdir(join(rootfs, 'dev'), { recursive: true });
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await cp('/bin/busybox', join(rootfs, 'bin', 'busybox'));
    execFileSync('mknod', [join(rootfs, 'dev', 'null'), 'c', '1', '3']);
    execFileSync('mknod', [join(rootfs, 'dev', 'zero'), 'c', '1', '5']);
    execFileSync('mkfifo', [join(rootfs, 'dev', 'initctl')]);
    const tag = `vnfpipe-test/image-devices:${randomBytes(4).toString('hex')}`;
    docker(['import', '-', tag], execFileSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 64 << 20 }));
    dockerTags.push(tag);
    const base = join(work, 'dev-base');
    execFileSync('skopeo', ['copy', '-q', `docker-daemon:${tag}`, `oci:${base}:base`], { stdio: 'pipe' });
    const out = join(work, 'dev-out');
    await buildImage({
      context: work,
      layout: out,
      name: 'app',
      from: `oci:${base}:base`,
      layers: [{ content: { '/etc/motd': 'hi' } }],
    });
    const bundle = join(work, 'dev-bundle');
    execFileSync('umoci', ['unpack', '--image', `${out}:app`, bundle], { stdio: 'pipe' });
    const listing = execFileSync('ls', ['-l', join(bundle, 'rootfs', 'dev')], { encoding: 'utf8' });
    expect(listing).toMatch(/^c.* null$/m);
    expect(listing).toMatch(/^p.* initctl$/m);
    expect(await readFile(join(bundle, 'rootfs', 'etc', 'motd'), 'utf8')).toBe('hi');
  });
});

describe('base resolvers belong to one build', () => {
  let registry: AuthRegistry;
  beforeAll(async () => {
    registry = await startTlsBasicRegistry({ alice: 'alice-secret', bob: 'bob-secret' });
    await copyImage(
      { transport: 'oci', dir: busyboxLayout(), ref: 'latest' },
      { transport: 'registry', registry: registry.host, repository: 'base/busybox', tag: '1' },
      {
        registries: {
          [registry.host]: {
            caFile: registry.caFile!,
            credentials: { kind: 'basic', username: 'alice', password: 'alice-secret' },
          },
        },
      },
    );
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('uses each concurrent build its own credentials', async () => {
    const work = await temp.make();
    const build = (name: string, password: string) =>
      buildImage({
        context: work,
        layout: join(work, name),
        name,
        from: `${registry.host}/base/busybox:1`,
        resolvers: [
          createRegistryBaseResolver({
            caFile: registry.caFile!,
            credentials: { kind: 'basic', username: name, password },
            dockerConfig: false,
            retry: { attempts: 1 },
          }),
        ],
        layers: [{ content: { '/who': name } }],
      });
    // bob's password is wrong: only his build may fail, whichever resolver was created last.
    const [alice, bob] = await Promise.allSettled([build('alice', 'alice-secret'), build('bob', 'wrong')]);
    expect(alice.status, String((alice as PromiseRejectedResult).reason)).toBe('fulfilled');
    expect(bob.status).toBe('rejected');
    expect(((bob as PromiseRejectedResult).reason as VnfpipeError).code).toBe('REGISTRY_AUTH');
    const [carol, dave] = await Promise.allSettled([build('carol', 'wrong'), build('alice', 'alice-secret')]);
    expect(carol.status).toBe('rejected');
    expect(dave.status, String((dave as PromiseRejectedResult).reason)).toBe('fulfilled');
  });
});

describe('image steps with registry bases', () => {
  let registry: AuthRegistry;
  beforeAll(async () => {
    registry = await startTlsBasicRegistry({ alice: 'alice-secret' });
    await copyImage(
      { transport: 'oci', dir: busyboxLayout(), ref: 'latest' },
      { transport: 'registry', registry: registry.host, repository: 'base/busybox', tag: '1' },
      {
        registries: {
          [registry.host]: {
            caFile: registry.caFile!,
            credentials: { kind: 'basic', username: 'alice', password: 'alice-secret' },
          },
        },
      },
    );
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('run concurrently, each with the credentials of its own environment', async () => {
    const cwd = await temp.make();
    const dockerConfig = join(cwd, 'docker-config');
    await mkdir(dockerConfig);
    const step = (id: string, password: string) => {
      const spec = image.build({
        from: `${registry.host}/base/busybox:1`,
        layers: [image.content({ '/who': id })],
      });
      const ctx: StepContext = {
        stepId: id,
        runId: 'r1',
        attempt: 1,
        cwd,
        workDir: join(cwd, '.vnfpipe', 'work', id),
        stateDir: join(cwd, '.vnfpipe'),
        signal: new AbortController().signal,
        env: {
          SSL_CERT_FILE: registry.caFile!,
          DOCKER_CONFIG: dockerConfig,
          VNFPIPE_REGISTRY_USERNAME: 'alice',
          VNFPIPE_REGISTRY_PASSWORD: password,
        },
        log: () => undefined,
        progress: () => undefined,
        onCleanup: () => undefined,
        output: () => {
          throw new Error('not used');
        },
        addSecret: () => undefined,
      };
      return spec.run(ctx, spec.options as never);
    };
    // The step with the wrong password starts last: with shared resolvers both would use its credentials.
    const [good, bad] = await Promise.allSettled([step('good', 'alice-secret'), step('bad', 'wrong')]);
    expect(good.status, String((good as PromiseRejectedResult).reason)).toBe('fulfilled');
    expect(bad.status).toBe('rejected');
    expect(((bad as PromiseRejectedResult).reason as VnfpipeError).code).toBe('REGISTRY_AUTH');
  });
});

describe('a failed first build', () => {
  it('leaves no layout directory behind', async () => {
    const work = await temp.make();
    const project = join(work, 'project');
    await mkdir(project);
    await writeFile(join(work, 'outside.txt'), 'no');
    const error = await failure(
      buildImage({
        context: project,
        layout: join(project, 'out'),
        name: 'x',
        layers: [{ files: { '../outside.txt': '/x' } }],
      }),
    );
    expect(error.code).toBe('LAYER_UNSAFE');
    expect(existsSync(join(project, 'out'))).toBe(false);
  });

  it('keeps an existing layout and its images', async () => {
    const work = await temp.make();
    await buildImage({ context: work, layout: join(work, 'out'), name: 'ok', layers: [] });
    await failure(
      buildImage({
        context: work,
        layout: join(work, 'out'),
        name: 'x',
        layers: [{ files: { nope: '/x' } }],
      }),
    );
    expect((await (await OciLayout.open(join(work, 'out'))).listRefs()).map((r) => r.name)).toEqual(['ok']);
  });
});
