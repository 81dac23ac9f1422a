/**
 * An independent decoder checks the packets vnfpipe builds: tshark (Wireshark's dissectors, Debian package
 * `tshark`) reads a capture of our GTP-U, PFCP and DNS messages and must find the fields we meant, and nothing
 * malformed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeQuery } from '../../src/verify/protocols/dns.js';
import { echoRequest, gpdu } from '../../src/verify/protocols/gtpu.js';
import { encodeIpv4Udp } from '../../src/verify/protocols/ipv4.js';
import { associationSetupRequest, heartbeatRequest } from '../../src/verify/protocols/pfcp.js';

function tsharkVersion(): string | undefined {
  try {
    return execFileSync('tshark', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    return undefined;
  }
}

/** A pcap file (LINKTYPE_RAW: each record is an IPv4 packet). */
function pcap(packets: Buffer[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(101, 20);
  const records = packets.map((packet, i) => {
    const record = Buffer.alloc(16);
    record.writeUInt32LE(1_700_000_000 + i, 0);
    record.writeUInt32LE(packet.length, 8);
    record.writeUInt32LE(packet.length, 12);
    return Buffer.concat([record, packet]);
  });
  return Buffer.concat([header, ...records]);
}

const udp = (port: number, payload: Buffer) =>
  encodeIpv4Udp({
    source: '192.0.2.1',
    destination: '198.51.100.7',
    sourcePort: 40000,
    destinationPort: port,
    payload,
  });

const version = tsharkVersion();
const inCi = process.env.CI === 'true';

describe('packets vnfpipe builds, decoded by tshark', () => {
  // CI installs tshark (scripts/setup-deps.sh): there the check never skips.
  it.skipIf(!version && !inCi)(
    `match what was meant (${version ?? 'skipped: tshark is not installed'})`,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-tshark-'));
      try {
        const inner = udp(6000, Buffer.from('vnfpipe'));
        const file = join(dir, 'probes.pcap');
        writeFileSync(
          file,
          pcap([
            udp(2152, echoRequest(0x1234)),
            udp(2152, gpdu(0x1001, inner)),
            udp(8805, heartbeatRequest(7, new Date(1_700_000_000_000))),
            udp(8805, associationSetupRequest(8, '10.0.0.1', new Date(1_700_000_000_000))),
            udp(53, encodeQuery(0xabcd, 'vfw.example', 'A')),
          ]),
        );
        const fields = [
          'gtp.message',
          'gtp.teid',
          'gtp.seq_number',
          'pfcp.msg_type',
          'pfcp.seqno',
          'pfcp.node_id_ipv4',
          'dns.qry.name',
          'dns.qry.type',
          'udp.checksum.status',
          'ip.checksum.status',
        ];
        const out = execFileSync(
          'tshark',
          [
            '-r',
            file,
            '-o',
            'udp.check_checksum:TRUE',
            '-o',
            'ip.check_checksum:TRUE',
            '-T',
            'fields',
            ...fields.flatMap((f) => ['-e', f]),
          ],
          { encoding: 'utf8' },
        );
        const rows = out
          .trim()
          .split('\n')
          .map((line) => Object.fromEntries(line.split('\t').map((value, i) => [fields[i], value])));
        expect(rows[0]).toMatchObject({
          'gtp.message': '0x01',
          'gtp.teid': '0x00000000',
          'gtp.seq_number': '0x1234',
        });
        // The G-PDU's T-PDU is dissected too: the outer and the inner IPv4 checksums both verify.
        expect(rows[1]).toMatchObject({
          'gtp.message': '0xff',
          'gtp.teid': '0x00001001',
          'ip.checksum.status': '1,1',
        });
        expect(rows[2]).toMatchObject({ 'pfcp.msg_type': '1', 'pfcp.seqno': '7' });
        expect(rows[3]).toMatchObject({
          'pfcp.msg_type': '5',
          'pfcp.seqno': '8',
          'pfcp.node_id_ipv4': '10.0.0.1',
        });
        expect(rows[4]).toMatchObject({ 'dns.qry.name': 'vfw.example', 'dns.qry.type': '1' });
        for (const row of rows) expect(row['udp.checksum.status']).toMatch(/^1(,1)?$/); // 1: good (0 bad, 2 unverified)
        const malformed = execFileSync(
          'tshark',
          ['-r', file, '-Y', '_ws.malformed || _ws.expert.severity >= warning'],
          {
            encoding: 'utf8',
          },
        );
        expect(malformed.trim()).toBe('');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
