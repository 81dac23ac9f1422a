/**
 * Writes one layer: entries → reproducible tar → parallel gzip → blob in the layout, hashing the tar
 * (diff-id) and the gzip (digest) on the way. File bytes are read straight into the compressor's chunk
 * buffers, so memory stays bounded by the chunks in flight, whatever the layer's size.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { VnfpipeError } from '../errors.js';
import { type Digest, DigestStream } from '../oci/digest.js';
import type { OciLayout } from '../oci/layout.js';
import { MediaType } from '../oci/media-types.js';
import type { LayerEntry } from './entries.js';
import { type GzipPool, ParallelGzip } from './gzip.js';
import { BLOCK, encodeTarHeader, paddingFor, tarTrailer } from './tar.js';
import type { BlobPublisher, LayerResult } from './types.js';
import { ParallelZstd } from './zstd.js';

const ZEROS = Buffer.alloc(BLOCK);

/** Where tar bytes go: a buffer to fill in place (`space`/`commit`) or bytes to copy (`write`). */
export interface TarSink {
  space(): { buffer: Buffer; offset: number; length: number };
  commit(n: number): Promise<void> | void;
  write(data: Uint8Array): Promise<void> | void;
}

/** Uncompressed size of the tar the entries make (for progress). */
export function tarSize(entries: LayerEntry[]): number {
  let size = BLOCK * 2;
  for (const e of entries) size += BLOCK + (e.type === 'file' ? e.size + paddingFor(e.size) : 0);
  return size;
}

/** Streams the layer's tar into a sink. */
export async function streamTar(
  entries: LayerEntry[],
  mtime: number,
  sink: TarSink,
  signal?: AbortSignal,
): Promise<void> {
  for (const entry of entries) {
    signal?.throwIfAborted();
    await sink.write(
      encodeTarHeader({
        path: entry.path,
        type: entry.type,
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        size: entry.size,
        mtime,
        linkname: entry.linkname,
      }),
    );
    if (entry.type !== 'file' || entry.size === 0) continue;
    if (entry.source?.kind === 'inline') await sink.write(entry.source.data);
    else if (entry.source?.kind === 'host') await copyFileInto(sink, entry.source.path, entry.size, signal);
    await sink.write(ZEROS.subarray(0, paddingFor(entry.size)));
  }
  await sink.write(tarTrailer());
}

/** Reads exactly `size` bytes of a file into the sink; a file that changed size is an error. */
async function copyFileInto(sink: TarSink, path: string, size: number, signal?: AbortSignal): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    let left = size;
    while (left > 0) {
      signal?.throwIfAborted();
      const space = sink.space();
      const n = readSync(fd, space.buffer, space.offset, Math.min(left, space.length), null);
      if (n === 0) break;
      left -= n;
      await sink.commit(n);
    }
    if (left !== 0 || fstatSync(fd).size !== size) {
      throw new VnfpipeError('IO', 'file changed while the layer was being written', {
        where: path,
        hint: 'do not modify build inputs during a build',
      });
    }
  } finally {
    closeSync(fd);
  }
}

/** A sink that only hashes: the diff-id of a layer without compressing it. */
class HashingSink implements TarSink {
  readonly hash = new DigestStream();
  private readonly buffer = Buffer.allocUnsafe(1024 * 1024);
  private filled = 0;

  space() {
    return { buffer: this.buffer, offset: this.filled, length: this.buffer.length - this.filled };
  }

  commit(n: number): void {
    this.filled += n;
    if (this.filled === this.buffer.length) this.flush();
  }

  write(data: Uint8Array): void {
    if (data.length > this.buffer.length - this.filled) this.flush();
    if (data.length >= this.buffer.length) this.hash.update(data);
    else {
      this.buffer.set(data, this.filled);
      this.filled += data.length;
    }
  }

  flush(): void {
    if (this.filled > 0) this.hash.update(this.buffer.subarray(0, this.filled));
    this.filled = 0;
  }
}

/** The diff-id the entries would give, computed without compressing. */
export async function diffIdOf(entries: LayerEntry[], mtime: number, signal?: AbortSignal): Promise<Digest> {
  const sink = new HashingSink();
  await streamTar(entries, mtime, sink, signal);
  sink.flush();
  return sink.hash.digest();
}

export interface WriteLayerOptions {
  layout: OciLayout;
  pool: GzipPool;
  /** gzip (default: what every runtime reads) or zstd (opt-in; smaller and faster, Docker 23+/containerd 1.5+). */
  compression?: 'gzip' | 'zstd';
  level: number;
  /** Timestamp of every entry, seconds since the epoch. */
  mtime: number;
  createdBy: string;
  /** Also hands the compressed bytes on while they are written (e.g. into a registry upload). */
  publisher?: BlobPublisher;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export async function writeLayer(entries: LayerEntry[], options: WriteLayerOptions): Promise<LayerResult> {
  const { layout } = options;
  const temp = await layout.tempPath('layer');
  const fd = openSync(temp, 'w');
  const compressed = new DigestStream();
  const uncompressed = new DigestStream();
  const total = tarSize(entries);
  const published = options.publisher?.begin(temp);
  const sink = (data: Buffer) => {
    compressed.update(data);
    let at = 0;
    while (at < data.length) at += writeSync(fd, data, at, data.length - at);
    return published?.write(data);
  };
  const onChunk = (chunk: Buffer) => {
    uncompressed.update(chunk);
    options.onProgress?.(Math.min(uncompressed.size, total), total);
  };
  const zstd = options.compression === 'zstd';
  const gz = zstd
    ? new ParallelZstd({ pool: options.pool, level: options.level, sink, onChunk })
    : new ParallelGzip({ pool: options.pool, level: options.level, sink, onChunk });
  let ok = false;
  try {
    await streamTar(entries, options.mtime, gz, options.signal);
    await gz.end();
    closeSync(fd);
    ok = true;
  } finally {
    if (!ok) {
      gz.abandon();
      published?.abort();
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
      await rm(temp, { force: true });
    }
  }
  const digest = compressed.digest();
  published?.end(digest, compressed.size);
  await layout.adoptBlob(temp, digest);
  return {
    digest,
    diffId: uncompressed.digest(),
    size: compressed.size,
    uncompressedSize: uncompressed.size,
    mediaType: zstd ? MediaType.ociLayerZstd : MediaType.ociLayerGzip,
    cached: false,
    createdBy: options.createdBy,
  };
}
