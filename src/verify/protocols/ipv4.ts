/** IPv4/UDP packets (RFC 791, RFC 768) for T-PDUs inside GTP-U, with correct checksums. */

export interface UdpPacket {
  source: string;
  destination: string;
  sourcePort: number;
  destinationPort: number;
  payload: Buffer;
  ttl?: number;
}

function addressBytes(ip: string): Buffer {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`not an IPv4 address: ${ip}`);
  return Buffer.from(parts);
}

/** The Internet checksum: one's complement of the one's complement sum of 16-bit words. */
export function internetChecksum(...chunks: Buffer[]): number {
  const data = Buffer.concat(chunks);
  let sum = 0;
  for (let i = 0; i < data.length; i += 2) sum += (data[i]! << 8) | (data[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function encodeIpv4Udp(packet: UdpPacket): Buffer {
  const src = addressBytes(packet.source);
  const dst = addressBytes(packet.destination);
  const udpLength = 8 + packet.payload.length;
  const udp = Buffer.alloc(udpLength);
  udp.writeUInt16BE(packet.sourcePort, 0);
  udp.writeUInt16BE(packet.destinationPort, 2);
  udp.writeUInt16BE(udpLength, 4);
  packet.payload.copy(udp, 8);
  const pseudo = Buffer.concat([src, dst, Buffer.from([0, 17, udpLength >> 8, udpLength & 0xff])]);
  udp.writeUInt16BE(internetChecksum(pseudo, udp) || 0xffff, 6);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45; // version 4, 5 words
  ip.writeUInt16BE(20 + udpLength, 2);
  ip.writeUInt16BE(0x4000, 6); // DF
  ip[8] = packet.ttl ?? 64;
  ip[9] = 17;
  src.copy(ip, 12);
  dst.copy(ip, 16);
  ip.writeUInt16BE(internetChecksum(ip), 10);
  return Buffer.concat([ip, udp]);
}

export function decodeIpv4Udp(bytes: Buffer): UdpPacket | undefined {
  if (bytes.length < 28 || bytes[0]! >> 4 !== 4 || bytes[9] !== 17) return undefined;
  const ihl = (bytes[0]! & 0x0f) * 4;
  const total = Math.min(bytes.readUInt16BE(2), bytes.length);
  const udp = bytes.subarray(ihl, total);
  if (udp.length < 8) return undefined;
  const ip = (at: number) => [...bytes.subarray(at, at + 4)].join('.');
  return {
    source: ip(12),
    destination: ip(16),
    sourcePort: udp.readUInt16BE(0),
    destinationPort: udp.readUInt16BE(2),
    payload: udp.subarray(8, udp.readUInt16BE(4)),
    ttl: bytes[8]!,
  };
}
