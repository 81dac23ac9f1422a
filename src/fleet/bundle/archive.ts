/**
 * The bundle file: one uncompressed tar holding an OCI image layout and vnfpipe's own files. It is written
 * as a stream (a member's size is known from its descriptor, so a blob goes from the registry to the file
 * without being held in memory) and read by indexing its headers once and streaming members from their
 * offsets: nothing is ever extracted, so a hostile archive cannot write anywhere. A member that is not a
 * plain file or directory at a clean relative path, an oversized header, a truncated body or a name listed
 * twice makes the whole bundle malformed (BUNDLE_INVALID, exit 2).
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { VnfpipeError } from '../../errors.js';
import { BLOCK, encodeTarHeader, paddingFor, tarTrailer } from '../../image/tar.js';
import { processAlive } from '../../oci/stale.js';

/** Largest pax header accepted: ours hold one path; anything bigger is an attack or not ours. */
const MAX_PAX_BYTES = 64 * 1024;
/** Most members accepted (a bundle of many images holds a few thousand blobs). */
const MAX_MEMBERS = 200_000;
/** Longest member name accepted. */
const MAX_NAME = 1024;

export interface ArchiveMember {
  name: string;
  /** Offset of the member's data in the file. */
  offset: number;
  size: number;
}

export function malformed(message: string, where: string, hint?: string): VnfpipeError {
  return new VnfpipeError('BUNDLE_INVALID', message, {
    where,
    hint: hint ?? 'the file is not a bundle vnfpipe wrote, or it was damaged: create it again',
  });
}

/** Streams members into a new tar; the file appears under its name only when `finish` succeeds. */
export class ArchiveWriter {
  private position = 0;
  private constructor(
    private readonly handle: FileHandle,
    private readonly temp: string,
    readonly path: string,
  ) {}

  static async create(path: string): Promise<ArchiveWriter> {
    await removeDeadPartials(path);
    const temp = `${path}.${process.pid}.partial`;
    return new ArchiveWriter(await open(temp, 'w', 0o644), temp, path);
  }

  /** Bytes written so far. */
  get size(): number {
    return this.position;
  }

  private async write(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, this.position);
      done += bytesWritten;
      this.position += bytesWritten;
    }
  }

  private header(name: string, size: number): Buffer {
    return encodeTarHeader({ path: name, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtime: 0 });
  }

  async addBuffer(name: string, bytes: Uint8Array): Promise<void> {
    await this.write(this.header(name, bytes.length));
    await this.write(bytes);
    await this.write(Buffer.alloc(paddingFor(bytes.length)));
  }

  /**
   * Writes `size` bytes from `chunks` as one member. `onChunk` sees every chunk (to hash it); a source
   * that ends early or gives more is an error, since the header already promised the size.
   */
  async addStream(
    name: string,
    size: number,
    chunks: AsyncIterable<Uint8Array>,
    onChunk?: (chunk: Uint8Array) => void,
  ): Promise<void> {
    await this.write(this.header(name, size));
    let written = 0;
    for await (const chunk of chunks) {
      if (written + chunk.length > size)
        throw new VnfpipeError('OCI_INVALID', `${name}: more than the ${size} bytes its descriptor says`, {
          where: name,
        });
      onChunk?.(chunk);
      await this.write(chunk);
      written += chunk.length;
    }
    if (written !== size)
      throw new VnfpipeError('OCI_INVALID', `${name}: ${written} bytes, its descriptor says ${size}`, {
        where: name,
      });
    await this.write(Buffer.alloc(paddingFor(size)));
  }

  async finish(): Promise<void> {
    await this.write(tarTrailer());
    await this.handle.sync();
    await this.handle.close();
    await rename(this.temp, this.path);
  }

  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.temp, { force: true });
  }
}

/** Removes `<path>.<pid>.partial` files whose writer no longer runs (a create that was killed). */
async function removeDeadPartials(path: string): Promise<void> {
  const prefix = `${basename(path)}.`;
  for (const name of await readdir(dirname(path)).catch(() => [] as string[])) {
    const pid = name.startsWith(prefix) ? /^(\d+)\.partial$/.exec(name.slice(prefix.length))?.[1] : undefined;
    if (pid && Number(pid) !== process.pid && !processAlive(Number(pid)))
      await rm(join(dirname(path), name), { force: true });
  }
}

function field(block: Buffer, offset: number, length: number): string {
  const end = block.indexOf(0, offset);
  return block.toString('utf8', offset, end === -1 || end > offset + length ? offset + length : end);
}

function numeric(block: Buffer, offset: number, length: number, where: string): number {
  // GNU base-256 for 8 GiB and more: the first byte's high bit is set.
  if ((block[offset]! & 0x80) !== 0) {
    let value = block[offset]! & 0x7f;
    for (let i = offset + 1; i < offset + length; i++) value = value * 256 + block[i]!;
    if (!Number.isSafeInteger(value)) throw malformed('a tar size field is too large', where);
    return value;
  }
  const text = field(block, offset, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw malformed(`invalid tar number field ${JSON.stringify(text)}`, where);
  return Number.parseInt(text, 8);
}

/** `path=` of a pax header; other records (mtime, uid…) mean nothing to a bundle. */
function paxPath(data: Buffer, where: string): string | undefined {
  let path: string | undefined;
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = space === -1 ? Number.NaN : Number(data.toString('latin1', at, space));
    if (!Number.isSafeInteger(length) || length <= 0 || at + length > data.length)
      throw malformed('invalid pax header record', where);
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    at += length;
  }
  return path;
}

