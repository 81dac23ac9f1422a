/**
 * Test images as OCI layouts: the shared busybox base (`make-base.sh`), optionally with a layer of random
 * bytes added by umoci (big enough to exercise chunked and resumed uploads).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from './project.js';

export const SHARED_DIR = resolve(REPO_ROOT, '../shared');

let baseCache: string | undefined;

/** The busybox base layout (tag `latest`), built once per test file into `cacheDir` and copied to `dir`. */
export function makeBaseLayout(dir: string, cacheDir: string): string {
  if (!baseCache || !existsSync(baseCache)) {
    baseCache = join(cacheDir, 'base-cache');
    execFileSync('bash', [join(SHARED_DIR, 'bench', 'make-base.sh'), baseCache], { stdio: 'ignore' });
  }
  cpSync(baseCache, dir, { recursive: true });
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
