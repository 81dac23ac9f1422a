/**
 * A small push-based tar reader (ustar, POSIX pax, GNU long names) for scanning layers in one pass.
 * It keeps no body unless the handler asks for it, bounds every header it reads, and refuses what a
 * layer should never hold (sparse files, oversized headers, entries above the size bound).
 */
import { VnfpipeError } from '../../errors.js';
import { decodeName, displayName } from './names.js';

export type TarEntryKind = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  /** The path as written in the archive (normalised by the caller). */
  path: string;
  kind: TarEntryKind;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkname: string;
}

/** Receives an entry's body, chunk by chunk. */
export interface BodySink {
  data(chunk: Buffer): void;
  end(): void;
}

export interface TarLimits {
  /** Largest regular file accepted. */
  maxEntryBytes: number;
  /** Largest pax header or GNU long name accepted. */
  maxMetaBytes: number;
  /**
   * Pax / GNU long-name bytes accepted in one archive before its entries earn more (4 KiB each): a flood of
   * headers with no entries between is refused, while a big layer with a pax header per file is not.
   */
  maxMetaTotalBytes: number;
  /** Most entries accepted in one archive. */
  maxEntries: number;
}

export const DEFAULT_TAR_LIMITS: TarLimits = {
  maxEntryBytes: 8 * 1024 ** 3,
  maxMetaBytes: 1024 * 1024,
  maxMetaTotalBytes: 16 * 1024 * 1024,
  maxEntries: 2_000_000,
};

const BLOCK = 512;
/** Header bytes each entry adds to the archive's allowance (pax records of one file are far smaller). */
const META_PER_ENTRY = 4096;
const KINDS: Record<string, TarEntryKind> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

type State =
  | { t: 'header' }
  | { t: 'body'; remaining: number; pad: number; sink: BodySink | undefined }
  | { t: 'meta'; remaining: number; pad: number; kind: string; parts: Buffer[] }
  | { t: 'end' };

/** A NUL-terminated name field, decoded injectively (names are bytes; see names.ts). */
function cstring(block: Buffer, offset: number, length: number): string {
  const end = block.indexOf(0, offset);
  return decodeName(block.subarray(offset, end === -1 || end > offset + length ? offset + length : end));
}

/**
 * Parses a tar stream. `onEntry` is called for each entry (files, dirs, links, devices) and returns a sink
 * for the body, or undefined to skip it. Errors name `where` (the layer digest).
 */
export class TarReader {
  private state: State = { t: 'header' };
  private pending: Buffer = Buffer.alloc(0);
  private pax: Record<string, string> = {};
  private globalPax: Record<string, string> = {};
  private gnuLongName: string | undefined;
  private gnuLongLink: string | undefined;
  private entries = 0;
  private metaBytes = 0;
  private lastPath = '';

  constructor(
    private readonly where: string,
    private readonly onEntry: (entry: TarEntry) => BodySink | undefined,
    private readonly limits: TarLimits = DEFAULT_TAR_LIMITS,
  ) {}

  private unsafe(message: string, path?: string): VnfpipeError {
    return new VnfpipeError('LAYER_UNSAFE', message, {
      where: path ? `${this.where} ${displayName(path)}` : this.where,
      hint: 'the layer is malformed or hostile; rebuild it from a trusted source',
    });
  }

  write(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let pos = 0;
    while (pos < buf.length) {
      const s = this.state;
      if (s.t === 'end') return; // trailing zeros or padding after the end marker
      if (s.t === 'header') {
        if (buf.length - pos < BLOCK) break;
        this.header(buf.subarray(pos, pos + BLOCK));
        pos += BLOCK;
        continue;
      }
      const take = Math.min(s.remaining, buf.length - pos);
      if (take > 0) {
        const piece = buf.subarray(pos, pos + take);
        if (s.t === 'body') s.sink?.data(piece);
        else s.parts.push(Buffer.from(piece));
        s.remaining -= take;
        pos += take;
      }
      if (s.remaining > 0) break;
      const skip = Math.min(s.pad, buf.length - pos);
      s.pad -= skip;
      pos += skip;
      if (s.pad > 0) break;
      if (s.t === 'body') s.sink?.end();
      else this.meta(s.kind, Buffer.concat(s.parts));
      this.state = { t: 'header' };
    }
    buf = buf.subarray(pos);
    this.pending = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }

  /** Checks that the archive did not stop in the middle of an entry. */
  finish(): void {
    if (this.state.t === 'body' || this.state.t === 'meta' || this.pending.length >= BLOCK) {
      throw this.unsafe('layer ends in the middle of an entry (truncated archive)', this.lastPath);
    }
  }

