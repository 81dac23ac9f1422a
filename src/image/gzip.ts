/**
 * Parallel, deterministic gzip (pigz style): the uncompressed stream is cut at fixed byte offsets into
 * chunks, chunks are compressed by worker threads into independent deflate pieces, and the pieces are
 * concatenated in order into ONE gzip member whose header, CRC32 and ISIZE we write ourselves. Output bytes
 * depend only on the input and the level, never on the number of workers or their timing. Memory stays
 * bounded: at most `maxInFlight` chunks are held at once.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';
import { GZIP_WORKER_SOURCE } from './gzip-worker.js';

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

/** Gzip header: no name, mtime 0, no extra flags, OS 255 (unknown), so it is the same on every machine. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
/** An empty final fixed-Huffman block: ends the deflate stream after the non-final pieces. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

interface Task {
  id: number;
  resolve(out: Buffer): void;
  reject(error: Error): void;
}

/** A pool of compression workers. Tasks are answered in any order; callers keep their own order. */
export class GzipPool {
  readonly size: number;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Array<{ task: Task; chunk: Uint8Array; level: number; zstd?: string }> = [];
  private readonly running = new Map<Worker, Task>();
  private nextId = 0;
  private closed = false;

  constructor(size = defaultWorkerCount()) {
    this.size = Math.max(1, size);
  }

