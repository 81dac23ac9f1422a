/**
 * The merged filesystem of an image's layers, as a container would see it: later layers replace earlier
 * entries, whiteouts (`.wh.<name>`) delete them and opaque markers (`.wh..wh..opq`) hide a directory's lower
 * contents. Only metadata is kept (no file data), each node remembering the layer that wrote it.
 */
import { VnfpipeError } from '../../errors.js';
import type { TarEntry } from './tar.js';

/** An entry of the merged view: the tar entry (path normalised) and the layer that wrote it. */
export interface FileNode extends TarEntry {
  /** Index of the layer that wrote this entry (0 = base). */
  layer: number;
}

interface DirTree {
  node: FileNode | undefined;
  children: Map<string, DirTree> | undefined;
}

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

/**
 * Normalises a tar path; throws on absolute escapes and `..` components (a layer must never write outside
 * its root). Returns '' for the root itself.
 */
export function normalizeLayerPath(raw: string, where: string): string {
  const parts: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      throw new VnfpipeError('LAYER_UNSAFE', `path escapes the image root: ${JSON.stringify(raw)}`, {
        where,
        hint: 'a layer entry must not contain ".." components',
      });
    }
    if (part.includes('\0')) {
      throw new VnfpipeError('LAYER_UNSAFE', `path contains a NUL byte: ${JSON.stringify(raw)}`, { where });
    }
    parts.push(part);
  }
  return parts.join('/');
}

/** Joins a symlink target onto its directory the way the kernel does inside a chroot (`..` stops at /). */
function joinLink(dir: string, target: string): string {
  const parts = target.startsWith('/') ? [] : dir.split('/').filter(Boolean);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

export class FsView {
  private readonly root: DirTree = { node: undefined, children: new Map() };
  /** The layer being applied: its own entries survive its whiteouts (they only hit lower layers). */
  private current = 0;

  /** Starts applying layer `index`. */
  beginLayer(index: number): void {
    this.current = index;
  }

  /** Applies an entry of the current layer at once, so later entries of the layer resolve through it. */
  add(node: FileNode): void {
    this.put(node);
  }

  /** Deletes `path` (and what is below it) as written by lower layers. */
  whiteout(path: string): void {
    const slash = path.lastIndexOf('/');
    const parent = slash === -1 ? this.root : this.find(path.slice(0, slash));
    const name = path.slice(slash + 1);
    const tree = parent?.children?.get(name);
    if (tree && !this.prune(tree)) parent!.children!.delete(name);
  }

  /** Hides what lower layers put under `dir`. */
  opaque(dir: string): void {
    const tree = this.find(dir);
    if (!tree?.children) return;
    for (const [name, child] of tree.children) if (!this.prune(child)) tree.children.delete(name);
  }

  /** Removes lower layers' entries below `tree`; true when the current layer wrote something there. */
  private prune(tree: DirTree): boolean {
    let kept = tree.node !== undefined && tree.node.layer === this.current;
    if (tree.children) {
      for (const [name, child] of tree.children) {
        if (this.prune(child)) kept = true;
        else tree.children.delete(name);
      }
    }
    if (kept && tree.node && tree.node.layer !== this.current) tree.node = undefined;
    return kept;
  }

  /**
   * Where an entry named `path` lands: its parent directories resolved through symlinks inside the image
   * root (`..` and absolute targets clamped at /), as the runtime's unpacker does. The last component is
   * not followed (an entry replaces a symlink of its own name).
   */
  placement(path: string, where: string): string {
    const slash = path.lastIndexOf('/');
    if (slash === -1) return path;
    const dir = this.resolveDir(path.slice(0, slash), where);
    const name = path.slice(slash + 1);
    return dir ? `${dir}/${name}` : name;
  }

  /** A directory path with every symlink in it followed (missing components kept as they are). */
  private resolveDir(path: string, where: string): string {
    let pending = path.split('/').filter(Boolean);
    const done: string[] = [];
    let hops = 0;
    while (pending.length) {
      const part = pending.shift()!;
      if (part === '.') continue;
      if (part === '..') {
        done.pop();
        continue;
      }
      const node = this.find([...done, part].join('/'))?.node;
      if (node?.kind === 'symlink') {
        if (++hops > 255) {
          throw new VnfpipeError('LAYER_UNSAFE', 'too many levels of symbolic links', {
            where,
            hint: 'a layer entry is written below a symlink loop',
          });
        }
        if (node.linkname.startsWith('/')) done.length = 0;
        pending = [...node.linkname.split('/').filter(Boolean), ...pending];
        continue;
      }
      done.push(part);
    }
    return done.join('/');
  }

  private find(path: string): DirTree | undefined {
    if (path === '') return this.root;
    let tree: DirTree | undefined = this.root;
    for (const part of path.split('/')) {
      tree = tree.children?.get(part);
      if (!tree) return undefined;
    }
    return tree;
  }

  private put(node: FileNode): void {
    const parts = node.path.split('/');
    let tree = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i]!;
      let child = tree.children?.get(part);
      if (!child) {
        child = { node: undefined, children: new Map() };
        tree.children ??= new Map();
        tree.children.set(part, child);
      } else if (!child.children) {
        // A file replaced by a directory in a later layer (parent implied by a child entry).
        child.children = new Map();
        child.node = undefined;
      }
      tree = child;
    }
    const name = parts[parts.length - 1]!;
    tree.children ??= new Map();
    const existing = tree.children.get(name);
    if (node.kind === 'dir') {
      // A directory entry updates metadata and keeps lower contents (unless an opaque marker cleared them).
      if (existing?.children) existing.node = node;
      else tree.children.set(name, { node, children: new Map() });
    } else {
      tree.children.set(name, { node, children: undefined });
    }
  }

  /** The entry at a path, not following symlinks. */
  get(path: string): FileNode | undefined {
    return this.find(path)?.node;
  }

  has(path: string): boolean {
    return this.find(path) !== undefined;
  }

  /** The entry at a path, following symlinks (and symlinked parents) within the image. */
  resolve(path: string): FileNode | undefined {
    let current = path;
    for (let hops = 0; hops < 40; hops++) {
      const parts = current.split('/').filter(Boolean);
      let tree: DirTree | undefined = this.root;
      let followed = false;
      for (let i = 0; i < parts.length; i++) {
        tree = tree.children?.get(parts[i]!);
        if (!tree) return undefined;
        if (tree.node?.kind === 'symlink') {
          const dir = parts.slice(0, i).join('/');
          current = [joinLink(dir, tree.node.linkname), ...parts.slice(i + 1)].filter(Boolean).join('/');
          followed = true;
          break;
        }
      }
      if (!followed) return tree?.node;
    }
    return undefined;
  }

  /** The path a symlink chain ends at (same rules as `resolve`), or undefined when it dangles. */
  realPath(path: string): string | undefined {
    return this.resolve(path)?.path;
  }

  /** Every entry of the merged filesystem (depth first). */
  *walk(): Generator<FileNode> {
    const stack: DirTree[] = [this.root];
    while (stack.length) {
      const tree = stack.pop()!;
      if (tree.node) yield tree.node;
      if (tree.children) for (const child of tree.children.values()) stack.push(child);
    }
  }
}
