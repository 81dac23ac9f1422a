import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VnfpipeError } from '../../src/errors.js';
import { sha256 } from '../../src/oci/digest.js';
import { OciLayout } from '../../src/oci/layout.js';
import { canonicalJson } from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/media-types.js';

const dirs: string[] = [];
async function freshLayout(): Promise<OciLayout> {
  const dir = await mkdtemp(join(tmpdir(), 'vnfpipe-layout-'));
  dirs.push(dir);
  return OciLayout.openOrCreate(join(dir, 'oci'));
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function errorOf(promise: Promise<unknown>): Promise<VnfpipeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(VnfpipeError);
    return error as VnfpipeError;
  }
  throw new Error('expected a VnfpipeError');
}

/** A minimal image: one layer blob, a config and a manifest. */
async function writeImage(layout: OciLayout, content: string) {
  const layer = await layout.writeBlob(Buffer.from(content), MediaType.ociLayer);
  const config = await layout.writeJson(
    { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } },
    MediaType.ociConfig,
  );
  return layout.writeJson(
    { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] },
    MediaType.ociManifest,
  );
}

describe('OCI layout store', () => {
  it('creates oci-layout and index.json, tags several refs, resolves and lists them', async () => {
    const layout = await freshLayout();
    expect(JSON.parse(await readFile(join(layout.dir, 'oci-layout'), 'utf8'))).toEqual({
      imageLayoutVersion: '1.0.0',
    });
    const one = await writeImage(layout, 'one');
    const two = await writeImage(layout, 'two');
    await layout.tag('one', one);
    await layout.tag('two', two);
    await layout.tag('one', two); // retag replaces
    expect((await layout.listRefs()).map((r) => [r.name, r.descriptor.digest])).toEqual([
      ['two', two.digest],
      ['one', two.digest],
    ]);
    expect((await layout.resolve('one')).digest).toBe(two.digest);
    const manifest = await layout.readManifest(await layout.resolve('two'));
    expect((await layout.readConfig(manifest.config)).os).toBe('linux');
    expect((await errorOf(layout.resolve('nope'))).code).toBe('OCI_NOT_FOUND');
    expect((await errorOf(layout.resolve())).code).toBe('OCI_INVALID'); // two refs: must name one
  });

  it('serialises concurrent tag updates (no lost refs)', async () => {
    const layout = await freshLayout();
    const image = await writeImage(layout, 'x');
    await Promise.all(Array.from({ length: 20 }, (_, i) => layout.tag(`r${i}`, image)));
    const other = await OciLayout.open(layout.dir); // a second handle, as another process would have
    await Promise.all(Array.from({ length: 10 }, (_, i) => other.tag(`s${i}`, image)));
    expect((await layout.listRefs()).length).toBe(30);
  });

  it('writes the same blob concurrently without corruption and leaves no temp files', async () => {
    const layout = await freshLayout();
    const data = Buffer.alloc(3 * 1024 * 1024, 7);
    const results = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const writer = await layout.createBlobWriter();
        for (let at = 0; at < data.length; at += 65536) await writer.write(data.subarray(at, at + 65536));
        return writer.commit(sha256(data));
      }),
    );
    expect(new Set(results.map((r) => r.digest)).size).toBe(1);
    expect((await layout.readBlob(sha256(data))).equals(data)).toBe(true);
    expect(await readdir(join(layout.dir, '.tmp'))).toEqual([]);
  });

  it('refuses a streamed blob whose digest is not the expected one', async () => {
    const layout = await freshLayout();
    const writer = await layout.createBlobWriter();
    await writer.write(Buffer.from('abc'));
    expect((await errorOf(writer.commit(sha256('abd')))).code).toBe('OCI_DIGEST_MISMATCH');
    expect(await layout.hasBlob(sha256('abc'))).toBe(false);
  });

  it('detects corrupted blobs, malformed documents and wrong media types on read', async () => {
    const layout = await freshLayout();
    const manifest = await writeImage(layout, 'data');
    await layout.tag('img', manifest);

    const m = await layout.readManifest(manifest);
    await writeFile(layout.blobPath(m.config.digest), '{"tampered": true}');
    const mismatch = await errorOf(layout.readConfig(m.config));
    expect(mismatch.code).toBe('OCI_DIGEST_MISMATCH');
    expect(mismatch.where).toContain(m.config.digest.slice(7));

    const bad = await layout.writeBlob(Buffer.from('{"schemaVersion": 2, "config": '), MediaType.ociManifest);
    const malformed = await errorOf(layout.readManifest(bad));
    expect(malformed.code).toBe('OCI_INVALID');
    expect(malformed.message).toMatch(/malformed JSON/);

    const asIndex = await errorOf(layout.readImageIndex({ ...manifest, mediaType: MediaType.ociIndex }));
    expect(asIndex.code).toBe('OCI_INVALID');

    const missing = await errorOf(layout.readManifest({ ...manifest, digest: sha256('nothing') }));
    expect(missing.code).toBe('OCI_NOT_FOUND');

    await writeFile(join(layout.dir, 'index.json'), '{"schemaVersion":2,"manifests":[{"digest":"x"}]}');
    const index = await errorOf(layout.listRefs());
    expect(index.code).toBe('OCI_INVALID');
    expect(index.where).toBe(join(layout.dir, 'index.json'));
  });

  it('refuses oversized manifests', async () => {
    const layout = await freshLayout();
    const big = canonicalJson({ schemaVersion: 2, pad: 'x'.repeat(4 * 1024 * 1024 + 1) });
    const descriptor = await layout.writeBlob(big, MediaType.ociManifest);
    expect((await errorOf(layout.readManifest(descriptor))).code).toBe('OCI_INVALID');
  });

  it('garbage-collects blobs no ref reaches', async () => {
    const layout = await freshLayout();
    const kept = await writeImage(layout, 'kept');
    const dropped = await writeImage(layout, 'dropped');
    await layout.tag('kept', kept);
    await layout.tag('dropped', dropped);
    await layout.untag('dropped');
    const result = await layout.gc();
    expect(result.removed).toContain(dropped.digest);
    expect(result.removed).toContain(sha256('dropped'));
    expect(result.removed).not.toContain(sha256('kept'));
    expect(await layout.hasBlob(kept.digest)).toBe(true);
    await layout.readManifest(kept); // still whole
  });

  it('reports a missing layout clearly', async () => {
    const error = await errorOf(OciLayout.open('/nonexistent/vnfpipe/layout'));
    expect(error.code).toBe('OCI_NOT_FOUND');
    expect(error.where).toBe('/nonexistent/vnfpipe/layout');
  });
});
