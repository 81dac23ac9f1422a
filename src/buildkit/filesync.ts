/**
 * The sending side of FileSync.DiffCopy (fsutil's wire): every entry as a STAT packet, directories before
 * their children and names byte-sorted per directory, an empty STAT to end the listing; then the file
 * contents the receiver asks for by REQ (id = index in the STAT sequence), each ended by an empty DATA; a FIN
 * is answered with FIN. Exclusion follows .dockerignore semantics with the native builder's matcher.
 */
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { createMatcher, type PathMatcher } from '../image/dockerignore.js';

/** Go's os.FileMode type bits, which fsutil puts on the wire. */
const GO_MODE_DIR = 0x80000000;
const GO_MODE_SYMLINK = 0x08000000;

export interface SyncFilter {
  include?: readonly string[];
  exclude?: readonly string[];
  /** Paths the receiver needs followed (Dockerfile names): only they and their parents are sent. */
  followPaths?: readonly string[];
}

/**
 * fsutil's `Stat` message as sent (devices, which a context never holds, and xattrs are not): a plain object
 * rather than a protobuf message, because the listing is encoded by hand (see `statPacket`).
 */
export interface FileStat {
  path: string;
  /** Go's os.FileMode: permission bits plus the type bits above. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Nanoseconds since the epoch. */
  modTime: bigint;
  linkname: string;
}

export interface SyncEntry {
  stat: FileStat;
  /** Absolute host path of a regular file, for REQ. */
  file?: string;
  size: number;
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Whether a directory can hold something the include patterns want: only patterns whose literal leading
 * segments lead there (or below) can, so the dockerfile and .dockerignore listings skip the whole context.
 */
function reachable(patterns: readonly string[]): (dir: string) => boolean {
  const prefixes: string[][] = [];
  for (const pattern of patterns) {
    const segments = pattern.split('/').filter((s) => s !== '' && s !== '.');
    const literal: string[] = [];
    for (const segment of segments) {
      if (/[*?[\\]/.test(segment)) break;
      literal.push(segment);
    }
    // A glob segment below the literal part may match anything beneath it.
    if (literal.length < segments.length) literal.push('*');
    prefixes.push(literal);
  }
  return (dir) => {
    const parts = dir.split('/');
    return prefixes.some((prefix) => {
      for (let i = 0; i < parts.length; i++) {
        if (i >= prefix.length) return true; // the pattern names an ancestor: everything below is wanted
        if (prefix[i] === '*') return true;
        if (prefix[i] !== parts[i]) return false;
      }
      return true;
    });
  };
}

/**
 * The STAT sequence of a directory, filtered. Stats are taken synchronously: a context is thousands of
 * lstat calls, and one thread-pool round trip each cost more than the calls themselves.
 */
export async function listEntries(root: string, filter: SyncFilter = {}): Promise<SyncEntry[]> {
  const exclude = createMatcher(filter.exclude ?? []);
  const includes = [...(filter.include ?? []), ...(filter.followPaths ?? [])];
  const include: PathMatcher | undefined = includes.length ? createMatcher(includes) : undefined;
  const mayHold = includes.length ? reachable(includes) : () => true;
  const out: SyncEntry[] = [];

  // A directory is sent when it is itself wanted or something below it is.
  function walk(dir: string, rel: string): void {
    const names = readdirSync(dir).sort(byteCompare);
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const host = `${dir}/${name}`;
      const info = lstatSync(host);
      const excluded = exclude.matches(path);
      const included = !include || include.matches(path);
      if (info.isDirectory()) {
        // An excluded directory is only entered when a `!` pattern could bring something below it back.
        if (excluded && !exclude.hasNegations) continue;
        if (!included && !mayHold(path)) continue;
        const at = out.length;
        out.push({ stat: statOf(path, info, GO_MODE_DIR | (info.mode & 0o7777)), size: 0 });
        walk(host, path);
        const sentChildren = out.length > at + 1;
        if (!sentChildren && (excluded || !included)) out.splice(at, 1);
        continue;
      }
      if (excluded || !included) continue;
      if (info.isSymbolicLink()) {
        const stat = statOf(path, info, GO_MODE_SYMLINK | (info.mode & 0o777));
        stat.linkname = readlinkSync(host);
        out.push({ stat, size: 0 });
      } else if (info.isFile()) {
        const stat = statOf(path, info, info.mode & 0o7777);
        stat.size = info.size;
        out.push({ stat, file: host, size: info.size });
      }
      // Sockets, FIFOs and devices are not build context.
    }
  }
  walk(root.replace(/\/+$/, '') || '/', '');
  return out;
}

function statOf(path: string, info: Stats, mode: number): FileStat {
  return {
    path,
    mode: mode >>> 0,
    uid: info.uid,
    gid: info.gid,
    size: 0,
    modTime: BigInt(Math.trunc(info.mtimeMs * 1e6)),
    linkname: '',
  };
}

/** A requested file's bytes, read ahead of sending: whole for small files, chunk by chunk for big ones. */
const SMALL_FILE = 64 * 1024;

export class FileReader {
  private handle: Promise<FileHandle> | undefined;
  private next: Promise<Buffer> | undefined;
  private offset = 0;

  constructor(
    private readonly path: string,
    private readonly size: number,
    private readonly chunk: number,
  ) {}

  /** Starts reading the first chunk (read-ahead). */
  start(): void {
    this.next ??= this.size <= SMALL_FILE ? this.readSmall() : this.read();
  }

  /**
   * A small file in one synchronous open/read/close: three thread-pool round trips per file cost more main-
   * thread time (promises, callbacks) than the calls themselves; most files of a context are small.
   */
  private readSmall(): Promise<Buffer> {
    try {
      const fd = openSync(this.path, 'r');
      try {
        const buffer = Buffer.allocUnsafe(this.size);
        const bytesRead = this.size === 0 ? 0 : readSync(fd, buffer, 0, this.size, 0);
        this.offset = this.size;
        return Promise.resolve(bytesRead === this.size ? buffer : buffer.subarray(0, bytesRead));
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The next chunk, or undefined at the end of the file; the one after it is already being read. */
  async take(): Promise<Buffer | undefined> {
    this.start();
    const data = await this.next!;
    if (data.length === 0) {
      await this.close();
      return undefined;
    }
    this.next = this.read();
    return data;
  }

  private async read(): Promise<Buffer> {
    const want = Math.min(this.chunk, Math.max(this.size - this.offset, 0));
    // Files that grew since the listing are cut at the size their STAT announced.
    if (want === 0) return Buffer.alloc(0);
    this.handle ??= open(this.path, 'r');
    const handle = await this.handle;
    const buffer = Buffer.allocUnsafe(want);
    const { bytesRead } = await handle.read(buffer, 0, want, this.offset);
    this.offset += bytesRead;
    return bytesRead === want ? buffer : buffer.subarray(0, bytesRead);
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await (await handle?.catch(() => undefined))?.close().catch(() => undefined);
  }
}
