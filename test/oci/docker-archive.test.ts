/**
 * `docker-archive:` sources against real `docker save` output (Docker's own format, uncompressed layers):
 * as a build base, as a layout reference for scan and push, and refused when damaged or ambiguous.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import { buildImage } from '../../src/image/builder.js';
import { asLayoutReference, DockerArchive, importDockerArchive } from '../../src/oci/docker-archive.js';
import { OciLayout } from '../../src/oci/layout.js';
import { definePipeline } from '../../src/pipeline/define.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { push } from '../../src/registry/step.js';
import { runScan } from '../../src/scan/run.js';
import { TempDirs } from '../image/support.js';
import { DOCKER } from '../support/docker.js';
import { busyboxInDocker } from '../support/engine-images.js';
import { startRegistry } from '../support/registry.js';

const temp = new TempDirs();
const suffix = randomBytes(4).toString('hex');
const APP = `vnfpipe-test/archive-app:${suffix}`;
const OTHER = `vnfpipe-test/archive-other:${suffix}`;
let work: string;
let single: string;
let both: string;

function run(file: string, args: string[], env?: NodeJS.ProcessEnv): string {
  return execFileSync(file, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
    maxBuffer: 64 << 20,
  });
}

/** The engine's diff-ids of an image: what the archive's layers must hash to. */
function engineLayers(tag: string): string[] {
  return JSON.parse(run(DOCKER, ['image', 'inspect', '--format', '{{json .RootFS.Layers}}', tag]));
}

async function failure(promise: Promise<unknown>): Promise<VnfpipeError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VnfpipeError);
  return error as VnfpipeError;
}

beforeAll(async () => {
  work = await temp.make('vnfpipe-docker-archive-');
  const context = join(work, 'ctx');
  await mkdir(context);
  await writeFile(join(context, 'hello.txt'), 'hello from an archive\n');
  await writeFile(join(context, 'Dockerfile'), `FROM ${busyboxInDocker()}\nCOPY hello.txt /hello.txt\n`);
  const env = { ...process.env, DOCKER_BUILDKIT: '0' };
  run(DOCKER, ['build', '-q', '-t', APP, context], env);
  await writeFile(join(context, 'hello.txt'), 'another\n');
  run(DOCKER, ['build', '-q', '-t', OTHER, context], env);
  single = join(work, 'app.tar');
  both = join(work, 'both.tar');
  run(DOCKER, ['save', '-o', single, APP]);
  run(DOCKER, ['save', '-o', both, APP, OTHER]);
});

afterAll(async () => {
  execFileSync(DOCKER, ['rmi', '-f', APP, OTHER], { stdio: 'ignore' });
  await temp.cleanup();
});

