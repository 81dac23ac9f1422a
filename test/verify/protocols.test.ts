/**
 * The packet encoders and decoders of the telco probes, against byte sequences written out by hand from the
 * specifications: GTP-U (3GPP TS 29.281 §5.1, §7.2), PFCP (TS 29.244 §7.2.2, §8.1.1, §8.2), DNS (RFC 1035 §4).
 */
import { describe, expect, it } from 'vitest';
import { decodeResponse, encodeQuery } from '../../src/verify/protocols/dns.js';
import { decodeGtpu, echoRequest, GtpuDecodeError, gpdu } from '../../src/verify/protocols/gtpu.js';
import { decodeIpv4Udp, encodeIpv4Udp, internetChecksum } from '../../src/verify/protocols/ipv4.js';
import {
  associationSetupRequest,
  causeOf,
  decodePfcp,
  heartbeatRequest,
  nodeIdOf,
  PfcpDecodeError,
  recoveryTime,
} from '../../src/verify/protocols/pfcp.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('GTP-U', () => {
  it('encodes an echo request with the S flag, TEID 0 and its sequence number', () => {
    // flags 001 1 0 0 1 0: version 1, PT 1, S; type 1; length 4 (the optional fields); TEID 0
    expect(echoRequest(0x1234).toString('hex')).toBe('320100040000000012340000');
  });

  it('encodes a G-PDU: type 255, length of the T-PDU, the TEID', () => {
    expect(gpdu(0x0a0b0c0d, Buffer.from('ab')).toString('hex')).toBe('30ff00020a0b0c0d6162');
  });

  it('decodes an echo response with a Recovery IE, and a G-PDU behind an extension header', () => {
    const response = decodeGtpu(hex('32 02 0006 00000000 1234 00 00 0e 00'));
    expect(response).toMatchObject({ type: 2, teid: 0, sequence: 0x1234 });
    expect(response.payload.toString('hex')).toBe('0e00');
    // E flag; next extension type 0x85 (PDU session container), one 4-octet unit ending in "no more"
    const withExtension = decodeGtpu(hex('34 ff 000a 00000007 0000 00 85 01 0001 00 6869'));
    expect(withExtension).toMatchObject({ type: 255, teid: 7 });
    expect(withExtension.payload.toString()).toBe('hi');
  });

  it('refuses what is not GTPv1-U, naming why', () => {
    expect(() => decodeGtpu(hex('4801000800000000'))).toThrow(/version 2, not GTPv1/);
    expect(() => decodeGtpu(hex('20ff000000000000'))).toThrow(/protocol type 0/);
    expect(() => decodeGtpu(hex('30ff0009000000016162'))).toThrow(GtpuDecodeError);
    expect(() => decodeGtpu(hex('30ff00'))).toThrow(/shorter than a GTP-U header/);
  });
});

describe('IPv4/UDP T-PDUs', () => {
  it('builds a packet whose header and UDP checksums verify, and reads it back', () => {
    const packet = encodeIpv4Udp({
      source: '192.0.2.1',
      destination: '198.51.100.7',
      sourcePort: 7000,
      destinationPort: 2152,
      payload: Buffer.from('vnfpipe'),
    });
    expect(packet.subarray(0, 4).toString('hex')).toBe('45000023'); // 20 + 8 + 7 = 35 bytes
    expect(packet[9]).toBe(17);
    expect(internetChecksum(packet.subarray(0, 20))).toBe(0);
    const pseudo = Buffer.concat([packet.subarray(12, 20), hex('0011 000f')]);
    expect(internetChecksum(pseudo, packet.subarray(20))).toBe(0);
    expect(decodeIpv4Udp(packet)).toMatchObject({
      source: '192.0.2.1',
      destination: '198.51.100.7',
      sourcePort: 7000,
      destinationPort: 2152,
      payload: Buffer.from('vnfpipe'),
    });
  });

  it('computes the RFC 1071 example checksum', () => {
    // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement
    expect(internetChecksum(hex('0001f203f4f5f6f7'))).toBe(0xffff - 0xddf2);
  });
});

