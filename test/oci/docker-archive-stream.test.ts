/**
 * A `docker save` stream copied into a layout as it arrives: the same image as the file-based import, and a
 * stream whose layers are not the ones the engine listed is refused.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { importDockerArchive } from '../../src/oci/docker-archive.js';
import { importDockerArchiveStream } from '../../src/oci/docker-archive-stream.js';
import { OciLayout } from '../../src/oci/layout.js';
import { busyboxInDocker, docker } from '../support/engine-images.js';

let archive: string;
let tag: string;
let diffIds: `sha256:${string}`[];

beforeAll(() => {
  tag = busyboxInDocker();
  archive = join(mkdtempSync(join(tmpdir(), 'vnfpipe-das-')), 'image.tar');
  docker('save', '-o', archive, tag);
  diffIds = JSON.parse(docker('image', 'inspect', '--format', '{{json .RootFS.Layers}}', tag));
});

const freshLayout = () => OciLayout.openOrCreate(join(mkdtempSync(join(tmpdir(), 'vnfpipe-das-')), 'oci'));

describe('docker archive stream import', () => {
  it('writes the same manifest, config and layers as the file-based import', async () => {
    const fromFile = await importDockerArchive(`docker-archive:${archive}:${tag}`, await freshLayout());
    const layout = await freshLayout();
    const streamed = await importDockerArchiveStream(createReadStream(archive), layout, {
      diffIds,
      where: tag,
    });
    expect(streamed.descriptor.digest).toBe(fromFile.descriptor.digest);
    expect(streamed.manifest.layers.map((l) => l.digest)).toEqual(diffIds);
    const blobs = readdirSync(join(layout.dir, 'blobs', 'sha256')).map((hex) => `sha256:${hex}`);
    for (const digest of [streamed.manifest.config.digest, ...diffIds]) expect(blobs).toContain(digest);
    // Nothing is left half-written.
    expect(readdirSync(join(layout.dir, '.tmp'))).toEqual([]);
  });

  it('refuses a layer the engine did not list, keeping no manifest', async () => {
    const layout = await freshLayout();
    const wrong = 'sha256:0000000000000000000000000000000000000000000000000000000000000000' as const;
    await expect(
      importDockerArchiveStream(createReadStream(archive), layout, { diffIds: [wrong], where: tag }),
    ).rejects.toMatchObject({
      code: 'OCI_INVALID',
      message: expect.stringMatching(/not one of the image's diff-ids/),
    });
    expect(await layout.listRefs()).toEqual([]);
    expect(readdirSync(join(layout.dir, '.tmp'))).toEqual([]);
  });

  it('fails, naming the stream, when the archive is cut short', async () => {
    const layout = await freshLayout();
    const size = Number(execFileSync('stat', ['-c', '%s', archive], { encoding: 'utf8' }));
    await expect(
      importDockerArchiveStream(createReadStream(archive, { end: Math.floor(size / 2) }), layout, {
        diffIds,
        where: tag,
      }),
    ).rejects.toThrow(/truncated|manifest\.json/i);
    expect(readdirSync(join(layout.dir, '.tmp'))).toEqual([]);
  });
});
