/**
 * Reads an image's layers once each, in order (stream: digest check + decompression + tar parse, nothing
 * written to disk), building the merged filesystem view and handing every entry to a visitor with the layer
 * that wrote it. Entries land where the runtime would put them (parent symlinks followed inside the root).
 * Hostile content is refused with LAYER_UNSAFE naming the layer digest and path.
 */
import { type FileNode, FsView, normalizeLayerPath, OPAQUE_MARKER, WHITEOUT_PREFIX } from './fsview.js';
import { layerError, readLayerBytes } from './layer-bytes.js';
import { displayName } from './names.js';
import type { ImageLayer } from './source.js';
import { type BodySink, DEFAULT_TAR_LIMITS, type TarLimits, TarReader } from './tar.js';

export interface WalkLimits extends TarLimits {
  /** Most uncompressed bytes one layer may expand to (decompression bombs). */
  maxLayerBytes: number;
  /** Most uncompressed bytes all layers together may expand to (one scan's budget). */
  maxTotalBytes: number;
  /** Most uncompressed bytes per compressed byte read, once past 64 MiB (gzip tops out near 1032:1). */
  maxRatio: number;
}

export const DEFAULT_WALK_LIMITS: WalkLimits = {
  ...DEFAULT_TAR_LIMITS,
  maxLayerBytes: 16 * 1024 ** 3,
  maxTotalBytes: 32 * 1024 ** 3,
  maxRatio: 1100,
};

export interface LayerVisitor {
  /** A file, dir, link, device or fifo of a layer; return a sink to receive a regular file's bytes. */
  entry?(node: FileNode): BodySink | undefined;
  /** A whiteout: `path` (and what is below it) is deleted from lower layers. */
  deleted?(path: string, layer: number): void;
  /**
   * A layer whose blob already appeared lower in the manifest: it is re-applied from what was recorded,
   * not read again, so its files' bytes are those seen for layer `first`.
   */
  repeated?(layer: ImageLayer, first: number): void;
  /** Called after a layer is applied to the view. */
  layerDone?(layer: ImageLayer, view: FsView): void;
}

type Op = { t: 'node'; node: FileNode } | { t: 'whiteout'; path: string } | { t: 'opaque'; dir: string };

/** Walks all layers in order; returns the merged view. */
export async function walkLayers(
  layers: ImageLayer[],
  visitor: LayerVisitor,
  limits: WalkLimits = DEFAULT_WALK_LIMITS,
  signal?: AbortSignal,
): Promise<FsView> {
  const view = new FsView();
  const budget = { remaining: limits.maxTotalBytes, total: limits.maxTotalBytes };
  const uses = new Map<string, number>();
  for (const layer of layers) uses.set(layer.digest, (uses.get(layer.digest) ?? 0) + 1);
  // Ops of blobs listed more than once, so a repeat costs no second read (nor budget).
  const recorded = new Map<string, { first: number; ops: Op[] }>();
  for (const layer of layers) {
    view.beginLayer(layer.index);
    const seenBefore = recorded.get(layer.digest);
    if (seenBefore) {
      for (const op of seenBefore.ops) {
        if (op.t === 'node') {
          const node = { ...op.node, layer: layer.index };
          view.add(node);
          visitor.entry?.(node);
        } else if (op.t === 'whiteout') {
          view.whiteout(op.path);
          visitor.deleted?.(op.path, layer.index);
        } else view.opaque(op.dir);
      }
      visitor.repeated?.(layer, seenBefore.first);
      visitor.layerDone?.(layer, view);
      continue;
    }
    const ops: Op[] | undefined = (uses.get(layer.digest) ?? 0) > 1 ? [] : undefined;
    if (ops) recorded.set(layer.digest, { first: layer.index, ops });
    const where = `layer ${layer.index} ${layer.digest}`;
    const reader = new TarReader(
      where,
      (entry) => {
        const named = normalizeLayerPath(entry.path, `${where}: ${displayName(entry.path)}`);
        if (named === '') return undefined;
        const path = view.placement(named, `${where}: ${displayName(named)}`);
        const slash = path.lastIndexOf('/');
        const base = path.slice(slash + 1);
        const dir = slash === -1 ? '' : path.slice(0, slash);
        if (base.startsWith(WHITEOUT_PREFIX)) {
          if (base === OPAQUE_MARKER) {
            view.opaque(dir);
            ops?.push({ t: 'opaque', dir });
          } else {
            if (base.length === WHITEOUT_PREFIX.length) throw layerError(layer, 'empty whiteout name', path);
            const target = (dir ? `${dir}/` : '') + base.slice(WHITEOUT_PREFIX.length);
            view.whiteout(target);
            ops?.push({ t: 'whiteout', path: target });
            visitor.deleted?.(target, layer.index);
          }
          return undefined;
        }
        let linkname = entry.linkname;
        if (entry.kind === 'hardlink') {
          const named = normalizeLayerPath(
            entry.linkname,
            `${where}: ${displayName(path)} → ${displayName(entry.linkname)}`,
          );
          linkname = view.placement(named, `${where}: ${displayName(path)} → ${displayName(named)}`);
          if (!view.has(linkname)) {
            throw layerError(
              layer,
              `hard link to ${JSON.stringify(displayName(entry.linkname))}, which does not exist`,
              path,
            );
          }
        }
        // Device nodes are recorded like any entry (images made by debootstrap or `docker import` carry
        // /dev/null and friends); they have no content to read, and the runtime mounts its own /dev.
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
        ops?.push({ t: 'node', node });
        return visitor.entry?.(node);
      },
      limits,
    );
    await readLayerBytes(layer, (chunk) => reader.write(chunk), { ...limits, budget }, signal);
    reader.finish();
    visitor.layerDone?.(layer, view);
  }
  return view;
}