  private header(block: Buffer): void {
    if (block.every((b) => b === 0)) {
      this.state = { t: 'end' };
      return;
    }
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    const stored = this.octal(block, 148, 8, 'checksum');
    if (stored !== sum)
      throw this.unsafe('tar header checksum mismatch (corrupt or not a tar archive)', this.lastPath);
    const type = String.fromCharCode(block[156]!);
    const size = this.number(block, 124, 12, 'size');
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      if (size > this.limits.maxMetaBytes) {
        throw this.unsafe(
          `tar ${type} header of ${size} bytes exceeds the ${this.limits.maxMetaBytes} allowed`,
        );
      }
      this.metaBytes += size;
      const allowance = this.limits.maxMetaTotalBytes + META_PER_ENTRY * this.entries;
      if (this.metaBytes > allowance) {
        throw this.unsafe(
          `tar headers (pax, long names) exceed ${allowance} bytes for ${this.entries} entries in one layer`,
          this.lastPath,
        );
      }
      this.state = { t: 'meta', remaining: size, pad, kind: type, parts: [] };
      return;
    }
    const ustar = block.toString('latin1', 257, 263) === 'ustar\0';
    let path = cstring(block, 0, 100);
    if (ustar) {
      const prefix = cstring(block, 345, 155);
      if (prefix) path = `${prefix}/${path}`;
    }
    let linkname = cstring(block, 157, 100);
    if (this.gnuLongName !== undefined) path = this.gnuLongName;
    if (this.gnuLongLink !== undefined) linkname = this.gnuLongLink;
    const pax = { ...this.globalPax, ...this.pax };
    if (pax.path !== undefined) path = pax.path;
    if (pax.linkpath !== undefined) linkname = pax.linkpath;
    let entrySize = size;
    if (pax.size !== undefined) {
      if (!/^\d{1,16}$/.test(pax.size))
        throw this.unsafe(`invalid pax size ${JSON.stringify(pax.size)}`, path);
      entrySize = Number(pax.size);
    }
    this.pax = {};
    this.gnuLongName = undefined;
    this.gnuLongLink = undefined;
    this.lastPath = path;
    if (++this.entries > this.limits.maxEntries) {
      throw this.unsafe(`more than ${this.limits.maxEntries} entries in one layer`);
    }
    const kind = KINDS[type];
    if (!kind) {
      const what = type === 'S' ? 'GNU sparse file' : `tar entry type ${JSON.stringify(type)}`;
      throw this.unsafe(`unsupported ${what}`, path);
    }
    if (entrySize > this.limits.maxEntryBytes) {
      throw this.unsafe(`entry of ${entrySize} bytes exceeds the ${this.limits.maxEntryBytes} allowed`, path);
    }
    const entry: TarEntry = {
      path,
      kind,
      mode: this.octal(block, 100, 8, 'mode') & 0o7777,
      uid: this.number(block, 108, 8, 'uid'),
      gid: this.number(block, 116, 8, 'gid'),
      size: kind === 'file' ? entrySize : 0,
      linkname,
    };
    if (pax.uid !== undefined && /^\d{1,10}$/.test(pax.uid)) entry.uid = Number(pax.uid);
    if (pax.gid !== undefined && /^\d{1,10}$/.test(pax.gid)) entry.gid = Number(pax.gid);
    const sink = this.onEntry(entry);
    // Only regular files carry data; a non-zero size on anything else is still skipped in the stream.
    const bodySize = kind === 'file' ? entrySize : size;
    const bodyPad = (BLOCK - (bodySize % BLOCK)) % BLOCK;
    if (bodySize === 0) {
      sink?.end();
      return;
    }
    this.state = { t: 'body', remaining: bodySize, pad: bodyPad, sink: kind === 'file' ? sink : undefined };
  }

  private meta(kind: string, data: Buffer): void {
    if (kind === 'L' || kind === 'K') {
      const value = cstring(data, 0, data.length);
      if (kind === 'L') this.gnuLongName = value;
      else this.gnuLongLink = value;
      return;
    }
    const records = this.parsePax(data);
    const target = kind === 'g' ? this.globalPax : this.pax;
    Object.assign(target, records);
    // Global records persist for the rest of the archive: bound what is kept, not only each header.
    let kept = 0;
    for (const [key, value] of Object.entries(target)) kept += key.length + value.length;
    if (kept > this.limits.maxMetaBytes) {
      throw this.unsafe(`pax records add up to more than ${this.limits.maxMetaBytes} bytes`, this.lastPath);
    }
  }

  /** Pax records; path and linkpath keep their bytes (hdrcharset=BINARY allows any). */
  private parsePax(data: Buffer): Record<string, string> {
    const out: Record<string, string> = {};
    let pos = 0;
    while (pos < data.length) {
      if (data[pos] === 0) break;
      const space = data.indexOf(0x20, pos);
      const lengthText = space === -1 ? '' : data.toString('latin1', pos, space);
      const length = /^\d{1,7}$/.test(lengthText) ? Number(lengthText) : Number.NaN;
      if (!Number.isFinite(length) || length <= lengthText.length + 1 || pos + length > data.length) {
        throw this.unsafe('malformed pax header record');
      }
      const record = data.subarray(space + 1, pos + length - 1);
      const eq = record.indexOf(0x3d);
      if (eq <= 0) throw this.unsafe('malformed pax header record');
      const key = record.toString('utf8', 0, eq);
      out[key] = decodeName(record.subarray(eq + 1));
      pos += length;
    }
    return out;
  }

  private octal(block: Buffer, offset: number, length: number, field: string): number {
    const text = block
      .toString('latin1', offset, offset + length)
      .replace(/[\0 ]+$/, '')
      .replace(/^ +/, '');
    if (text === '') return 0;
    if (!/^[0-7]{1,12}$/.test(text))
      throw this.unsafe(`invalid tar ${field} field ${JSON.stringify(text)}`, this.lastPath);
    return Number.parseInt(text, 8);
  }

  /** Octal, or GNU base-256 for large values. */
  private number(block: Buffer, offset: number, length: number, field: string): number {
    if ((block[offset]! & 0x80) === 0) return this.octal(block, offset, length, field);
    if (block[offset] === 0xff) throw this.unsafe(`negative tar ${field}`, this.lastPath);
    let value = block[offset]! & 0x7f;
    for (let i = 1; i < length; i++) {
      value = value * 256 + block[offset + i]!;
      if (value > Number.MAX_SAFE_INTEGER) throw this.unsafe(`tar ${field} too large`, this.lastPath);
    }
    return value;
  }
}
