/**
 * GTPv1-U (3GPP TS 29.281): the G-PDU that carries user packets by tunnel (TEID), and the echo
 * request/response of path management. Only what the probes send and check.
 */

export const GTPU_PORT = 2152;

export const GTPU_TYPE = { echoRequest: 1, echoResponse: 2, errorIndication: 26, gpdu: 255 } as const;

export interface GtpuMessage {
  type: number;
  teid: number;
  /** Present when the S flag is set. */
  sequence?: number;
  /** The T-PDU of a G-PDU, or the information elements of other messages. */
  payload: Buffer;
}

/** Version 1, protocol type GTP (PT=1): the first octet without optional fields (§5.1). */
const VERSION_PT = 0x30;
const S_FLAG = 0x02;
const OPTIONAL_FLAGS = 0x07;

export function encodeGtpu(message: GtpuMessage): Buffer {
  const withSequence = message.sequence !== undefined;
  const optional = withSequence ? 4 : 0;
  const out = Buffer.alloc(8 + optional + message.payload.length);
  out[0] = VERSION_PT | (withSequence ? S_FLAG : 0);
  out[1] = message.type;
  // Length: everything after the mandatory 8 octets, optional fields included.
  out.writeUInt16BE(optional + message.payload.length, 2);
  out.writeUInt32BE(message.teid >>> 0, 4);
  if (withSequence) out.writeUInt16BE(message.sequence!, 8); // N-PDU number and next extension type stay 0
  message.payload.copy(out, 8 + optional);
  return out;
}

/** A G-PDU carrying `packet` (usually an IPv4 packet) in tunnel `teid`. */
export function gpdu(teid: number, packet: Buffer): Buffer {
  return encodeGtpu({ type: GTPU_TYPE.gpdu, teid, payload: packet });
}

/** Echo Request: TEID 0 and a sequence number (§7.2.1 requires the S flag). */
export function echoRequest(sequence: number): Buffer {
  return encodeGtpu({ type: GTPU_TYPE.echoRequest, teid: 0, sequence, payload: Buffer.alloc(0) });
}

export class GtpuDecodeError extends Error {}

export function decodeGtpu(bytes: Buffer): GtpuMessage {
  if (bytes.length < 8) throw new GtpuDecodeError(`${bytes.length} bytes: shorter than a GTP-U header`);
  const flags = bytes[0]!;
  if (flags >> 5 !== 1) throw new GtpuDecodeError(`version ${flags >> 5}, not GTPv1`);
  if (!(flags & 0x10)) throw new GtpuDecodeError("protocol type 0 (GTP'), not GTP");
  const length = bytes.readUInt16BE(2);
  if (8 + length > bytes.length)
    throw new GtpuDecodeError(
      `length field ${length} exceeds the ${bytes.length - 8} bytes after the header`,
    );
  let offset = 8;
  let sequence: number | undefined;
  if (flags & OPTIONAL_FLAGS) {
    if (length < 4) throw new GtpuDecodeError('optional fields flagged but missing');
    if (flags & S_FLAG) sequence = bytes.readUInt16BE(8);
    let next = bytes[11]!;
    offset = 12;
    // Extension headers: length in 4-octet units, the last octet names the next one (§5.2).
    while (next !== 0) {
      const units = bytes[offset];
      if (!units || offset + units * 4 > 8 + length) throw new GtpuDecodeError('truncated extension header');
      next = bytes[offset + units * 4 - 1]!;
      offset += units * 4;
    }
  }
  return {
    type: bytes[1]!,
    teid: bytes.readUInt32BE(4),
    ...(sequence !== undefined ? { sequence } : {}),
    payload: bytes.subarray(offset, 8 + length),
  };
}
