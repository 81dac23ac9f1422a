/**
 * Parallel, deterministic zstd for opt-in `tar+zstd` layers: the stream is cut at fixed offsets into chunks,
 * each compressed on its own into one zstd frame by the compression workers, and the frames concatenated in
 * order (a zstd stream may hold many frames). zstd comes as WebAssembly (`@bokuweb/zstd-wasm`, from the
 * npm registry): the same module on every machine, so the same bytes everywhere; they depend only on the
 * input, the level and that package's version, never on timing or the number of workers.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { VnfpipeError } from '../errors.js';
import type { GzipPool } from './gzip.js';

/** Bigger than gzip's chunks: each frame starts with an empty window, and zstd's ratio gains from more. */
export const ZSTD_CHUNK_SIZE = 4 * 1024 * 1024;
/** Speed first, like gzip's default level 1 (level 3 is about 4× the CPU here for 8% less). */
export const DEFAULT_ZSTD_LEVEL = 1;

let located: { path: string; version: string } | undefined;

/** Where the zstd WASM module is (the workers load it) and its version (part of the layer cache key). */
export function zstdLibrary(): { path: string; version: string } {
  if (located) return located;
  const require = createRequire(import.meta.url);
  try {
    const path = require.resolve('@bokuweb/zstd-wasm');
    // Its exports do not include package.json: read it from the package folder.
    const root = path.slice(0, path.lastIndexOf('/dist/'));
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    located = { path, version };
    return located;
  } catch (error) {
    throw new VnfpipeError('IO', `zstd layers need the zstd module: ${(error as Error).message}`, {
      where: '@bokuweb/zstd-wasm',
      hint: "reinstall vnfpipe's dependencies, or use compression 'gzip' (the default)",
    });
  }
}

/** Streams input in, compressed frames out through `sink` (in order, awaited); same shape as ParallelGzip. */
export class ParallelZstd {
  private readonly pool: GzipPool;
  private readonly level: number;
  private readonly module: string;
  private readonly sink: (data: Buffer) => Promise<void> | void;
  private readonly onChunk: ((chunk: Buffer) => void) | undefined;
  private readonly maxInFlight: number;
  private chunk = Buffer.allocUnsafeSlow(ZSTD_CHUNK_SIZE);
  private filled = 0;
  private readonly pending: Promise<Buffer>[] = [];
  private size = 0;

  constructor(options: {
    pool: GzipPool;
    level: number;
    sink: (data: Buffer) => Promise<void> | void;
    onChunk?: (chunk: Buffer) => void;
  }) {
    this.pool = options.pool;
    this.level = options.level;
    this.sink = options.sink;
    this.onChunk = options.onChunk;
    this.module = zstdLibrary().path;
    this.maxInFlight = options.pool.size + 1;
  }

  space(): { buffer: Buffer; offset: number; length: number } {
    return { buffer: this.chunk, offset: this.filled, length: ZSTD_CHUNK_SIZE - this.filled };
  }

  async commit(n: number): Promise<void> {
    this.filled += n;
    if (this.filled === ZSTD_CHUNK_SIZE) await this.submit();
  }

  async write(data: Uint8Array): Promise<void> {
    let at = 0;
    while (at < data.length) {
      const n = Math.min(data.length - at, ZSTD_CHUNK_SIZE - this.filled);
      this.chunk.set(data.subarray(at, at + n), this.filled);
      at += n;
      await this.commit(n);
    }
  }

  private async submit(): Promise<void> {
    if (this.filled === 0) return;
    const chunk =
      this.filled === ZSTD_CHUNK_SIZE ? this.chunk : Buffer.from(this.chunk.subarray(0, this.filled));
    this.size += chunk.length;
    this.onChunk?.(chunk);
    this.pending.push(this.pool.compress(chunk, this.level, this.module));
    this.chunk = Buffer.allocUnsafeSlow(ZSTD_CHUNK_SIZE);
    this.filled = 0;
    while (this.pending.length >= this.maxInFlight) await this.sink(await this.pending.shift()!);
  }

  async end(): Promise<{ uncompressedSize: number }> {
    await this.submit();
    while (this.pending.length > 0) await this.sink(await this.pending.shift()!);
    return { uncompressedSize: this.size };
  }

  abandon(): void {
    for (const p of this.pending.splice(0)) p.catch(() => undefined);
  }
}
