/**
 * gRPC framing done by hand for the session's bulk streams (the context, exports, the session tunnel): a
 * flag byte and a 4-byte length before each message, and for `BytesMessage { bytes data = 1 }` the field's
 * tag and length before the payload, which is then written as is — never copied into a message buffer.
 */
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

export function varintLength(value: number): number {
  let length = 1;
  for (let v = value >>> 7; v !== 0; v >>>= 7) length++;
  return length;
}

export function putVarint(out: Buffer, at: number, value: number): number {
  let v = value >>> 0;
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[at++] = v;
  return at;
}

/** The gRPC envelope and field header of a BytesMessage up to its payload (nothing but the envelope when empty). */
export function bytesMessageHeader(dataLength: number): Buffer {
  const fieldBytes = dataLength === 0 ? 0 : 1 + varintLength(dataLength);
  const header = Buffer.allocUnsafe(5 + fieldBytes);
  header[0] = 0;
  header.writeUInt32BE(fieldBytes + dataLength, 1);
  if (fieldBytes) {
    header[5] = 0x0a; // field 1, length-delimited
    putVarint(header, 6, dataLength);
  }
  return header;
}

/** gRPC messages as they arrive on a stream, whole; a compressed message or a cut-off one is an error. */
export async function* grpcMessages(stream: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    pending = pending.length ? Buffer.concat([pending, bytes]) : bytes;
    while (pending.length >= 5) {
      const length = pending.readUInt32BE(1);
      if (pending.length < 5 + length) break;
      if (pending[0] !== 0) throw new Error('compressed gRPC messages are not supported');
      yield pending.subarray(5, 5 + length);
      pending = pending.subarray(5 + length);
    }
  }
  if (pending.length > 0) throw new Error(`the stream ended inside a message (${pending.length} bytes left)`);
}

/** The `data` field of a BytesMessage (the last one wins, as protobuf merges); other fields are skipped. */
export function bytesMessageData(message: Buffer): Buffer {
  let data: Buffer = Buffer.alloc(0);
  let at = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (at >= message.length) throw new Error('truncated varint in a BytesMessage');
      const byte = message[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
      shift += 7;
      if (shift > 49) throw new Error('varint too long in a BytesMessage');
    }
  };
  while (at < message.length) {
    const tag = varint();
    const wire = tag % 8;
    if (wire === 0) varint();
    else if (wire === 2) {
      const length = varint();
      if (at + length > message.length) throw new Error('a BytesMessage field runs past its message');
      if (tag === 0x0a) data = message.subarray(at, at + length);
      at += length;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else throw new Error(`unsupported wire type ${wire} in a BytesMessage`);
  }
  if (at > message.length) throw new Error('a BytesMessage field runs past its message');
  return data;
}

export const GRPC_OK = 0;
export const GRPC_NOT_FOUND = 5;
export const GRPC_INTERNAL = 13;

/**
 * Answers a gRPC call served on a raw HTTP/2 stream (the session's bulk streams): sends the response headers
 * and returns how to end the call with a status, in trailers, once. A stream the daemon resets is over, with
 * nothing to report to anyone, so its errors are swallowed.
 */
export function startGrpcResponse(
  request: Http2ServerRequest,
  response: Http2ServerResponse,
): (status: number, message?: string) => void {
  response.on('error', () => {});
  request.on('error', () => {});
  response.writeHead(200, { 'content-type': 'application/grpc+proto' });
  return (status, message) => {
    if (response.writableEnded || response.destroyed) return;
    response.addTrailers({
      'grpc-status': String(status),
      ...(message ? { 'grpc-message': encodeURIComponent(message) } : {}),
    });
    response.end();
  };
}
