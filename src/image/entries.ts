/**
 * Turns a LayerSpec into the sorted list of tar entries of the layer, refusing anything that could write
 * outside the image root or read outside the build context.
 */

import { lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { VnfpipeError } from '../errors.js';
import { createMatcher, type PathMatcher, parseIgnoreFile } from './dockerignore.js';
import type { TarHeader } from './tar.js';
import type { FileMapping, LayerSpec, Ownership } from './types.js';

export interface HostSource {
  kind: 'host';
  path: string;
  /** Fingerprint of the file when listed, to reuse cached content hashes and notice changes. */
  dev: number;
  ino: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** A tar header (its time is the build's epoch, set when written) and where the entry's bytes come from. */
export interface LayerEntry extends Omit<TarHeader, 'mtime'> {
  source?: HostSource | { kind: 'inline'; data: Buffer };
}

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

function unsafe(message: string, where: string, hint?: string): VnfpipeError {
  return new VnfpipeError('LAYER_UNSAFE', message, { where, hint });
}

/**
 * Normalises an image path to a layer path (`/usr/bin/x` → `usr/bin/x`). `..` that would climb above the
 * root is refused rather than clamped: it is almost always a mistake or an attack.
 */
export function layerPath(imagePath: string, what = 'destination'): string {
  if (typeof imagePath !== 'string' || imagePath.includes('\0'))
    throw unsafe(`invalid ${what} path`, String(imagePath));
  const parts: string[] = [];
  for (const part of imagePath.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) {
        throw unsafe(
          `${what} path ${JSON.stringify(imagePath)} escapes the image root`,
          imagePath,
          'remove the ../ segments',
        );
      }
      parts.pop();
    } else parts.push(part);
  }
  return parts.join('/');
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function permissions(stats: Stats): number {
  return stats.mode & 0o7777;
}

interface Collector {
  entries: Map<string, LayerEntry>;
  /** Layer paths that are symlinks: nothing may be placed beneath them in the same layer. */
  symlinks: Set<string>;
}

function put(collector: Collector, entry: LayerEntry): void {
  if (entry.path === '') return; // the root itself is never an entry
  collector.entries.set(entry.path, entry);
  if (entry.type === 'symlink') collector.symlinks.add(entry.path);
  else collector.symlinks.delete(entry.path);
}

/**
 * The mode a host file gets in the layer. By default 0755 for directories and executables and 0644 for the
 * rest (as ko and jib do): the source's modes depend on the umask of whoever checked it out, and would make
 * the same commit build different digests (and, under umask 077, files only root can read).
 */
function hostMode(stats: Stats, keepModes: boolean): number {
  if (keepModes) return permissions(stats);
  return stats.isDirectory() || (stats.mode & 0o111) !== 0 ? 0o755 : 0o644;
}

interface HostOwnership extends Ownership {
  keepModes: boolean;
}

function hostEntry(
  path: string,
  layer: string,
  stats: Stats,
  own: HostOwnership,
  linkname?: string,
): LayerEntry {
  const isDir = stats.isDirectory();
  const isLink = stats.isSymbolicLink();
  const mode = hostMode(stats, own.keepModes);
  const entry: LayerEntry = {
    path: layer,
    type: isDir ? 'dir' : isLink ? 'symlink' : 'file',
    mode: isDir ? (own.dirMode ?? mode) : isLink ? 0o777 : (own.mode ?? mode),
    uid: own.uid ?? 0,
    gid: own.gid ?? 0,
    size: isDir || isLink ? 0 : stats.size,
  };
  if (linkname !== undefined) entry.linkname = linkname;
  if (!isDir && !isLink) {
    entry.source = {
      kind: 'host',
      path,
      dev: stats.dev,
      ino: stats.ino,
      mtimeMs: stats.mtimeMs,
      ctimeMs: stats.ctimeMs,
    };
  }
  return entry;
}

/** Resolves a mapping's source, refusing one outside the context directly or through a symlink. */
async function resolveSource(context: string, realContext: string, from: string): Promise<string> {
  const path = resolve(context, from);
  if (!isInside(context, path)) {
    throw unsafe(`source ${JSON.stringify(from)} is outside the build context ${context}`, from);
  }
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    // A missing source is a mistake in the build's inputs (exit 2), not a failure of the build.
    throw new VnfpipeError('USAGE', `source ${JSON.stringify(from)} not found`, {
      where: path,
      hint: `layer sources are relative to the build context ${context}`,
      cause: error,
    });
  }
  if (!isInside(realContext, real)) {
    throw unsafe(
      `source ${JSON.stringify(from)} leads outside the build context through a symlink (to ${real})`,
      from,
    );
  }
  return real;
}

/**
 * Lists a tree with synchronous calls: thousands of small `lstat`s run several times faster without a
 * thread-pool round trip each, and this is what a warm (cached) build mostly does.
 */
function walk(
  collector: Collector,
  dir: string,
  dest: string,
  rel: string,
  own: HostOwnership,
  filter: (rel: string, isDir: boolean) => 'take' | 'skip' | 'descend',
  signal?: AbortSignal,
): void {
  signal?.throwIfAborted();
  const names = readdirSync(dir).sort();
  for (const name of names) {
    const path = join(dir, name);
    const info = lstatSync(path);
    const childRel = rel ? `${rel}/${name}` : name;
    const verdict = filter(childRel, info.isDirectory());
    if (verdict === 'skip') continue;
    if (!info.isDirectory() && !info.isFile() && !info.isSymbolicLink()) continue; // sockets, fifos, devices
    const layer = dest ? `${dest}/${name}` : name;
    if (verdict === 'take') {
      const link = info.isSymbolicLink() ? readlinkSync(path) : undefined;
      put(collector, hostEntry(path, layer, info, own, link));
    }
    if (info.isDirectory()) walk(collector, path, layer, childRel, own, filter, signal);
  }
}

function mappingsOf(spec: LayerSpec): FileMapping[] {
  if (!spec.files) return [];
  if (Array.isArray(spec.files)) return spec.files;
  return Object.entries(spec.files).map(([from, to]) => ({ from, to }));
}

async function addMapping(
  collector: Collector,
  spec: LayerSpec,
  mapping: FileMapping,
  context: string,
  realContext: string,
  contextIgnore: PathMatcher | undefined,
  signal?: AbortSignal,
): Promise<void> {
  const own: HostOwnership = {
    keepModes: mapping.keepModes ?? spec.keepModes ?? false,
    mode: mapping.mode ?? spec.mode,
    dirMode: mapping.dirMode ?? spec.dirMode,
    uid: mapping.uid ?? spec.uid,
    gid: mapping.gid ?? spec.gid,
  };
  const source = await resolveSource(context, realContext, mapping.from);
  const info = await stat(source);
  let dest = layerPath(mapping.to);
  if (!info.isDirectory()) {
    if (mapping.to.endsWith('/')) dest = dest ? `${dest}/${basename(source)}` : basename(source);
    if (dest === '') throw unsafe('a file cannot replace the image root', mapping.to);
    put(collector, hostEntry(source, dest, info, own));
    return;
  }
  const include = [...(spec.include ?? []), ...(mapping.include ?? [])];
  const exclude = [...(spec.exclude ?? []), ...(mapping.exclude ?? [])];
  const includeMatcher = include.length > 0 ? createMatcher(include) : undefined;
  const excludeMatcher = exclude.length > 0 ? createMatcher(exclude) : undefined;
  const realSourceRel = relative(realContext, source).split(sep).join('/');
  const filter = (rel: string, isDir: boolean): 'take' | 'skip' | 'descend' => {
    const fromContext = realSourceRel ? `${realSourceRel}/${rel}` : rel;
    const ignored = (excludeMatcher?.matches(rel) ?? false) || (contextIgnore?.matches(fromContext) ?? false);
    const negations = (excludeMatcher?.hasNegations ?? false) || (contextIgnore?.hasNegations ?? false);
    // With include patterns, a directory that does not match may still hold files that do.
    const included = includeMatcher ? includeMatcher.matches(rel) : true;
    if (!ignored && included) return 'take';
    if (isDir && (negations || (!ignored && includeMatcher))) return 'descend';
    return 'skip';
  };
  if (dest !== '') put(collector, hostEntry(source, dest, info, own));
  walk(collector, source, dest, '', own, filter, signal);
}

function inlineData(content: string | Uint8Array): Buffer {
  return typeof content === 'string'
    ? Buffer.from(content)
    : Buffer.from(content.buffer, content.byteOffset, content.byteLength);
}

/** Every entry of the layer, sorted by path, hardlinks detected, whiteouts included. */
export async function collectEntries(
  spec: LayerSpec,
  defaultContext: string,
  signal?: AbortSignal,
): Promise<LayerEntry[]> {
  const context = resolve(defaultContext, spec.context ?? '.');
  const collector: Collector = { entries: new Map(), symlinks: new Set() };
  const needsHost = mappingsOf(spec).length > 0;
  const realContext = needsHost ? await realpath(context).catch(() => context) : context;
  let contextIgnore: PathMatcher | undefined;
  if (spec.ignoreFile) {
    const file = resolve(context, spec.ignoreFile);
    if (!isInside(context, file)) throw unsafe('ignoreFile is outside the build context', spec.ignoreFile);
    contextIgnore = createMatcher(parseIgnoreFile(await readFile(file, 'utf8')));
  }
  // Mappings apply in order, later ones replacing earlier entries at the same path (like COPY layering).
  for (const mapping of mappingsOf(spec)) {
    await addMapping(collector, spec, mapping, context, realContext, contextIgnore, signal);
  }
  for (const [path, value] of Object.entries(spec.directories ?? {})) {
    const isList = Array.isArray(spec.directories);
    const target = layerPath(isList ? String(value) : path);
    const dir = isList ? {} : (value as { mode?: number; uid?: number; gid?: number });
    put(collector, {
      path: target,
      type: 'dir',
      mode: dir.mode ?? spec.dirMode ?? 0o755,
      uid: dir.uid ?? spec.uid ?? 0,
      gid: dir.gid ?? spec.gid ?? 0,
      size: 0,
    });
  }
  for (const [path, value] of Object.entries(spec.content ?? {})) {
    const file = typeof value === 'string' || value instanceof Uint8Array ? { content: value } : value;
    const data = inlineData(file.content);
    put(collector, {
      path: layerPath(path),
      type: 'file',
      mode: file.mode ?? spec.mode ?? 0o644,
      uid: file.uid ?? spec.uid ?? 0,
      gid: file.gid ?? spec.gid ?? 0,
      size: data.length,
      source: { kind: 'inline', data },
    });
  }
  for (const [path, target] of Object.entries(spec.symlinks ?? {})) {
    if (typeof target !== 'string' || target === '' || target.includes('\0'))
      throw unsafe('invalid symlink target', path);
    put(collector, {
      path: layerPath(path),
      type: 'symlink',
      mode: 0o777,
      uid: spec.uid ?? 0,
      gid: spec.gid ?? 0,
      size: 0,
      linkname: target,
    });
  }
  for (const path of spec.opaque ?? []) {
    const dir = layerPath(path);
    if (dir === '') throw unsafe('the image root cannot be made opaque', path);
    if (!collector.entries.has(dir))
      put(collector, { path: dir, type: 'dir', mode: spec.dirMode ?? 0o755, uid: 0, gid: 0, size: 0 });
    put(collector, { path: `${dir}/${OPAQUE_MARKER}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0 });
  }
  for (const path of spec.delete ?? []) {
    const target = layerPath(path);
    if (target === '') throw unsafe('the image root cannot be deleted', path);
    const slash = target.lastIndexOf('/');
    const whiteout = `${target.slice(0, slash + 1)}${WHITEOUT_PREFIX}${target.slice(slash + 1)}`;
    put(collector, { path: whiteout, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0 });
  }
  const entries = [...collector.entries.values()].sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0,
  );
  refuseWritesThroughSymlinks(entries, collector.symlinks);
  linkHardlinks(entries);
  return entries;
}

/** An entry below a symlink of the same layer would be written wherever the link points: refuse it. */
function refuseWritesThroughSymlinks(entries: LayerEntry[], symlinks: Set<string>): void {
  if (symlinks.size === 0) return;
  for (const entry of entries) {
    let at = entry.path.lastIndexOf('/');
    while (at > 0) {
      const parent = entry.path.slice(0, at);
      if (symlinks.has(parent)) {
        throw unsafe(`${entry.path} would be written through the symlink ${parent}`, entry.path);
      }
      at = parent.lastIndexOf('/');
    }
  }
}

/** Later copies of a host file with several links become hardlinks to the first copy (in path order). */
function linkHardlinks(entries: LayerEntry[]): void {
  const first = new Map<string, string>();
  for (const entry of entries) {
    if (entry.type !== 'file' || entry.source?.kind !== 'host') continue;
    const key = `${entry.source.dev}:${entry.source.ino}`;
    const target = first.get(key);
    if (target === undefined) {
      first.set(key, entry.path);
      continue;
    }
    entry.type = 'hardlink';
    entry.linkname = target;
    entry.size = 0;
    delete entry.source;
  }
}
