/**
 * A reproducible tar writer (ustar, with PAX records only when a field does not fit). Headers depend on the
 * entry alone: fixed mtime, numeric owners, empty user/group names, no device numbers for files.
 */

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink';

export interface TarHeader {
  /** Path inside the layer, relative, `/`-separated, no `.` or `..` (directories without trailing slash). */
  path: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** Target of a symlink, or the layer path of the first copy for a hardlink. */
  linkname?: string;
}

export const BLOCK = 512;
const TYPEFLAG: Record<TarEntryType, string> = { file: '0', hardlink: '1', symlink: '2', dir: '5' };
const MAX_OCTAL_11 = 0o77777777777;
const MAX_OCTAL_7 = 0o7777777;

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  buf.write(value, offset, length, 'utf8');
}

function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  writeString(buf, offset, length - 1, value.toString(8).padStart(length - 1, '0'));
}

function isAscii(text: string): boolean {
  return /^[\x00-\x7f]*$/.test(text);
}

/** Splits a long path into ustar prefix and name, or undefined when it cannot be split. */
function splitUstarPath(path: string): { prefix: string; name: string } | undefined {
  if (path.length <= 100) return { prefix: '', name: path };
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== '/') continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (prefix.length <= 155 && name.length <= 100 && name.length > 0) return { prefix, name };
    if (path.length - i > 100) break;
  }
  return undefined;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length)
    length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

function ustarBlock(
  name: string,
  prefix: string,
  typeflag: string,
  mode: number,
  uid: number,
  gid: number,
  size: number,
  mtime: number,
  linkname: string,
): Buffer {
  const h = Buffer.alloc(BLOCK);
  writeString(h, 0, 100, name);
  writeOctal(h, 100, 8, mode & 0o7777);
  writeOctal(h, 108, 8, uid);
  writeOctal(h, 116, 8, gid);
  writeOctal(h, 124, 12, size);
  writeOctal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  writeString(h, 156, 1, typeflag);
  writeString(h, 157, 100, linkname);
  writeString(h, 257, 6, 'ustar\0');
  writeString(h, 263, 2, '00');
  writeOctal(h, 329, 8, 0);
  writeOctal(h, 337, 8, 0);
  writeString(h, 345, 155, prefix);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  writeString(h, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** Padding after `size` bytes of data to the next block boundary. */
export function paddingFor(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The header block(s) of one entry: a PAX extended header first when some field needs it. */
export function encodeTarHeader(entry: TarHeader): Buffer {
  const name = entry.type === 'dir' ? `${entry.path}/` : entry.path;
  const linkname = entry.linkname ?? '';
  const size = entry.type === 'file' ? entry.size : 0;
  const pax: string[] = [];
  const split = isAscii(name) ? splitUstarPath(name) : undefined;
  if (!split) pax.push(paxRecord('path', name));
  if (linkname.length > 100 || !isAscii(linkname)) pax.push(paxRecord('linkpath', linkname));
  if (size > MAX_OCTAL_11) pax.push(paxRecord('size', String(size)));
  if (entry.uid > MAX_OCTAL_7) pax.push(paxRecord('uid', String(entry.uid)));
  if (entry.gid > MAX_OCTAL_7) pax.push(paxRecord('gid', String(entry.gid)));

  const header = ustarBlock(
    split?.name ?? asciiFallback(name, 100),
    split?.prefix ?? '',
    TYPEFLAG[entry.type],
    entry.mode,
    Math.min(entry.uid, MAX_OCTAL_7),
    Math.min(entry.gid, MAX_OCTAL_7),
    Math.min(size, MAX_OCTAL_11),
    entry.mtime,
    pax.some((r) => r.includes(' linkpath=')) ? asciiFallback(linkname, 100) : linkname,
  );
  if (pax.length === 0) return header;
  const body = Buffer.from(pax.join(''));
  const paxName = asciiFallback(`PaxHeaders/${name.replace(/\/$/, '').split('/').pop() ?? ''}`, 100);
  const paxHeader = ustarBlock(paxName, '', 'x', 0o644, 0, 0, body.length, entry.mtime, '');
  return Buffer.concat([paxHeader, body, Buffer.alloc(paddingFor(body.length)), header]);
}

/** A short ASCII stand-in for a field whose real value is in a PAX record. */
function asciiFallback(text: string, max: number): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '_');
  return ascii.length <= max ? ascii : ascii.slice(ascii.length - max);
}

/** The two zero blocks that end an archive. */
export function tarTrailer(): Buffer {
  return Buffer.alloc(BLOCK * 2);
}
