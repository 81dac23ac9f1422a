/** DATA packets framed by hand (header + payload, no copy) must decode exactly as protobuf-es encodes them. */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { dataHeader } from '../../src/buildkit/diffcopy.js';
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
