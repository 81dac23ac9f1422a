import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import { buildImage } from '../../src/image/builder.js';
import type { ImageManifest } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/media-types.js';
import { requireTool, TempDirs } from './support.js';

const temp = new TempDirs();
afterAll(() => temp.cleanup());

describe('zstd layers (opt-in)', () => {
  let project: string;
  beforeAll(async () => {
    project = await temp.make('vnfpipe-zstd-');
    await mkdir(join(project, 'app'), { recursive: true });
    // More than one 4 MiB chunk, so the layer is several zstd frames.
    await writeFile(join(project, 'app', 'random.bin'), randomBytes(5 * 1024 * 1024));
    await writeFile(join(project, 'app', 'text.txt'), 'interface eth1 data plane\n'.repeat(200_000));
  });

  const build = (context: string, compression?: 'gzip' | 'zstd', level?: number) =>
    buildImage({
      context,
      stateDir: join(context, '.state'),
      name: 'app',
      layers: [{ files: { app: '/opt/app' } }],
      ...(compression ? { compression } : {}),
      ...(level !== undefined ? { compressionLevel: level } : {}),
    });

  it('writes tar+zstd layers that zstd decompresses to the diff-id, the same bytes from any directory', async () => {
    requireTool('zstd');
    const ref = await build(project, 'zstd');
    const manifestOf = async (layout: string, digest: string) =>
      JSON.parse(await readFile(join(layout, 'blobs', 'sha256', digest.slice(7)), 'utf8')) as ImageManifest;
    const manifest = await manifestOf(ref.layout, ref.digest);
    const layer = manifest.layers[0]!;
    expect(layer.mediaType).toBe(MediaType.ociLayerZstd);
    const blob = join(ref.layout, 'blobs', 'sha256', layer.digest.slice(7));
    const tar = execFileSync('zstd', ['-d', '-c', blob], { maxBuffer: 64 * 1024 * 1024 });
    const config = JSON.parse(
      await readFile(join(ref.layout, 'blobs', 'sha256', manifest.config.digest.slice(7)), 'utf8'),
    ) as { rootfs: { diff_ids: string[] } };
    expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(config.rootfs.diff_ids[0]);
    expect(tar.includes(Buffer.from('opt/app/text.txt'))).toBe(true);

    const copy = await temp.make('vnfpipe-zstd-copy-');
    await cp(join(project, 'app'), join(copy, 'app'), { recursive: true });
    expect((await build(copy, 'zstd')).digest).toBe(ref.digest);

    // The gzip build of the same files differs (another media type), and gzip stays the default.
    const gz = await build(copy);
    expect(gz.digest).not.toBe(ref.digest);
    expect((await manifestOf(gz.layout, gz.digest)).layers[0]!.mediaType).toBe(MediaType.ociLayerGzip);
  });

  it('refuses a zstd level outside 1–19 and an unknown codec, naming them', async () => {
    await expect(build(project, 'zstd', 0)).rejects.toThrow(/zstd compression level must be 1–19, got 0/);
    await expect(build(project, 'brotli' as never)).rejects.toThrow(VnfpipeError);
    await expect(build(project, 'brotli' as never)).rejects.toThrow(/unknown compression "brotli"/);
  });
});
