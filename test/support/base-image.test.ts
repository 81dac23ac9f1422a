import { createHash } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OciLayout } from '../../src/oci/layout.js';
import { listTarGz } from '../image/support.js';
import { BASE_REF, BUSYBOX, baseImageKey, ensureBaseLayout } from './base-image.js';
import { REPO_ROOT } from './project.js';

const temps: string[] = [];
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the files the key is made from, to change one at a time. */
function inputsCopy(): { root: string; busybox: string } {
  const root = mkdtempSync(join(tmpdir(), 'vnfpipe-base-key-'));
  temps.push(root);
  for (const dir of ['src/image', 'src/oci'])
    cpSync(join(REPO_ROOT, dir), join(root, dir), { recursive: true });
  mkdirSync(join(root, 'test', 'support'), { recursive: true });
  cpSync(join(REPO_ROOT, 'test/support/base-image.ts'), join(root, 'test/support/base-image.ts'));
  cpSync(BUSYBOX, join(root, 'busybox'));
  return { root, busybox: join(root, 'busybox') };
}

describe('test base image (busybox-static, built by vnfpipe)', () => {
  it('is keyed by its inputs: the busybox bytes and the builder sources', () => {
    const inputs = inputsCopy();
    const key = baseImageKey(inputs);
    expect(baseImageKey(inputs)).toBe(key);
    expect(baseImageKey()).toBe(key); // the copy holds the same bytes as the repository

    appendFileSync(join(inputs.root, 'src/image/builder.ts'), '\n// changed\n');
    const afterBuilder = baseImageKey(inputs);
    expect(afterBuilder).not.toBe(key);

    appendFileSync(inputs.busybox, Buffer.from([0]));
    expect(baseImageKey(inputs)).not.toBe(afterBuilder);
  });

  it('is one busybox layer with applet links, and a damaged cached copy is rebuilt', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'vnfpipe-base-cache-'));
    temps.push(cache);
    const { layout, key } = await ensureBaseLayout(cache);
    expect(layout).toBe(join(cache, `busybox-${key}`));

    const oci = await OciLayout.open(layout);
    const manifest = await oci.readManifest(await oci.resolve(BASE_REF));
    expect(manifest.layers).toHaveLength(1);
    const config = await oci.readConfig(manifest.config);
    expect(config.config).toMatchObject({ Cmd: ['/bin/sh'], Env: ['PATH=/bin'] });
    const entries = listTarGz(await oci.readBlob(manifest.layers[0]!.digest));
    const byPath = new Map(entries.map((e) => [e.path.replace(/\/$/, ''), e]));
    expect(byPath.get('bin/busybox')?.content?.equals(readFileSync(BUSYBOX))).toBe(true);
    expect(byPath.get('bin/busybox')?.mode).toBe(0o755);
    expect(byPath.get('bin/sh')).toMatchObject({ type: '2', linkname: 'busybox' });
    expect(byPath.get('tmp')?.mode).toBe(0o1777);
    expect(byPath.get('etc/passwd')?.content?.toString()).toContain('nobody:x:65534');

    // Unchanged inputs: the cached layout is used as it is.
    const index = statSync(join(layout, 'index.json')).mtimeMs;
    expect((await ensureBaseLayout(cache)).layout).toBe(layout);
    expect(statSync(join(layout, 'index.json')).mtimeMs).toBe(index);

    // A blob that no longer matches its digest: built again, and whole.
    const blobs = join(layout, 'blobs', 'sha256');
    const layer = manifest.layers[0]!.digest.slice('sha256:'.length);
    writeFileSync(join(blobs, layer), 'damaged');
    await ensureBaseLayout(cache);
    expect(readdirSync(blobs)).toContain(layer);
    expect(
      createHash('sha256')
        .update(readFileSync(join(blobs, layer)))
        .digest('hex'),
    ).toBe(layer);
  });
});
