/**
 * PFCP (3GPP TS 29.244) node-related messages: heartbeat and association setup, the exchanges that tell
 * whether a user-plane or control-plane function answers on N4/Sxb. Only what the probes send and check.
 */

export const PFCP_PORT = 8805;

export const PFCP_TYPE = {
  heartbeatRequest: 1,
  heartbeatResponse: 2,
  associationSetupRequest: 5,
  associationSetupResponse: 6,
} as const;

export const PFCP_IE = { cause: 19, nodeId: 60, recoveryTimeStamp: 96 } as const;

/** Cause values (§8.2.1): 1 is the only success. */
export const PFCP_CAUSE: Record<number, string> = {
  1: 'Request accepted',
  64: 'Request rejected',
  65: 'Session context not found',
  66: 'Mandatory IE missing',
  73: 'No established PFCP Association',
  74: 'Rule creation/modification Failure',
  77: 'PFCP entity in congestion',
};

export interface PfcpIe {
  type: number;
  value: Buffer;
}

export interface PfcpMessage {
  type: number;
  sequence: number;
  /** Session messages only (S flag). */
  seid?: bigint;
  ies: PfcpIe[];
}

/** Seconds between the NTP era (1900) and the Unix epoch. */
const NTP_OFFSET = 2_208_988_800;

export function encodePfcp(message: PfcpMessage): Buffer {
  const ies = Buffer.concat(
    message.ies.map((ie) => {
      const head = Buffer.alloc(4);
      head.writeUInt16BE(ie.type, 0);
      head.writeUInt16BE(ie.value.length, 2);
      return Buffer.concat([head, ie.value]);
    }),
  );
  const withSeid = message.seid !== undefined;
  const header = Buffer.alloc(withSeid ? 16 : 8);
  header[0] = 0x20 | (withSeid ? 0x01 : 0); // version 1
  header[1] = message.type;
  // Length: everything after the first 4 octets.
  header.writeUInt16BE(header.length - 4 + ies.length, 2);
  let at = 4;
  if (withSeid) {
    header.writeBigUInt64BE(message.seid!, 4);
    at = 12;
  }
  header.writeUIntBE(message.sequence & 0xffffff, at, 3);
  return Buffer.concat([header, ies]);
}

export function recoveryTimeStamp(date: Date): PfcpIe {
  const value = Buffer.alloc(4);
  value.writeUInt32BE((Math.floor(date.getTime() / 1000) + NTP_OFFSET) >>> 0);
  return { type: PFCP_IE.recoveryTimeStamp, value };
}

/** Node ID IE (§8.2.38) with an IPv4 address (type 0) or an FQDN (type 2, DNS label encoding). */
export function nodeId(id: string): PfcpIe {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(id))
    return { type: PFCP_IE.nodeId, value: Buffer.from([0, ...id.split('.').map(Number)]) };
  const labels = id.split('.').flatMap((label) => [Buffer.from([label.length]), Buffer.from(label, 'ascii')]);
  return { type: PFCP_IE.nodeId, value: Buffer.concat([Buffer.from([2]), ...labels]) };
}

export function heartbeatRequest(sequence: number, started: Date): Buffer {
  return encodePfcp({ type: PFCP_TYPE.heartbeatRequest, sequence, ies: [recoveryTimeStamp(started)] });
}

export function associationSetupRequest(sequence: number, node: string, started: Date): Buffer {
  return encodePfcp({
    type: PFCP_TYPE.associationSetupRequest,
    sequence,
    ies: [nodeId(node), recoveryTimeStamp(started)],
  });
}

export class PfcpDecodeError extends Error {}

export function decodePfcp(bytes: Buffer): PfcpMessage {
  if (bytes.length < 8) throw new PfcpDecodeError(`${bytes.length} bytes: shorter than a PFCP header`);
  const flags = bytes[0]!;
  if (flags >> 5 !== 1) throw new PfcpDecodeError(`version ${flags >> 5}, not PFCP version 1`);
  const length = bytes.readUInt16BE(2);
  if (4 + length > bytes.length)
    throw new PfcpDecodeError(`length field ${length} exceeds the ${bytes.length - 4} bytes after it`);
  const withSeid = (flags & 0x01) === 1;
  const headerLength = withSeid ? 16 : 8;
  if (4 + length < headerLength)
    throw new PfcpDecodeError(`length field ${length} is shorter than the header`);
  const sequence = bytes.readUIntBE(withSeid ? 12 : 4, 3);
  const ies: PfcpIe[] = [];
  for (let at = headerLength; at < 4 + length; ) {
    if (at + 4 > 4 + length) throw new PfcpDecodeError(`truncated IE header at octet ${at}`);
    const type = bytes.readUInt16BE(at);
    const size = bytes.readUInt16BE(at + 2);
    if (at + 4 + size > 4 + length)
      throw new PfcpDecodeError(`IE ${type} at octet ${at} overruns the message`);
    ies.push({ type, value: bytes.subarray(at + 4, at + 4 + size) });
    at += 4 + size;
  }
  return { type: bytes[1]!, sequence, ...(withSeid ? { seid: bytes.readBigUInt64BE(4) } : {}), ies };
}

/** A Recovery Time Stamp IE's time, or undefined when the message has none. */
export function recoveryTime(message: PfcpMessage): Date | undefined {
  const ie = message.ies.find((i) => i.type === PFCP_IE.recoveryTimeStamp);
  if (!ie || ie.value.length < 4) return undefined;
  return new Date((ie.value.readUInt32BE(0) - NTP_OFFSET) * 1000);
}

export function causeOf(message: PfcpMessage): number | undefined {
  return message.ies.find((i) => i.type === PFCP_IE.cause)?.value[0];
}

/** A Node ID IE's identity: an IPv4 address, an IPv6 address in hex groups, or an FQDN. */
export function nodeIdOf(message: PfcpMessage): string | undefined {
  const value = message.ies.find((i) => i.type === PFCP_IE.nodeId)?.value;
  if (!value || value.length < 2) return undefined;
  const kind = value[0]! & 0x0f;
  const body = value.subarray(1);
  if (kind === 0 && body.length >= 4) return [...body.subarray(0, 4)].join('.');
  if (kind === 1 && body.length >= 16)
    return Array.from({ length: 8 }, (_, i) => body.readUInt16BE(i * 2).toString(16)).join(':');
  const labels: string[] = [];
  for (let at = 0; at < body.length && body[at]! > 0; at += body[at]! + 1)
    labels.push(body.subarray(at + 1, at + 1 + body[at]!).toString('ascii'));
  return labels.join('.');
}
