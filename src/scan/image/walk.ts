/**
 * Reads an image's layers once each, in order (stream: digest check + gunzip + tar parse, nothing written to
 * disk), building the merged filesystem view and handing every entry to a visitor with the layer that
 * wrote it. Hostile content is refused with LAYER_UNSAFE naming the layer digest and path.
 */
import { createHash } from 'node:crypto';
import { createGunzip } from 'node:zlib';
import { VnfpipeError } from '../../errors.js';
import { type FileNode, FsView, normalizeLayerPath, OPAQUE_MARKER, WHITEOUT_PREFIX } from './fsview.js';
import type { ImageLayer } from './source.js';
import { type BodySink, DEFAULT_TAR_LIMITS, type TarLimits, TarReader } from './tar.js';

export interface WalkLimits extends TarLimits {
  /** Most uncompressed bytes one layer may expand to (decompression bombs). */
  maxLayerBytes: number;
  /** Most uncompressed bytes per compressed byte once past 64 MiB (gzip tops out near 1032:1). */
  maxRatio: number;
}

export const DEFAULT_WALK_LIMITS: WalkLimits = {
  ...DEFAULT_TAR_LIMITS,
  maxLayerBytes: 16 * 1024 ** 3,
  maxRatio: 1100,
};

export interface LayerVisitor {
  /** A file, dir, link or fifo of a layer; return a sink to receive a regular file's bytes. */
  entry?(node: FileNode): BodySink | undefined;
  /** A whiteout: `path` (and what is below it) is deleted from lower layers. */
  deleted?(path: string, layer: number): void;
  /** Called after a layer is applied to the view. */
  layerDone?(layer: ImageLayer, view: FsView): void;
}

function layerError(layer: ImageLayer, message: string, path?: string, hint?: string): VnfpipeError {
  return new VnfpipeError('LAYER_UNSAFE', message, {
    where:
      path === undefined
        ? `layer ${layer.index} ${layer.digest}`
        : `layer ${layer.index} ${layer.digest}: ${path}`,
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

/** Streams one layer's uncompressed tar bytes into `write`, verifying the blob digest and bounding size. */
export async function readLayerBytes(
  layer: ImageLayer,
  write: (chunk: Buffer) => void,
  limits: Pick<WalkLimits, 'maxLayerBytes' | 'maxRatio'> = DEFAULT_WALK_LIMITS,
  signal?: AbortSignal,
): Promise<{ compressed: number; uncompressed: number }> {
  const compression = compressionOf(layer);
  if (compression === 'zstd') {
    throw layerError(
      layer,
      'zstd-compressed layers are not supported yet (Node 20 has no zstd)',
      undefined,
      'convert the image to gzip layers, e.g. skopeo copy --dest-compress-format gzip',
    );
  }
  if (compression === undefined) throw layerError(layer, `unknown layer media type ${layer.mediaType}`);
  const hash = createHash(layer.digest.startsWith('sha512:') ? 'sha512' : 'sha256');
  const input = layer.open();
  let compressed = 0;
  let uncompressed = 0;
  const check = (chunk: Buffer) => {
    uncompressed += chunk.length;
    if (uncompressed > limits.maxLayerBytes) {
      throw layerError(
        layer,
        `layer expands to more than ${limits.maxLayerBytes} bytes (decompression bomb?)`,
      );
    }
    if (
      uncompressed > 64 * 1024 * 1024 &&
      uncompressed > limits.maxRatio * Math.max(compressed, layer.size)
    ) {
      throw layerError(layer, `layer expands more than ${limits.maxRatio}:1 (decompression bomb?)`);
    }
    write(chunk);
  };
  try {
    if (compression === 'none') {
      for await (const chunk of input) {
        signal?.throwIfAborted();
        hash.update(chunk as Buffer);
        compressed += (chunk as Buffer).length;
        check(chunk as Buffer);
      }
    } else {
      const gunzip = createGunzip({ chunkSize: 256 * 1024 });
      const feed = (async () => {
        try {
          for await (const chunk of input) {
            hash.update(chunk as Buffer);
            compressed += (chunk as Buffer).length;
            if (!gunzip.write(chunk)) await new Promise((ok) => gunzip.once('drain', ok));
          }
          gunzip.end();
        } catch (error) {
          gunzip.destroy(error as Error);
        }
      })();
      try {
        for await (const chunk of gunzip) {
          signal?.throwIfAborted();
          check(chunk as Buffer);
        }
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
  return { compressed, uncompressed };
}

/** Walks all layers in order; returns the merged view. */
export async function walkLayers(
  layers: ImageLayer[],
  visitor: LayerVisitor,
  limits: WalkLimits = DEFAULT_WALK_LIMITS,
  signal?: AbortSignal,
): Promise<FsView> {
  const view = new FsView();
  for (const layer of layers) {
    const where = `layer ${layer.index} ${layer.digest}`;
    const seen = new Set<string>();
    const reader = new TarReader(
      where,
      (entry) => {
        const path = normalizeLayerPath(entry.path, `${where}: ${entry.path}`);
        if (path === '') return undefined;
        if (entry.kind === 'char' || entry.kind === 'block') {
          throw layerError(
            layer,
            `device file (${entry.kind}) in a layer`,
            path,
            'images must not carry device nodes; the runtime creates /dev',
          );
        }
        const slash = path.lastIndexOf('/');
        const base = path.slice(slash + 1);
        const dir = slash === -1 ? '' : path.slice(0, slash);
        if (base.startsWith(WHITEOUT_PREFIX)) {
          if (base === OPAQUE_MARKER) view.opaque(dir);
          else {
            const target = (dir ? `${dir}/` : '') + base.slice(WHITEOUT_PREFIX.length);
            if (base.length === WHITEOUT_PREFIX.length) throw layerError(layer, 'empty whiteout name', path);
            view.whiteout(target);
            visitor.deleted?.(target, layer.index);
          }
          return undefined;
        }
        let linkname = entry.linkname;
        if (entry.kind === 'hardlink') {
          linkname = normalizeLayerPath(entry.linkname, `${where}: ${path} → ${entry.linkname}`);
          if (!seen.has(linkname) && !view.has(linkname)) {
            throw layerError(
              layer,
              `hard link to ${JSON.stringify(entry.linkname)}, which does not exist`,
              path,
            );
          }
        }
        seen.add(path);
        const node: FileNode = {
          path,
          kind: entry.kind,
          mode: entry.mode,
          uid: entry.uid,
          gid: entry.gid,
          size: entry.size,
          linkname,
          layer: layer.index,
        };
        view.add(node);
        return visitor.entry?.(node);
      },
      limits,
    );
    await readLayerBytes(layer, (chunk) => reader.write(chunk), limits, signal);
    reader.finish();
    view.commitLayer();
    visitor.layerDone?.(layer, view);
  }
  return view;
}