  /**
   * Compresses one chunk: into non-final deflate pieces (gzip), or — given the path of the zstd WASM
   * module — into one zstd frame.
   */
  compress(chunk: Uint8Array, level: number, zstdModule?: string): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('compression pool is closed'));
    return new Promise<Buffer>((resolve, reject) => {
      this.queue.push({
        task: { id: this.nextId++, resolve, reject },
        chunk,
        level,
        ...(zstdModule ? { zstd: zstdModule } : {}),
      });
      this.pump();
    });
  }

  /** Starts the workers ahead of the first task (their start-up then overlaps other work). */
  warm(): void {
    while (!this.closed && this.workers.length < this.size) this.idle.push(this.spawn());
  }

  private spawn(): Worker {
    const worker = new Worker(GZIP_WORKER_SOURCE, { eval: true });
    worker.on('message', (message: { id: number; out?: Uint8Array; error?: string }) => {
      const task = this.running.get(worker);
      this.running.delete(worker);
      this.idle.push(worker);
      worker.unref();
      if (task) {
        if (message.error !== undefined || !message.out)
          task.reject(new Error(`compression failed: ${message.error}`));
        else task.resolve(Buffer.from(message.out.buffer, message.out.byteOffset, message.out.byteLength));
      }
      this.pump();
    });
    // A worker that dies (error, out of memory) fails its task instead of leaving it waiting forever.
    const lost = (error: Error) => {
      const task = this.running.get(worker);
      this.running.delete(worker);
      const at = this.workers.indexOf(worker);
      if (at !== -1) this.workers.splice(at, 1);
      const idleAt = this.idle.indexOf(worker);
      if (idleAt !== -1) this.idle.splice(idleAt, 1);
      task?.reject(error);
      if (!this.closed) this.pump();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`compression worker exited with code ${code}`)));
    // Idle workers must not keep the process alive; busy ones must (a result is awaited). Unref after
    // adding listeners: adding a listener re-refs the worker's port.
    worker.unref();
    this.workers.push(worker);
    return worker;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let worker = this.idle.pop();
      if (!worker && this.workers.length < this.size) worker = this.spawn();
      if (!worker) return;
      const job = this.queue.shift()!;
      this.running.set(worker, job.task);
      worker.ref();
      // Transfer the chunk's memory when it owns its whole buffer: no copy into the worker.
      const owned = job.chunk.byteOffset === 0 && job.chunk.byteLength === job.chunk.buffer.byteLength;
      const transfer = owned && job.chunk.buffer instanceof ArrayBuffer ? [job.chunk.buffer] : [];
      worker.postMessage({ id: job.task.id, chunk: job.chunk, level: job.level, zstd: job.zstd }, transfer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.task.reject(new Error('compression pool closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
    this.idle.length = 0;
  }
}

export function defaultWorkerCount(): number {
  return Math.max(1, Math.min(availableParallelism(), 8));
}

let sharedPool: GzipPool | undefined;

/** A process-wide pool (workers are unref'd, so an idle pool never keeps the process alive). */
export function sharedGzipPool(): GzipPool {
  sharedPool ??= new GzipPool();
  return sharedPool;
}

export interface GzipResult {
  /** Bytes of uncompressed input. */
  uncompressedSize: number;
  crc32: number;
}

/**
 * Streams input in, compressed output out through `sink` (called in order, awaited). Call `chunkBuffer()`
 * to fill the current chunk directly (e.g. file reads), or `write()` to copy bytes in.
 */
export class ParallelGzip {
  private readonly pool: GzipPool;
  private readonly level: number;
  private readonly chunkSize: number;
  private readonly maxInFlight: number;
  private readonly sink: (data: Buffer) => Promise<void> | void;
  private readonly onChunk: ((chunk: Buffer) => void) | undefined;
  private chunk: Buffer;
  private filled = 0;
  private readonly pending: Promise<Buffer>[] = [];
  private crc = 0;
  private size = 0;
  private started = false;

  constructor(options: {
    pool: GzipPool;
    level: number;
    sink: (data: Buffer) => Promise<void> | void;
    /** Sees every uncompressed chunk in order before compression (e.g. for the diff-id hash). */
    onChunk?: (chunk: Buffer) => void;
    chunkSize?: number;
    maxInFlight?: number;
  }) {
    this.pool = options.pool;
    this.level = options.level;
    this.sink = options.sink;
    this.onChunk = options.onChunk;
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    this.maxInFlight = options.maxInFlight ?? options.pool.size * 2 + 1;
    this.chunk = Buffer.allocUnsafeSlow(this.chunkSize);
  }

  private async header(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.sink(GZIP_HEADER);
  }

  /** Room left in the current chunk and where it starts; fill it, then call `commit(n)`. */
  space(): { buffer: Buffer; offset: number; length: number } {
    return { buffer: this.chunk, offset: this.filled, length: this.chunkSize - this.filled };
  }

  /** Accounts for `n` bytes written into `space()`; submits the chunk when it is full. */
  async commit(n: number): Promise<void> {
    this.filled += n;
    if (this.filled === this.chunkSize) await this.submit();
  }

  async write(data: Uint8Array): Promise<void> {
    let at = 0;
    while (at < data.length) {
      const n = Math.min(data.length - at, this.chunkSize - this.filled);
      this.chunk.set(data.subarray(at, at + n), this.filled);
      at += n;
      await this.commit(n);
    }
  }

  private async submit(): Promise<void> {
    if (this.filled === 0) return;
    await this.header();
    const chunk =
      this.filled === this.chunkSize ? this.chunk : Buffer.from(this.chunk.subarray(0, this.filled));
    this.crc = zlib.crc32(chunk, this.crc);
    this.size += chunk.length;
    this.onChunk?.(chunk);
    this.pending.push(this.pool.compress(chunk, this.level));
    this.chunk = Buffer.allocUnsafeSlow(this.chunkSize);
    this.filled = 0;
    while (this.pending.length >= this.maxInFlight) await this.sink(await this.pending.shift()!);
  }

  /** Flushes the last chunk and writes the gzip trailer. */
  async end(): Promise<GzipResult> {
    await this.submit();
    await this.header();
    while (this.pending.length > 0) await this.sink(await this.pending.shift()!);
    const trailer = Buffer.alloc(10);
    FINAL_BLOCK.copy(trailer, 0);
    trailer.writeUInt32LE(this.crc >>> 0, 2);
    trailer.writeUInt32LE(this.size % 2 ** 32, 6);
    await this.sink(trailer);
    return { uncompressedSize: this.size, crc32: this.crc >>> 0 };
  }

  /** Drops pending work (on abort); results still arriving are ignored. */
  abandon(): void {
    for (const p of this.pending.splice(0)) p.catch(() => undefined);
  }
}

/** Compresses a whole buffer (tests, small blobs). */
export async function gzipBuffer(
  data: Uint8Array,
  options: { level?: number; pool?: GzipPool; chunkSize?: number } = {},
): Promise<Buffer> {
  const parts: Buffer[] = [];
  const gz = new ParallelGzip({
    pool: options.pool ?? sharedGzipPool(),
    level: options.level ?? 1,
    chunkSize: options.chunkSize,
    sink: (b) => {
      parts.push(b);
    },
  });
  await gz.write(data);
  await gz.end();
  return Buffer.concat(parts);
}
