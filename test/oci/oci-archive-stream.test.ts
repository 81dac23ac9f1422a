/**
 * An OCI layout as one tar stream (BuildKit's `oci` exporter output; here written by skopeo's oci-archive
 * transport, an independent writer of the same format) read into a layout: the same image comes out, skopeo
 * reads the result, and a blob whose bytes do not match its name, a missing blob or a cut-off stream is refused.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { OciLayout } from '../../src/oci/layout.js';
import { importOciArchiveStream } from '../../src/oci/oci-archive-stream.js';
import { addRandomLayer, layoutDigest, makeBaseLayout } from '../support/images.js';

const work = mkdtempSync(join(tmpdir(), 'vnfpipe-ociar-'));
let source: string;
let archive: string;
let digest: string;

beforeAll(() => {
  source = makeBaseLayout(join(work, 'source'));
  addRandomLayer(source, 'latest', 'app', 64 * 1024);
  digest = layoutDigest(source, 'app');
  archive = join(work, 'image.tar');
  execFileSync('skopeo', [
    'copy',
    '-q',
    '--preserve-digests',
    `oci:${source}:app`,
    `oci-archive:${archive}:app`,
  ]);
});

const freshLayout = () => OciLayout.openOrCreate(join(mkdtempSync(join(tmpdir(), 'vnfpipe-ociar-')), 'oci'));

/** The archive unpacked, changed by `edit`, and packed again in the same member order. */
function editedArchive(edit: (dir: string) => void): string {
  const dir = mkdtempSync(join(work, 'edit-'));
  execFileSync('tar', ['-xf', archive, '-C', dir]);
  const members = execFileSync('tar', ['-tf', archive]).toString().trim().split('\n');
  edit(dir);
  const out = join(dir, '..', `${dir.split('/').at(-1)}.tar`);
  execFileSync('tar', ['-cf', out, '-C', dir, '--no-recursion', ...members.filter((m) => m !== '')]);
  return out;
}

describe('OCI archive stream import', () => {
  it('copies the image: the same manifest digest, and skopeo reads the layout', async () => {
    const layout = await freshLayout();
    const top = await importOciArchiveStream(createReadStream(archive), layout, { where: 'test' });
    expect(top.digest).toBe(digest);
    await layout.tag('got', top);
    const inspected = JSON.parse(
      execFileSync('skopeo', ['inspect', '--raw', `oci:${layout.dir}:got`]).toString(),
    );
    expect(inspected.layers).toHaveLength(2);
    // Nothing is left half-written.
    expect(readdirSync(join(layout.dir, '.tmp'))).toEqual([]);
  });

  it('refuses a blob whose bytes are not the digest it is named by', async () => {
    const tampered = editedArchive((dir) => {
      const blobs = join(dir, 'blobs', 'sha256');
      const [largest] = readdirSync(blobs)
        .map((name) => ({ name, size: readFileSync(join(blobs, name)).length }))
        .sort((a, b) => b.size - a.size);
      const path = join(blobs, largest!.name);
      const bytes = readFileSync(path);
      bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0xff;
      writeFileSync(path, bytes);
    });
    const layout = await freshLayout();
    await expect(
      importOciArchiveStream(createReadStream(tampered), layout, { where: 'tampered' }),
    ).rejects.toMatchObject({ code: 'OCI_DIGEST_MISMATCH', where: 'tampered' });
    // The refused blob is not kept, under its name or as a temporary file.
    expect(readdirSync(join(layout.dir, '.tmp'))).toEqual([]);
  });

  it('refuses an archive that lacks a blob its manifest names', async () => {
    const dir = mkdtempSync(join(work, 'missing-'));
    execFileSync('tar', ['-xf', archive, '-C', dir]);
    const manifest = JSON.parse(readFileSync(join(dir, 'blobs', 'sha256', digest.slice(7)), 'utf8'));
    const layer = manifest.layers[1].digest.slice(7);
    const members = execFileSync('tar', ['-tf', archive])
      .toString()
      .trim()
      .split('\n')
      .filter((m) => !m.endsWith(layer));
    const out = join(work, 'missing.tar');
    execFileSync('tar', ['-cf', out, '-C', dir, '--no-recursion', ...members]);
    await expect(
      importOciArchiveStream(createReadStream(out), await freshLayout(), { where: 'missing' }),
    ).rejects.toMatchObject({
      code: 'OCI_INVALID',
      message: expect.stringContaining(`lacks blob sha256:${layer}`),
    });
  });

  it('refuses a stream cut off mid-archive, and one without index.json', async () => {
    const bytes = readFileSync(archive);
    const cut = Readable.from([bytes.subarray(0, Math.floor(bytes.length / 2))]);
    await expect(importOciArchiveStream(cut, await freshLayout(), { where: 'cut' })).rejects.toThrow();
    const noIndex = editedArchive(() => {});
    const members = execFileSync('tar', ['-tf', noIndex]).toString().trim().split('\n');
    const dir = mkdtempSync(join(work, 'noindex-'));
    execFileSync('tar', ['-xf', noIndex, '-C', dir]);
    const out = join(work, 'noindex.tar');
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', [
      '-cf',
      out,
      '-C',
      dir,
      '--no-recursion',
      ...members.filter((m) => m !== 'index.json'),
    ]);
    await expect(
      importOciArchiveStream(createReadStream(out), await freshLayout(), { where: 'noindex' }),
    ).rejects.toMatchObject({ code: 'OCI_INVALID', message: 'the archive has no index.json' });
  });
});
