/** DATA and STAT packets framed by hand must be byte for byte what protobuf-es encodes, and decode back. */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { dataHeader, statPacket } from '../../src/buildkit/diffcopy.js';
import type { FileStat } from '../../src/buildkit/filesync.js';
import { StatSchema } from '../../src/buildkit/gen/github.com/tonistiigi/fsutil/types/stat_pb.js';
import {
  Packet_PacketType,
  PacketSchema,
} from '../../src/buildkit/gen/github.com/tonistiigi/fsutil/types/wire_pb.js';

describe('DiffCopy DATA framing', () => {
  const ids = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31 + 5];
  const sizes = [0, 1, 127, 128, 300, 256 * 1024];
  for (const id of ids) {
    it(`id ${id}: the gRPC envelope and fields match the encoder for every payload size`, () => {
      for (const size of sizes) {
        const payload = Buffer.alloc(size, (id + size) % 251);
        const header = dataHeader(id, size);
        const framed = Buffer.concat([header, payload]);
        expect(framed[0]).toBe(0);
        expect(framed.readUInt32BE(1)).toBe(framed.length - 5);
        const expected = toBinary(
          PacketSchema,
          create(PacketSchema, { type: Packet_PacketType.PACKET_DATA, ID: id, data: payload }),
        );
        // Byte comparison (toEqual walks a 256 KiB buffer element by element: seconds).
        expect(Buffer.compare(framed.subarray(5), expected), `id ${id}, ${size} bytes`).toBe(0);
        const decoded = fromBinary(PacketSchema, framed.subarray(5));
        expect(decoded.type).toBe(Packet_PacketType.PACKET_DATA);
        expect(decoded.ID).toBe(id);
        expect(Buffer.compare(decoded.data, payload)).toBe(0);
      }
    });
  }
});

describe('DiffCopy STAT encoding', () => {
  const base: FileStat = {
    path: 'a/b.txt',
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    size: 5,
    modTime: 1_764_590_000_123_456_789n,
    linkname: '',
  };
  const cases: Array<[string, FileStat]> = [
    ['a plain file', base],
    [
      'a directory (Go dir bit, the top bit of a uint32)',
      { ...base, path: 'a', mode: (0x80000000 | 0o755) >>> 0, size: 0 },
    ],
    ['a symbolic link', { ...base, path: 'link', mode: 0x08000000 | 0o777, size: 0, linkname: 'a/b.txt' }],
    ['root-owned, all zero values', { ...base, uid: 0, gid: 0, size: 0, modTime: 0n, mode: 0 }],
    ['a non-ASCII name', { ...base, path: 'données/ünïcode-文件.txt' }],
    ['a long path (two-byte length)', { ...base, path: `${'d/'.repeat(100)}f` }],
    ['a very long path (three-byte length)', { ...base, path: 'x'.repeat(20_000) }],
    ['large ids', { ...base, uid: 2 ** 31 + 5, gid: 4_294_967_295 }],
    ['a size above 32 bits', { ...base, size: 2 ** 40 + 3 }],
    ['the largest exact size', { ...base, size: Number.MAX_SAFE_INTEGER }],
    ['a modification time before 1970', { ...base, modTime: -1_000_000_000n }],
    ['a long link target', { ...base, mode: 0x08000000 | 0o777, linkname: 'y'.repeat(300) }],
  ];
  for (const [name, stat] of cases) {
    it(`${name}: matches the encoder and decodes back`, () => {
      const framed = statPacket(stat);
      expect(framed[0]).toBe(0);
      expect(framed.readUInt32BE(1)).toBe(framed.length - 5);
      const expected = toBinary(
        PacketSchema,
        create(PacketSchema, {
          type: Packet_PacketType.PACKET_STAT,
          stat: create(StatSchema, { ...stat, size: BigInt(stat.size) }),
        }),
      );
      expect(Buffer.compare(framed.subarray(5), expected)).toBe(0);
      const decoded = fromBinary(PacketSchema, framed.subarray(5));
      expect(decoded.type).toBe(Packet_PacketType.PACKET_STAT);
      expect(decoded.stat).toMatchObject({ ...stat, size: BigInt(stat.size) });
    });
  }

  it('no stat is the empty STAT that ends the listing', () => {
    const framed = statPacket();
    expect([...framed]).toEqual([0, 0, 0, 0, 0]);
    expect(fromBinary(PacketSchema, framed.subarray(5)).stat).toBeUndefined();
  });
});