describe('docker-archive: sources', () => {
  it('builds on a docker save archive; skopeo and umoci read the result', async () => {
    const out = join(work, 'out');
    await buildImage({
      context: work,
      layout: out,
      name: 'app',
      from: `docker-archive:${single}`,
      layers: [{ content: { '/etc/motd': 'built on an archive' } }],
      cmd: ['/bin/cat', '/hello.txt'],
    });
    const config = JSON.parse(run('skopeo', ['inspect', '--config', `oci:${out}:app`]));
    const base = engineLayers(APP);
    expect(config.rootfs.diff_ids.slice(0, base.length)).toEqual(base);
    expect(config.rootfs.diff_ids).toHaveLength(base.length + 1);
    const bundle = join(work, 'bundle');
    run('umoci', ['unpack', '--image', `${out}:app`, bundle]);
    expect(await readFile(join(bundle, 'rootfs', 'hello.txt'), 'utf8')).toBe('hello from an archive\n');
    expect(await readFile(join(bundle, 'rootfs', 'etc', 'motd'), 'utf8')).toBe('built on an archive');
  });

  it('picks an image of a multi-image archive by tag or index, and asks when none is named', async () => {
    const layout = await OciLayout.openOrCreate(join(work, 'pick'));
    const byTag = await importDockerArchive(`docker-archive:${both}:${OTHER}`, layout);
    expect(byTag.config.rootfs.diff_ids).toEqual(engineLayers(OTHER));
    // docker save orders manifest.json as it likes: @1 is whichever image is second there.
    const second = (await DockerArchive.open(both)).images[1]!.repoTags[0]!;
    expect([APP, OTHER]).toContain(second);
    const byIndex = await importDockerArchive(`docker-archive:${both}:@1`, layout);
    expect(byIndex.config.rootfs.diff_ids).toEqual(engineLayers(second));
    const ambiguous = await failure(importDockerArchive(`docker-archive:${both}`, layout));
    expect(ambiguous.code).toBe('USAGE');
    expect(ambiguous.hint).toContain(APP);
    expect(ambiguous.hint).toContain(OTHER);
    const missing = await failure(importDockerArchive(`docker-archive:${both}:nosuch:1`, layout));
    expect(missing.code).toBe('OCI_NOT_FOUND');
  });

  it('turns an archive into a layout reference that skopeo reads (for scan and push)', async () => {
    const ref = await asLayoutReference(`docker-archive:${single}`, { cacheDir: join(work, 'as-layout') });
    expect(ref).toMatch(/^oci:.*:image$/);
    const inspected = JSON.parse(run('skopeo', ['inspect', ref]));
    expect(inspected.Layers).toEqual(engineLayers(APP)); // uncompressed: digest = diff-id
    expect(await asLayoutReference(`docker-archive:${single}`, { cacheDir: join(work, 'as-layout') })).toBe(
      ref,
    );
    expect(await asLayoutReference('oci:elsewhere:x')).toBe('oci:elsewhere:x');
  });

  it('is scanned by the scan step and command, and the report names the archive', async () => {
    const outcome = await runScan({ image: `docker-archive:app.tar`, cwd: work, skipVulnerabilities: true });
    expect(outcome.result.image.ref).toBe('docker-archive:app.tar');
    expect(outcome.result.image.layers.map((l) => l.digest)).toEqual(engineLayers(APP));
  });

  it('is pushed by the push step', async () => {
    const registry = await startRegistry();
    try {
      const pipeline = definePipeline('archive-push', (p) => {
        p.step('push', push({ image: 'docker-archive:app.tar', to: `${registry.host}/vnf/archived:1` }));
      });
      const result = await runPipeline(pipeline, { cwd: work });
      expect(result.steps.push?.error).toBeUndefined();
      const inspected = JSON.parse(
        run('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/vnf/archived:1`]),
      );
      expect(inspected.Layers).toEqual(engineLayers(APP));
    } finally {
      await registry.stop();
    }
  });

  it('refuses an archive whose layer does not match the config', async () => {
    const unpacked = join(work, 'unpacked');
    await mkdir(unpacked);
    run('tar', ['-C', unpacked, '-xf', single]);
    const manifest = JSON.parse(await readFile(join(unpacked, 'manifest.json'), 'utf8'));
    const layer = join(unpacked, manifest[0].Layers.at(-1));
    const bytes = await readFile(layer);
    bytes.writeUInt8(bytes.readUInt8(600) ^ 0xff, 600); // inside the first file's content
    await writeFile(layer, bytes);
    const damaged = join(work, 'damaged.tar');
    run('tar', ['-C', unpacked, '-cf', damaged, '.']);
    const layout = await OciLayout.openOrCreate(join(work, 'damaged-out'));
    const error = await failure(importDockerArchive(`docker-archive:${damaged}`, layout));
    expect(error.code).toBe('OCI_DIGEST_MISMATCH');
    expect(error.message).toContain(manifest[0].Layers.at(-1));
    expect(error.where).toBe(`docker-archive:${damaged}`);
  });

  it('says what is wrong with a file that is not an archive', async () => {
    const bogus = join(work, 'bogus.tar');
    await writeFile(bogus, 'not a tar at all'.repeat(64));
    const layout = await OciLayout.openOrCreate(join(work, 'bogus-out'));
    const error = await failure(importDockerArchive(`docker-archive:${bogus}`, layout));
    expect(error.code).toBe('OCI_INVALID');
    expect(error.where).toBe(bogus);
    const absent = await failure(importDockerArchive(`docker-archive:${join(work, 'nope.tar')}`, layout));
    expect(absent.code).toBe('OCI_NOT_FOUND');
  });
});
