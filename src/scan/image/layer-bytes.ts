/**
 * One layer blob as a stream of uncompressed tar bytes: the blob digest and declared size are checked,
 * gzip and zstd are decompressed, and every byte counts against the layer's bound, the scan's total
 * budget and a ratio to the compressed bytes actually read (a manifest's `size` is not trusted for that).
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { VnfpipeError } from '../../errors.js';
import { displayName } from './names.js';
import type { ImageLayer } from './source.js';
import { ZstdFrameWatcher } from './zstd-frames.js';

export interface ByteLimits {
  maxLayerBytes: number;
  maxRatio: number;
  /** Shared by the layers of one scan; `remaining` goes down as bytes are produced. */
  budget?: { remaining: number; total: number };
}

/** Ratio checks start past this many uncompressed bytes (small layers compress very well, legitimately). */
const RATIO_FLOOR = 64 * 1024 * 1024;

/** LAYER_UNSAFE naming the layer (and the path in it). */
export function layerError(layer: ImageLayer, message: string, path?: string, hint?: string): VnfpipeError {
  return new VnfpipeError('LAYER_UNSAFE', message, {
    where:
      path === undefined
        ? `layer ${layer.index} ${layer.digest}`
        : `layer ${layer.index} ${layer.digest}: ${displayName(path)}`,
    hint,
  });
}

function compressionOf(layer: ImageLayer): 'gzip' | 'none' | 'zstd' | undefined {
  const type = layer.mediaType;
  if (type.endsWith('+gzip') || type.endsWith('.tar.gzip')) return 'gzip';
  if (type.endsWith('+zstd')) return 'zstd';
  if (type.endsWith('.tar') || type.endsWith('layer.v1.tar')) return 'none';
  return undefined;
}

/** Streams one layer's uncompressed tar bytes into `write`, verifying the blob and bounding its size. */
export async function readLayerBytes(
  layer: ImageLayer,
  write: (chunk: Buffer) => void,
  limits: ByteLimits,
  signal?: AbortSignal,
): Promise<{ compressed: number; uncompressed: number }> {
  const compression = compressionOf(layer);
  if (compression === undefined) throw layerError(layer, `unknown layer media type ${layer.mediaType}`);
  const hash = createHash(layer.digest.startsWith('sha512:') ? 'sha512' : 'sha256');
  const input = layer.open();
  let compressed = 0;
  let uncompressed = 0;
  const take = (chunk: Buffer) => {
    compressed += chunk.length;
    if (compressed > layer.size) {
      throw new VnfpipeError(
        'OCI_DIGEST_MISMATCH',
        `layer blob is larger than the ${layer.size} bytes declared`,
        {
          where: `layer ${layer.index} ${layer.digest}`,
          hint: 'the blob has bytes after its declared end; rebuild or re-copy the image',
        },
      );
    }
    hash.update(chunk);
  };
  const check = (chunk: Buffer) => {
    signal?.throwIfAborted();
    uncompressed += chunk.length;
    if (uncompressed > limits.maxLayerBytes) {
      throw layerError(
        layer,
        `layer expands to more than ${limits.maxLayerBytes} bytes (decompression bomb?)`,
        undefined,
        'raise the per-layer bound only for an image you trust',
      );
    }
    if (limits.budget) {
      limits.budget.remaining -= chunk.length;
      if (limits.budget.remaining < 0) {
        throw layerError(
          layer,
          `the image expands to more than the scan budget of ${limits.budget.total} uncompressed bytes`,
          undefined,
          'raise it with --max-bytes (scan option limits.maxTotalBytes) for an image you trust',
        );
      }
    }
    if (uncompressed > RATIO_FLOOR && uncompressed > limits.maxRatio * compressed) {
      throw layerError(layer, `layer expands more than ${limits.maxRatio}:1 (decompression bomb?)`);
    }
    write(chunk);
  };
  try {
    if (compression === 'none') {
      for await (const chunk of input) {
        take(chunk as Buffer);
        check(chunk as Buffer);
      }
    } else if (compression === 'zstd') await zstd(layer, input, take, check);
    else await gunzip(layer, input, take, check);
  } catch (error) {
    input.destroy();
    if (error instanceof VnfpipeError || (error as Error).name === 'AbortError') throw error;
    throw new VnfpipeError('IO', `cannot read layer: ${(error as Error).message}`, {
      where: `layer ${layer.index} ${layer.digest}`,
      cause: error,
    });
  }
  const actual = `${layer.digest.slice(0, layer.digest.indexOf(':'))}:${hash.digest('hex')}`;
  if (actual !== layer.digest) {
    throw new VnfpipeError('OCI_DIGEST_MISMATCH', `layer blob has digest ${actual}`, {
      where: `layer ${layer.index} ${layer.digest}`,
      hint: 'the blob in the layout was changed or truncated; rebuild or re-copy the image',
    });
  }
  if (compressed !== layer.size) {
    throw new VnfpipeError(
      'OCI_DIGEST_MISMATCH',
      `layer blob is ${compressed} bytes, not the ${layer.size} its descriptor declares`,
      {
        where: `layer ${layer.index} ${layer.digest}`,
        hint: 'the blob was truncated or the manifest is wrong; rebuild or re-copy the image',
      },
    );
  }
  return { compressed, uncompressed };
}

async function gunzip(
  layer: ImageLayer,
  input: Readable,
  take: (chunk: Buffer) => void,
  check: (chunk: Buffer) => void,
): Promise<void> {
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  const feed = (async () => {
    try {
      for await (const chunk of input) {
        take(chunk as Buffer);
        if (!gunzip.write(chunk)) await new Promise((ok) => gunzip.once('drain', ok));
      }
      gunzip.end();
    } catch (error) {
      gunzip.destroy(error as Error);
    }
  })();
  try {
    for await (const chunk of gunzip) check(chunk as Buffer);
  } catch (error) {
    input.destroy();
    gunzip.destroy();
    if (error instanceof VnfpipeError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_'))
      throw layerError(layer, `layer is not valid gzip: ${(error as Error).message}`);
    throw error;
  }
  await feed;
}

async function zstd(
  layer: ImageLayer,
  input: Readable,
  take: (chunk: Buffer) => void,
  check: (chunk: Buffer) => void,
): Promise<void> {
  // Node 20 has no zstd; fzstd is a streaming decoder in plain JavaScript. Its output arrives synchronously
  // from push(), so `check` throwing stops it before the next chunk is decoded.
  const { Decompress } = await import('fzstd');
  const decoder = new Decompress((data) => check(Buffer.from(data)));
  const push = (chunk: Uint8Array, final: boolean) => {
    try {
      decoder.push(chunk, final);
    } catch (error) {
      if (error instanceof VnfpipeError || (error as Error).name === 'AbortError') throw error;
      throw layerError(layer, `layer is not valid zstd: ${(error as Error).message}`);
    }
  };
  const frames = new ZstdFrameWatcher((reason) => {
    throw layerError(
      layer,
      `layer is not valid zstd: ${reason}`,
      undefined,
      'recompress the layer with default zstd settings (no --long above 27)',
    );
  });
  for await (const chunk of input) {
    take(chunk as Buffer);
    frames.push(chunk as Buffer);
    push(chunk as Buffer, false);
  }
  push(new Uint8Array(0), true);
}
