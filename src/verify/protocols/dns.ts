/** DNS queries and answers (RFC 1035): one question, answers decoded with name compression. */

export const DNS_TYPE = { A: 1, NS: 2, CNAME: 5, MX: 15, TXT: 16, AAAA: 28 } as const;
export type DnsType = keyof typeof DNS_TYPE;

export const DNS_RCODE = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

export interface DnsAnswer {
  name: string;
  type: number;
  ttl: number;
  /** A: dotted quad; AAAA: hex groups; CNAME/NS: a name; TXT: the joined strings; others: hex. */
  data: string;
}

export interface DnsResponse {
  id: number;
  rcode: number;
  truncated: boolean;
  question?: { name: string; type: number };
  answers: DnsAnswer[];
}

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length > 63) throw new Error(`DNS label longer than 63 octets: ${label}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** A standard query with recursion desired. */
export function encodeQuery(id: number, name: string, type: DnsType): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id & 0xffff, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // QDCOUNT
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(DNS_TYPE[type], 0);
  tail.writeUInt16BE(1, 2); // class IN
  return Buffer.concat([header, encodeName(name), tail]);
}

export class DnsDecodeError extends Error {}

function readName(bytes: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let at = start;
  let next = -1;
  for (let jumps = 0; ; ) {
    const length = bytes[at];
    if (length === undefined) throw new DnsDecodeError(`name at octet ${start} runs past the message`);
    if ((length & 0xc0) === 0xc0) {
      if (++jumps > 32) throw new DnsDecodeError(`compression loop in the name at octet ${start}`);
      if (next < 0) next = at + 2;
      at = bytes.readUInt16BE(at) & 0x3fff;
      continue;
    }
    if (length === 0) return { name: labels.join('.'), next: next < 0 ? at + 1 : next };
    labels.push(bytes.subarray(at + 1, at + 1 + length).toString('ascii'));
    at += 1 + length;
  }
}

function rdata(bytes: Buffer, type: number, at: number, length: number): string {
  const data = bytes.subarray(at, at + length);
  if (type === DNS_TYPE.A && length === 4) return [...data].join('.');
  if (type === DNS_TYPE.AAAA && length === 16)
    return Array.from({ length: 8 }, (_, i) => data.readUInt16BE(i * 2).toString(16)).join(':');
  if (type === DNS_TYPE.CNAME || type === DNS_TYPE.NS) return readName(bytes, at).name;
  if (type === DNS_TYPE.TXT) {
    const strings: string[] = [];
    for (let i = 0; i < data.length; i += data[i]! + 1)
      strings.push(data.subarray(i + 1, i + 1 + data[i]!).toString());
    return strings.join('');
  }
  return data.toString('hex');
}

export function decodeResponse(bytes: Buffer): DnsResponse {
  if (bytes.length < 12) throw new DnsDecodeError(`${bytes.length} bytes: shorter than a DNS header`);
  const flags = bytes.readUInt16BE(2);
  if (!(flags & 0x8000)) throw new DnsDecodeError('a query, not a response (QR is 0)');
  const questions = bytes.readUInt16BE(4);
  const answers = bytes.readUInt16BE(6);
  let at = 12;
  let question: DnsResponse['question'];
  for (let i = 0; i < questions; i++) {
    const { name, next } = readName(bytes, at);
    if (next + 4 > bytes.length) throw new DnsDecodeError('truncated question');
    question ??= { name, type: bytes.readUInt16BE(next) };
    at = next + 4;
  }
  const records: DnsAnswer[] = [];
  for (let i = 0; i < answers; i++) {
    const { name, next } = readName(bytes, at);
    if (next + 10 > bytes.length) throw new DnsDecodeError(`truncated answer ${i + 1}`);
    const type = bytes.readUInt16BE(next);
    const ttl = bytes.readUInt32BE(next + 4);
    const length = bytes.readUInt16BE(next + 8);
    if (next + 10 + length > bytes.length) throw new DnsDecodeError(`answer ${i + 1} overruns the message`);
    records.push({ name, type, ttl, data: rdata(bytes, type, next + 10, length) });
    at = next + 10 + length;
  }
  return {
    id: bytes.readUInt16BE(0),
    rcode: flags & 0x0f,
    truncated: (flags & 0x0200) !== 0,
    ...(question ? { question } : {}),
    answers: records,
  };
}
