/**
 * Test images as OCI layouts: the busybox base (base-image.ts), optionally with a layer of random bytes added
 * by umoci (big enough to exercise chunked and resumed uploads).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxLayout } from './engine-images.js';

/** A private copy of the busybox base layout (tag `latest`) at `dir`, free to change. */
export function makeBaseLayout(dir: string): string {
  cpSync(busyboxLayout(), dir, { recursive: true });
  return dir;
}

/** Adds a layer holding `/data/<name>` of `size` random bytes; the result is tagged `tag`. */
export function addRandomLayer(
  layoutDir: string,
  fromTag: string,
  tag: string,
  size: number,
  name = 'blob.bin',
): void {
  const work = join(layoutDir, '..', `layer-${randomBytes(4).toString('hex')}`);
  mkdirSync(join(work, 'data'), { recursive: true });
  writeFileSync(join(work, 'data', name), randomBytes(size));
  execFileSync(
    'umoci',
    [
      'insert',
      '--history.created',
      '2020-01-01T00:00:00Z',
      '--image',
      `${layoutDir}:${fromTag}`,
      '--tag',
      tag,
      join(work, 'data'),
      '/data',
    ],
    { stdio: 'ignore' },
  );
}

/** The digest a layout's index.json gives a tag. */
export function layoutDigest(layoutDir: string, tag: string): string {
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  const found = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!found) throw new Error(`no tag ${tag} in ${layoutDir}`);
  return found.digest;
}