/** A member name as stored: relative, `/`-separated, no `.`/`..` components, no empty ones. */
function cleanName(raw: string, where: string): string {
  const name = raw.replace(/^(\.\/)+/, '').replace(/\/$/, '');
  const refuse = (why: string) =>
    malformed(
      `member ${JSON.stringify(raw)} ${why}`,
      where,
      'a hostile or damaged archive: nothing was extracted',
    );
  if (name.length === 0 || name.length > MAX_NAME) throw refuse('has an empty or overlong name');
  if (name.startsWith('/')) throw refuse('has an absolute path');
  if (name.includes('\0') || name.includes('\\')) throw refuse('has a NUL or backslash in its name');
  for (const part of name.split('/')) {
    if (part === '..') throw refuse('escapes the bundle (..)');
    if (part === '' || part === '.') throw refuse('has an empty or "." path component');
  }
  return name;
}

/** A bundle opened for reading: its members by name, streamed from the file on demand. */
export class BundleArchive {
  private constructor(
    readonly path: string,
    private readonly members: Map<string, ArchiveMember>,
  ) {}

  /** Indexes the archive's headers, refusing anything a bundle never holds. */
  static async open(path: string): Promise<BundleArchive> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw new VnfpipeError('USAGE', `cannot open bundle: ${(error as Error).message}`, {
        where: path,
        hint: 'give the file `vnfpipe bundle create` wrote',
      });
    }
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw malformed('the bundle is not a regular file', path);
      return new BundleArchive(path, await indexMembers(handle, info.size, path));
    } finally {
      await handle.close();
    }
  }

  member(name: string): ArchiveMember | undefined {
    return this.members.get(name);
  }

  names(): string[] {
    return [...this.members.keys()];
  }

  /** A stream of a member's bytes from `start` up to `end` (exclusive). */
  stream(member: ArchiveMember, start = 0, end = member.size): Readable {
    if (end <= start) return Readable.from([]);
    return createReadStream(this.path, {
      start: member.offset + start,
      end: member.offset + end - 1,
      highWaterMark: 1024 * 1024,
    });
  }

  /** A whole (small) member. */
  async read(name: string, maxBytes: number): Promise<Buffer> {
    const member = this.members.get(name);
    if (!member) throw malformed(`the bundle has no ${name}`, this.path);
    if (member.size > maxBytes)
      throw malformed(`${name} is ${member.size} bytes, more than the ${maxBytes} allowed`, this.path);
    const parts: Buffer[] = [];
    for await (const chunk of this.stream(member)) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  }
}

async function indexMembers(handle: FileHandle, total: number, path: string) {
  const members = new Map<string, ArchiveMember>();
  const block = Buffer.alloc(BLOCK);
  let at = 0;
  let longName: string | undefined;
  for (;;) {
    if (at + BLOCK > total) {
      // A tar ends with zero blocks; stopping short of one means the file was cut.
      if (at === total && members.size > 0) return members;
      throw malformed(`the archive is truncated (at byte ${at} of ${total})`, path);
    }
    await handle.read(block, 0, BLOCK, at);
    const where = `${path} (header at byte ${at})`;
    if (block.every((b) => b === 0)) {
      if (members.size === 0) throw malformed('the archive is empty', path);
      return members;
    }
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    if (numeric(block, 148, 8, where) !== sum)
      throw malformed('tar header checksum mismatch (not a tar archive, or damaged)', where);
    const type = String.fromCharCode(block[156]!);
    const size = numeric(block, 124, 12, where);
    const body = at + BLOCK;
    if (body + size > total)
      throw malformed(`the archive is truncated inside a member (needs ${size} bytes)`, where);
    at = body + size + paddingFor(size);
    if (type === 'x') {
      if (size > MAX_PAX_BYTES)
        throw malformed(`a pax header of ${size} bytes (at most ${MAX_PAX_BYTES} accepted)`, where);
      const data = Buffer.alloc(size);
      await handle.read(data, 0, size, body);
      longName = paxPath(data, where);
      continue;
    }
    let raw = field(block, 0, 100);
    if (block.toString('latin1', 257, 262) === 'ustar') {
      const prefix = field(block, 345, 155);
      if (prefix) raw = `${prefix}/${raw}`;
    }
    if (longName !== undefined) raw = longName;
    longName = undefined;
    const kind = { '0': 'file', '\0': 'file', '5': 'dir' }[type];
    if (!kind) {
      const what = {
        '1': 'a hard link',
        '2': 'a symbolic link',
        '3': 'a device',
        '4': 'a device',
        '6': 'a FIFO',
      }[type];
      throw malformed(
        `member ${JSON.stringify(raw)} is ${what ?? `of tar type ${JSON.stringify(type)}`}: a bundle holds only files and directories`,
        where,
        'a hostile or damaged archive: nothing was extracted',
      );
    }
    const name = cleanName(raw, where);
    if (kind === 'dir') continue;
    if (members.has(name)) throw malformed(`member ${JSON.stringify(name)} appears twice`, where);
    if (members.size >= MAX_MEMBERS) throw malformed(`more than ${MAX_MEMBERS} members`, path);
    members.set(name, { name, offset: body, size });
  }
}
