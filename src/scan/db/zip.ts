/**
 * A minimal zip reader for OSV exports (`all.zip`): walks the central directory and inflates each entry,
 * bounding entry sizes so a hostile archive cannot exhaust memory.
 */
import { inflateRawSync } from 'node:zlib';
import { VnfpipeError } from '../../errors.js';

export interface ZipLimits {
  maxEntryBytes: number;
  maxEntries: number;
}

const DEFAULT_LIMITS: ZipLimits = { maxEntryBytes: 32 * 1024 * 1024, maxEntries: 2_000_000 };

function bad(message: string, where: string): VnfpipeError {
  return new VnfpipeError('SCAN_DATA', `invalid zip archive: ${message}`, {
    where,
    hint: 'the OSV export is truncated or corrupt; download all.zip again',
  });
}

/** Yields `[name, bytes]` for each file entry. */
export function* readZip(
  data: Buffer,
  where: string,
  limits: ZipLimits = DEFAULT_LIMITS,
): Generator<[string, Buffer]> {
  // End of central directory: signature 0x06054b50 within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = data.length - 22; i >= Math.max(0, data.length - 65557); i--) {
    if (data.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd === -1) throw bad('no end of central directory record', where);
  let count = data.readUInt16LE(eocd + 10);
  let offset = data.readUInt32LE(eocd + 16);
  if (count === 0xffff || offset === 0xffffffff) {
    // zip64: the locator precedes the EOCD.
    const loc = eocd - 20;
    if (loc < 0 || data.readUInt32LE(loc) !== 0x07064b50) throw bad('zip64 locator missing', where);
    const z = Number(data.readBigUInt64LE(loc + 8));
    if (data.readUInt32LE(z) !== 0x06064b50) throw bad('zip64 end record missing', where);
    count = Number(data.readBigUInt64LE(z + 32));
    offset = Number(data.readBigUInt64LE(z + 48));
  }
  if (count > limits.maxEntries) throw bad(`${count} entries exceed the ${limits.maxEntries} allowed`, where);
  for (let n = 0; n < count; n++) {
    if (offset + 46 > data.length || data.readUInt32LE(offset) !== 0x02014b50)
      throw bad('corrupt central directory', where);
    const method = data.readUInt16LE(offset + 10);
    let compressed = data.readUInt32LE(offset + 20);
    let size = data.readUInt32LE(offset + 24);
    const nameLength = data.readUInt16LE(offset + 28);
    const extraLength = data.readUInt16LE(offset + 30);
    const commentLength = data.readUInt16LE(offset + 32);
    let local = data.readUInt32LE(offset + 42);
    const name = data.toString('utf8', offset + 46, offset + 46 + nameLength);
    // zip64 extra field carries the real sizes/offset when the 32-bit ones are saturated.
    let e = offset + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = data.readUInt16LE(e);
      const len = data.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let p = e + 4;
        if (size === 0xffffffff) {
          size = Number(data.readBigUInt64LE(p));
          p += 8;
        }
        if (compressed === 0xffffffff) {
          compressed = Number(data.readBigUInt64LE(p));
          p += 8;
        }
        if (local === 0xffffffff) local = Number(data.readBigUInt64LE(p));
      }
      e += 4 + len;
    }
    offset = extraEnd + commentLength;
    if (name.endsWith('/')) continue;
    if (size > limits.maxEntryBytes)
      throw bad(`entry ${name} of ${size} bytes exceeds the ${limits.maxEntryBytes} allowed`, where);
    if (local + 30 > data.length || data.readUInt32LE(local) !== 0x04034b50)
      throw bad(`corrupt local header of ${name}`, where);
    const start = local + 30 + data.readUInt16LE(local + 26) + data.readUInt16LE(local + 28);
    const raw = data.subarray(start, start + compressed);
    if (raw.length !== compressed) throw bad(`entry ${name} is truncated`, where);
    let bytes: Buffer;
    if (method === 0) bytes = raw;
    else if (method === 8) {
      try {
        bytes = inflateRawSync(raw, { maxOutputLength: limits.maxEntryBytes });
      } catch (error) {
        throw bad(`cannot inflate ${name}: ${(error as Error).message}`, where);
      }
    } else throw bad(`entry ${name} uses unsupported compression method ${method}`, where);
    if (bytes.length !== size)
      throw bad(`entry ${name} inflates to ${bytes.length} bytes, header says ${size}`, where);
    yield [name, bytes];
  }
}