describe('PFCP', () => {
  const started = new Date(1_700_000_000_000); // NTP seconds 0xe8fe6f80

  it('encodes a heartbeat request: no SEID, sequence, Recovery Time Stamp IE 96', () => {
    expect(heartbeatRequest(1, started).toString('hex')).toBe('2001000c00000100' + '00600004e8fe6f80');
  });

  it('encodes an association setup request with an IPv4 Node ID (IE 60, type 0)', () => {
    expect(associationSetupRequest(0x0a0b0c, '10.0.0.1', started).toString('hex')).toBe(
      '200500150a0b0c00' + '003c0005000a000001' + '00600004e8fe6f80',
    );
  });

  it('encodes an FQDN Node ID in DNS label form', () => {
    const message = decodePfcp(associationSetupRequest(2, 'upf.example', started));
    expect(message.ies[0]!.value.toString('hex')).toBe('0203757066076578616d706c65');
    expect(nodeIdOf(message)).toBe('upf.example');
  });

  it('decodes an association setup response: node, cause, recovery time', () => {
    const response = decodePfcp(
      hex('2006 001a 000007 00  003c 0005 00 0a000002  0013 0001 01  0060 0004 e8fe6f80'),
    );
    expect(response).toMatchObject({ type: 6, sequence: 7 });
    expect(nodeIdOf(response)).toBe('10.0.0.2');
    expect(causeOf(response)).toBe(1);
    expect(recoveryTime(response)).toEqual(started);
  });

  it('decodes the SEID of a session message', () => {
    const message = decodePfcp(hex('2132 000c 0000000000000abc 000001 00'));
    expect(message).toMatchObject({ type: 0x32, seid: 0xabcn, sequence: 1, ies: [] });
  });

  it('refuses malformed messages, naming why', () => {
    expect(() => decodePfcp(hex('4001000c00000100'))).toThrow(/version 2/);
    expect(() => decodePfcp(hex('2002 0010 000001 00 0060 0004 e8fe'))).toThrow(PfcpDecodeError);
    expect(() => decodePfcp(hex('2002 0009 000001 00 0060 0009 e8'))).toThrow(/overruns/);
  });
});

describe('DNS', () => {
  it('encodes a recursive A query for one name', () => {
    expect(encodeQuery(0xabcd, 'example.com', 'A').toString('hex')).toBe(
      'abcd01000001000000000000' + '076578616d706c6503636f6d00' + '00010001',
    );
  });

  it('decodes answers with compressed names, CNAME chains and TTLs', () => {
    const response = decodeResponse(
      hex(
        'abcd 8180 0001 0002 0000 0000' +
          '03777777 076578616d706c65 03636f6d 00 0001 0001' + // www.example.com A IN
          'c00c 0005 0001 00000e10 0002 c010' + // → CNAME example.com (pointer to offset 16)
          'c010 0001 0001 0000003c 0004 5db8d822', // example.com A 93.184.216.34
      ),
    );
    expect(response).toMatchObject({ id: 0xabcd, rcode: 0, question: { name: 'www.example.com', type: 1 } });
    expect(response.answers).toEqual([
      { name: 'www.example.com', type: 5, ttl: 3600, data: 'example.com' },
      { name: 'example.com', type: 1, ttl: 60, data: '93.184.216.34' },
    ]);
  });

  it('reads NXDOMAIN, and refuses queries and compression loops', () => {
    expect(decodeResponse(hex('00018183000000000000000000')).rcode).toBe(3);
    expect(() => decodeResponse(encodeQuery(1, 'a.b', 'A'))).toThrow(/a query, not a response/);
    expect(() => decodeResponse(hex('0001 8180 0001 0000 0000 0000 c00c 0001 0001'))).toThrow(
      /compression loop/,
    );
  });
});
