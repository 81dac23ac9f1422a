/**
 * The realistic test image: a debootstrap'd Debian bookworm minbase, built once per day into the system
 * temp dir (≈1 min) and packed as a one-layer OCI layout. When debootstrap cannot run (no mirror), callers
 * get the reason and must say so visibly.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createGzip } from 'node:zlib';

export interface Minbase {
  rootfs: string;
  layout: string;
  ref: string;
}

export function minbaseCacheDir(): string {
  return (
    process.env.VNFPIPE_MINBASE_DIR ??
    join(tmpdir(), `vnfpipe-minbase-${new Date().toISOString().slice(0, 10)}`)
  );
}

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name} || test -x /usr/sbin/${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Packs the root filesystem as a gzip layer without /dev, /proc, /sys contents and apt's caches. */
async function packLayout(rootfs: string, layout: string): Promise<void> {
  const tmp = `${layout}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'blobs', 'sha256'), { recursive: true });
  const layerFile = join(tmp, 'layer.tmp');
  const diff = createHash('sha256');
  const blob = createHash('sha256');
  let size = 0;
  await new Promise<void>((ok, fail) => {
    const tar = spawn(
      'tar',
      [
        '--numeric-owner',
        '--sort=name',
        '--exclude=./dev/*',
        '--exclude=./proc/*',
        '--exclude=./sys/*',
        '--exclude=./var/cache/apt/*',
        '--exclude=./var/lib/apt/lists/*',
        '-C',
        rootfs,
        '-cf',
        '-',
        '.',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const gzip = createGzip({ level: 6 });
    const out = createWriteStream(layerFile);
    tar.stdout.on('data', (chunk: Buffer) => diff.update(chunk));
    gzip.on('data', (chunk: Buffer) => {
      blob.update(chunk);
      size += chunk.length;
    });
    tar.stdout.pipe(gzip).pipe(out);
    out.on('finish', ok);
    tar.on('error', fail);
    tar.on('exit', (code) => (code === 0 ? undefined : fail(new Error(`tar exited ${code}`))));
  });
  const layerDigest = blob.digest('hex');
  renameSync(layerFile, join(tmp, 'blobs', 'sha256', layerDigest));
  const put = (data: Buffer) => {
    const hex = createHash('sha256').update(data).digest('hex');
    writeFileSync(join(tmp, 'blobs', 'sha256', hex), data);
    return { digest: `sha256:${hex}`, size: data.length };
  };
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['bash'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${diff.digest('hex')}`] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(config) },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${layerDigest}`, size },
      ],
    }),
  );
  const m = put(manifest);
  writeFileSync(join(tmp, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(tmp, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...m,
          annotations: { 'org.opencontainers.image.ref.name': 'bookworm' },
        },
      ],
    }),
  );
  rmSync(layout, { recursive: true, force: true });
  renameSync(tmp, layout);
}

/** Returns the cached minbase image, building it when missing; or the reason it cannot be built. */
export async function ensureMinbase(): Promise<Minbase | { unavailable: string }> {
  const dir = minbaseCacheDir();
  const rootfs = join(dir, 'rootfs');
  const layout = join(dir, 'layout');
  if (!existsSync(join(rootfs, 'var', 'lib', 'dpkg', 'status'))) {
    if (!hasCommand('debootstrap'))
      return { unavailable: 'debootstrap is not installed (apt-get install debootstrap)' };
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, 'rootfs.tmp');
    rmSync(tmp, { recursive: true, force: true });
    try {
      execFileSync('debootstrap', ['--variant=minbase', 'bookworm', tmp], {
        stdio: 'pipe',
        timeout: 15 * 60_000,
      });
    } catch (error) {
      const e = error as { stderr?: Buffer; stdout?: Buffer; message: string };
      const tail = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`
        .trim()
        .split('\n')
        .slice(-3)
        .join(' | ');
      return { unavailable: `debootstrap --variant=minbase bookworm failed: ${tail || e.message}` };
    }
    renameSync(tmp, rootfs);
  }
  if (!existsSync(join(layout, 'index.json'))) await packLayout(rootfs, layout);
  return { rootfs, layout, ref: `oci:${layout}:bookworm` };
}

/**
 * The same root filesystem as an image that KEEPS its device nodes (/dev/console, /dev/null…), the way
 * debootstrap leaves them and `docker import` or older images ship them: `umoci insert` of the whole tree.
 */
export function ensureMinbaseWithDevices(minbase: Minbase): { layout: string; ref: string } {
  const layout = join(dirname(minbase.layout), 'layout-dev');
  if (!existsSync(join(layout, 'index.json'))) {
    const tmp = `${layout}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    execFileSync('umoci', ['init', '--layout', tmp], { stdio: 'pipe' });
    execFileSync('umoci', ['new', '--image', `${tmp}:bookworm`], { stdio: 'pipe' });
    execFileSync('umoci', ['insert', '--image', `${tmp}:bookworm`, minbase.rootfs, '/'], {
      stdio: 'pipe',
      timeout: 10 * 60_000,
    });
    rmSync(layout, { recursive: true, force: true });
    renameSync(tmp, layout);
  }
  return { layout, ref: `oci:${layout}:bookworm` };
}
