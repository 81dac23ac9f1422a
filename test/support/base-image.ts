/**
 * The busybox base image of the tests, built by vnfpipe's own builder from Debian's busybox-static: one
 * layer with /bin/busybox, a link per applet, /etc/passwd, /etc/group and a sticky /tmp; `cmd /bin/sh`,
 * `PATH=/bin`. Nothing outside the repository is read but the busybox binary.
 *
 * The layout is cached under a key hashed from every input (the busybox bytes, the builder's and OCI code's
 * sources, this file), so a changed input builds a new image instead of reusing a stale one, and a cached
 * layout whose blobs no longer match their digests is rebuilt.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildImage } from '../../src/image/builder.js';
import { LAYER_FORMAT_VERSION } from '../../src/image/cache.js';
import { REPO_ROOT } from './project.js';

/** Debian's busybox-static. */
export const BUSYBOX = '/bin/busybox';
/** The ref the base has in its layout. */
export const BASE_REF = 'latest';
/** Where keyed test images are kept: inside the clone, thrown away with node_modules. */
export const TEST_CACHE = join(REPO_ROOT, 'node_modules', '.cache', 'vnfpipe-test');

/** 2020-01-01T00:00:00Z: a fixed time, so the same inputs give the same digest. */
const EPOCH = 1_577_836_800;

function sourcesOf(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .sort()
    .map((f) => join(dir, f));
}

/** What the base is made from: the busybox binary and the tree holding the builder's sources. */
export interface BaseInputs {
  busybox?: string;
  root?: string;
}

/** The cache key: sha256 over the busybox bytes and the source of everything that shapes the image. */
export function baseImageKey({ busybox = BUSYBOX, root = REPO_ROOT }: BaseInputs = {}): string {
  if (!existsSync(busybox)) {
    throw new Error(`${busybox} is missing: install the Debian package busybox-static`);
  }
  const hash = createHash('sha256').update(`busybox-base\0${LAYER_FORMAT_VERSION}\0`);
  hash.update(readFileSync(busybox));
  const files = [
    ...sourcesOf(join(root, 'src', 'image')),
    ...sourcesOf(join(root, 'src', 'oci')),
    join(root, 'test', 'support', 'base-image.ts'),
  ];
  for (const file of files) {
    hash.update(`\0${file.slice(root.length)}\0`);
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 20);
}

/** True when every blob of the layout is present and matches its digest. */
async function layoutIntact(dir: string): Promise<boolean> {
  try {
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as {
      manifests?: Array<{ annotations?: Record<string, string> }>;
    };
    const tagged = index.manifests?.some(
      (m) => m.annotations?.['org.opencontainers.image.ref.name'] === BASE_REF,
    );
    if (!tagged) return false;
    const blobs = join(dir, 'blobs', 'sha256');
    for (const name of await readdir(blobs)) {
      const actual = createHash('sha256')
        .update(await readFile(join(blobs, name)))
        .digest('hex');
      if (actual !== name) return false;
    }
    return true;
  } catch {
    return false;
  }
}

async function buildInto(layout: string, context: string, busybox: string): Promise<void> {
  const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .map((a) => a.trim())
    .filter((a) => a && a !== 'busybox');
  const symlinks: Record<string, string> = {};
  for (const applet of applets) symlinks[`/bin/${applet}`] = 'busybox';
  await mkdir(context, { recursive: true });
  await buildImage({
    context,
    layout,
    name: BASE_REF,
    sourceDateEpoch: EPOCH,
    cmd: ['/bin/sh'],
    env: { PATH: '/bin' },
    layers: [
      {
        name: 'busybox-static root filesystem',
        directories: { '/bin': {}, '/etc': {}, '/tmp': { mode: 0o1777 } },
        content: {
          '/bin/busybox': { content: readFileSync(busybox), mode: 0o755 },
          '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
          '/etc/group': 'root:x:0:\nnogroup:x:65534:\n',
        },
        symlinks,
      },
    ],
  });
}

/**
 * The base layout (ref `latest`) for the current inputs, built when missing or damaged. Safe to call from
 * several processes at once: each builds in a private folder and the first rename wins.
 */
export async function ensureBaseLayout(
  cacheRoot = TEST_CACHE,
  inputs: BaseInputs = {},
): Promise<{ layout: string; key: string }> {
  const key = baseImageKey(inputs);
  const layout = join(cacheRoot, `busybox-${key}`);
  if (await layoutIntact(layout)) return { layout, key };
  await rm(layout, { recursive: true, force: true });
  const work = join(cacheRoot, `.build-${key}-${randomBytes(4).toString('hex')}`);
  try {
    await buildInto(join(work, 'oci'), join(work, 'context'), inputs.busybox ?? BUSYBOX);
    await rename(join(work, 'oci'), layout).catch(async (error: NodeJS.ErrnoException) => {
      // Another process finished the same build first: use its result.
      if (!(await layoutIntact(layout))) throw error;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { layout, key };
}
