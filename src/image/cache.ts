/**
 * The layer cache. A layer's bytes are decided by its entries (paths, types, modes, owners, link targets,
 * file contents) and the build options (timestamp, gzip level, zlib version). Two keys lead to a layer:
 *
 * - the stat key: entries plus each host file's fingerprint (device, inode, size, mtime, ctime). Checking it
 *   costs one `lstat` per file, so an unchanged tree is recognised without reading a byte.
 * - the content key: the layer's diff-id (sha256 of its tar, i.e. of every entry and content) plus the
 *   options the tar does not carry. When the stat key misses but the same set of paths was built before
 *   (a fresh checkout, touched files), the tar is hashed without compressing it, and an identical layer is
 *   found by content.
 *
 * The compressed blob is kept as a hardlink in the cache, so a new or garbage-collected layout gets it back
 * without recompressing.
 */
import { createHash } from 'node:crypto';
import { copyFile, link, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../oci/digest.js';
import { digestHex, isDigest } from '../oci/digest.js';
import type { OciLayout } from '../oci/layout.js';
import type { LayerEntry } from './entries.js';
import type { LayerResult } from './types.js';

/** Bump when the bytes a given input produces change (tar or gzip format). */
export const LAYER_FORMAT_VERSION = 'vnfpipe-layer-2';

export interface LayerKeyOptions {
  level: number;
  mtime: number;
  /** `zstd <library version>` for zstd layers; gzip when absent. */
  zstd?: string;
}

function optionsLine(options: LayerKeyOptions): string {
  const codec = options.zstd ? `zstd ${options.zstd}` : `zlib ${process.versions.zlib}`;
  return `${LAYER_FORMAT_VERSION}\0${options.level}\0${options.mtime}\0${codec}\n`;
}

/** Key from metadata and file fingerprints: valid while no file is touched. */
export function statKey(entries: LayerEntry[], options: LayerKeyOptions): string {
  const hash = createHash('sha256').update(`stat\0${optionsLine(options)}`);
  for (const e of entries) {
    let content = '';
    if (e.source?.kind === 'host') {
      const s = e.source;
      content = `${s.path}\0${s.dev}:${s.ino}:${s.mtimeMs}:${s.ctimeMs}`;
    } else if (e.source?.kind === 'inline')
      content = createHash('sha256').update(e.source.data).digest('hex');
    hash.update(
      `${e.path}\0${e.type}\0${e.mode}\0${e.uid}\0${e.gid}\0${e.size}\0${e.linkname ?? ''}\0${content}\n`,
    );
  }
  return hash.digest('hex');
}

/** Key from the layer's content (its diff-id) and the options that shape the compressed bytes. */
export function contentKey(diffId: Digest, options: LayerKeyOptions): string {
  return createHash('sha256')
    .update(`content\0${optionsLine(options)}${diffId}`)
    .digest('hex');
}

/** Which paths the layer has: tells whether hashing by content is likely to find an earlier build. */
export function shapeKey(entries: LayerEntry[]): string {
  const hash = createHash('sha256').update(`shape\0${LAYER_FORMAT_VERSION}\n`);
  for (const e of entries) hash.update(`${e.path}\0${e.type}\n`);
  return hash.digest('hex');
}

export class LayerCache {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** A cached layer under `key` whose blob is (made) present in the layout, or undefined. */
  async lookup(key: string, layout: OciLayout): Promise<LayerResult | undefined> {
    let record: LayerResult;
    try {
      record = JSON.parse(await readFile(join(this.dir, `${key}.json`), 'utf8')) as LayerResult;
    } catch {
      return undefined;
    }
    if (!isDigest(record?.digest) || !isDigest(record.diffId) || typeof record.size !== 'number')
      return undefined;
    const present = await stat(layout.blobPath(record.digest)).then(
      (s) => s.size,
      () => -1,
    );
    if (present === record.size) return { ...record, cached: true };
    // The layout lost the blob (gc, new layout): restore it from the cache's copy.
    const kept = this.blobPath(record.digest);
    const size = await stat(kept).then(
      (s) => s.size,
      () => -1,
    );
    if (size !== record.size) return undefined;
    const temp = await layout.tempPath();
    await link(kept, temp).catch(() => copyFile(kept, temp));
    await layout.adoptBlob(temp, record.digest);
    return { ...record, cached: true };
  }

  async hasShape(shape: string): Promise<boolean> {
    return stat(join(this.dir, 'shapes', shape)).then(
      () => true,
      () => false,
    );
  }

  /** Records a layer under each key, keeps a link to its blob, and remembers its shape. */
  async store(keys: string[], result: LayerResult, layout: OciLayout, shape?: string): Promise<void> {
    await mkdir(join(this.dir, 'blobs'), { recursive: true });
    const kept = this.blobPath(result.digest);
    if (
      !(await stat(kept).then(
        () => true,
        () => false,
      ))
    ) {
      // A hardlink costs nothing; across filesystems, keeping no copy is better than doubling the writes.
      await link(layout.blobPath(result.digest), kept).catch(() => undefined);
    }
    const { cached: _cached, createdBy: _createdBy, ...record } = result;
    const text = JSON.stringify(record);
    for (const key of keys) await this.writeAtomic(`${key}.json`, text);
    if (shape) {
      await mkdir(join(this.dir, 'shapes'), { recursive: true });
      await writeFile(join(this.dir, 'shapes', shape), '');
    }
  }

  private blobPath(digest: Digest): string {
    return join(this.dir, 'blobs', digestHex(digest));
  }

  private async writeAtomic(name: string, text: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const temp = join(this.dir, `.${name}.${process.pid}.${Math.random().toString(36).slice(2)}`);
    await writeFile(temp, text);
    await rename(temp, join(this.dir, name));
  }
}
