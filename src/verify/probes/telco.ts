/** Protocol probes of telco workloads: GTP-U, PFCP, SCTP, DNS and ICMP (path MTU). */
import { randomInt } from 'node:crypto';
import type { ProbeSpec } from '../probes.js';
import { DNS_RCODE, decodeResponse, encodeQuery } from '../protocols/dns.js';
import { decodeGtpu, echoRequest, GTPU_PORT, GTPU_TYPE, gpdu } from '../protocols/gtpu.js';
import { decodeIpv4Udp, encodeIpv4Udp } from '../protocols/ipv4.js';
import {
  associationSetupRequest,
  causeOf,
  decodePfcp,
  heartbeatRequest,
  nodeIdOf,
  PFCP_CAUSE,
  PFCP_PORT,
  PFCP_TYPE,
  recoveryTime,
} from '../protocols/pfcp.js';
import type { ProbeOutcome } from '../run.js';
import type { ProbeRuntime } from '../runtime.js';
import { finish, firstLine, networkOf, runTool, startListener } from './tool-runs.js';

type Spec<K extends ProbeSpec['kind']> = Extract<ProbeSpec, { kind: K }>;

/** Sends one datagram from a probe container on `role`'s network; the answer's bytes, or why there is none. */
async function exchange(
  runtime: ProbeRuntime,
  role: string | undefined,
  host: string,
  port: number,
  request: Buffer,
  timeoutMs: number,
): Promise<{ answer?: Buffer; said: string; network: string }> {
  const result = await runTool(runtime, role, [
    'xchg',
    host,
    String(port),
    String(timeoutMs),
    request.toString('hex'),
  ]);
  const line = firstLine(result);
  if (result.exitCode === 0 && /^[0-9a-f]+$/.test(line))
    return { answer: Buffer.from(line, 'hex'), said: line, network: result.network };
  return { said: line, network: result.network };
}

/** The UE-side address of the inner packets: a documentation address, never routed. */
const UE_ADDRESS = '192.0.2.1';
const INNER_PORT = 7000;

export async function gtpuCheck(
  runtime: ProbeRuntime,
  spec: Spec<'gtpu'>,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  const to = spec.to ?? spec.from;
  const fromNet = networkOf(runtime, spec.from);
  const toNet = networkOf(runtime, to);
  if (!runtime.release.networks[spec.from] || !toNet || !fromNet)
    return {
      passed: false,
      evidence: `the workload has no network with role '${!fromNet ? spec.from : to}'`,
    };
  const target = await runtime.address(spec.from);
  const seen: string[] = [];
  if (spec.echo !== false) {
    const sequence = randomInt(1, 0xffff);
    const { answer, said } = await exchange(
      runtime,
      spec.from,
      target,
      GTPU_PORT,
      echoRequest(sequence),
      timeoutMs,
    );
    const echo = answer ? safely(() => decodeGtpu(answer)) : undefined;
    if (
      !echo ||
      typeof echo === 'string' ||
      echo.type !== GTPU_TYPE.echoResponse ||
      echo.sequence !== sequence
    ) {
      const what = !answer
        ? said
        : typeof echo === 'string'
          ? `not GTP-U (${echo})`
          : `GTP-U type ${echo?.type} sequence ${echo?.sequence}`;
      return {
        passed: false,
        evidence: `echo request (sequence ${sequence}) to ${target}:${GTPU_PORT} → ${what} (expected an echo response)`,
      };
    }
    seen.push(`echo request → echo response (sequence ${sequence})`);
  }
  const expect = spec.expect ?? 'forwarded';
  const packets = spec.packets ?? 5;
  const sinkPort = spec.sink.port ?? GTPU_PORT;
  const marker = `vnfpipe-gtpu-${spec.teid}`;
  const inner = encodeIpv4Udp({
    source: UE_ADDRESS,
    destination: spec.sink.ip,
    sourcePort: INNER_PORT,
    destinationPort: sinkPort,
    payload: Buffer.from(marker),
  });
  const image = spec.image ?? (await runtime.image());
  const sink = await startListener(runtime, {
    image,
    args: ['sinkhex', String(sinkPort), '30'],
    network: toNet,
    ip: spec.sink.ip,
  });
  let arrivals: string;
  try {
    const sent = await runTool(
      runtime,
      spec.from,
      ['sendhex', target, String(GTPU_PORT), String(packets), gpdu(spec.teid, inner).toString('hex')],
      image,
    );
    if (sent.exitCode !== 0)
      return { passed: false, evidence: `the G-PDU sender on ${fromNet} failed: ${firstLine(sent)}` };
    arrivals = (await finish(runtime, sink, 1500)).stdout;
  } finally {
    await sink.remove();
  }
  let forwarded = 0;
  let decapsulated = 0;
  const other: string[] = [];
  for (const [, hex] of arrivals.matchAll(/^from \S+ ([0-9a-f]*)$/gm)) {
    const bytes = Buffer.from(hex!, 'hex');
    if (bytes.toString() === marker) {
      decapsulated++;
      continue;
    }
    const message = safely(() => decodeGtpu(bytes));
    const innerPacket = typeof message === 'object' ? decodeIpv4Udp(message.payload) : undefined;
    if (
      typeof message === 'object' &&
      message.type === GTPU_TYPE.gpdu &&
      message.teid === spec.teid &&
      innerPacket?.payload.toString() === marker
    )
      forwarded++;
    else
      other.push(
        typeof message === 'object'
          ? `GTP-U type ${message.type} TEID ${message.teid}`
          : `${bytes.length} other bytes`,
      );
  }
  const arrived = expect === 'decapsulated' ? decapsulated : forwarded;
  const passed = expect === 'dropped' ? forwarded + decapsulated === 0 : arrived === packets;
  const saw = [
    `${forwarded} G-PDUs with TEID ${spec.teid}`,
    `${decapsulated} decapsulated packets`,
    ...(other.length ? [`${other.length} others (${[...new Set(other)].slice(0, 3).join(', ')})`] : []),
  ].join(', ');
  seen.push(
    `${packets} G-PDUs TEID ${spec.teid} sent from ${fromNet} to ${target}:${GTPU_PORT}; at ${spec.sink.ip}:${sinkPort} on ${toNet}: ${saw} (expected ${expect === 'dropped' ? 'none' : `${packets} ${expect}`})`,
  );
  return { passed, evidence: seen.join('; ') };
}

export async function pfcpCheck(
  runtime: ProbeRuntime,
  spec: Spec<'pfcp'>,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  const host = spec.host ?? (await runtime.address(spec.role));
  const port = spec.port ?? PFCP_PORT;
  const started = new Date();
  const sequence = randomInt(1, 0xffffff);
  const heartbeat = await exchange(
    runtime,
    spec.role,
    host,
    port,
    heartbeatRequest(sequence, started),
    timeoutMs,
  );
  const where = `${host}:${port}`;
  const response = heartbeat.answer ? safely(() => decodePfcp(heartbeat.answer!)) : undefined;
  if (typeof response !== 'object')
    return {
      passed: false,
      evidence: `heartbeat request to ${where} → ${response ? `not PFCP (${response})` : heartbeat.said}`,
    };
  const recovery = recoveryTime(response);
  if (response.type !== PFCP_TYPE.heartbeatResponse || response.sequence !== sequence || !recovery)
    return {
      passed: false,
      evidence: `heartbeat request (sequence ${sequence}) to ${where} → PFCP type ${response.type}, sequence ${response.sequence}${recovery ? '' : ', no Recovery Time Stamp'} (expected a heartbeat response with the same sequence and a Recovery Time Stamp)`,
    };
  const seen = [`heartbeat → response (peer up since ${recovery.toISOString()})`];
  if (spec.association !== false) {
    const next = (sequence % 0xffffff) + 1;
    const setup = await exchange(
      runtime,
      spec.role,
      host,
      port,
      associationSetupRequest(next, spec.nodeId ?? 'vnfpipe.probe', started),
      timeoutMs,
    );
    const answer = setup.answer ? safely(() => decodePfcp(setup.answer!)) : undefined;
    if (typeof answer !== 'object')
      return {
        passed: false,
        evidence: `${seen[0]}; association setup request → ${answer ? `not PFCP (${answer})` : setup.said}`,
      };
    const cause = causeOf(answer);
    const node = nodeIdOf(answer);
    if (
      answer.type !== PFCP_TYPE.associationSetupResponse ||
      answer.sequence !== next ||
      cause !== 1 ||
      !node
    )
      return {
        passed: false,
        evidence: `${seen[0]}; association setup request → PFCP type ${answer.type}, cause ${cause === undefined ? 'missing' : `${cause} (${PFCP_CAUSE[cause] ?? 'unknown'})`}, node ID ${node ?? 'missing'} (expected a response with cause 1, Request accepted, and a node ID)`,
      };
    seen.push(`association setup → accepted by node ${node}`);
  }
  return { passed: true, evidence: `${where}: ${seen.join('; ')}` };
}

export async function sctpCheck(
  runtime: ProbeRuntime,
  spec: Spec<'sctp'>,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  const host = spec.host ?? (await runtime.address(spec.role));
  const result = await runTool(runtime, spec.role, ['sctp', host, String(spec.port), String(timeoutMs)]);
  const line = firstLine(result);
  return {
    passed: result.exitCode === 0 && line === 'associated',
    evidence: `sctp ${host}:${spec.port} → ${line}`,
  };
}

export async function dnsCheck(
  runtime: ProbeRuntime,
  spec: Spec<'dns'>,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  const server = spec.server ?? (await runtime.address(spec.role));
  const port = spec.port ?? 53;
  const id = randomInt(0, 0xffff);
  const type = spec.type ?? 'A';
  const { answer, said } = await exchange(
    runtime,
    spec.role,
    server,
    port,
    encodeQuery(id, spec.name, type),
    timeoutMs,
  );
  const query = `${spec.name} ${type} @${server}:${port}`;
  if (!answer) return { passed: false, evidence: `${query} → ${said}` };
  const response = safely(() => decodeResponse(answer));
  if (typeof response !== 'object') return { passed: false, evidence: `${query} → not DNS (${response})` };
  const rcode = DNS_RCODE[response.rcode] ?? `RCODE ${response.rcode}`;
  const data = response.answers.map((a) => a.data);
  const rcodeOk = rcode === (spec.rcode ?? 'NOERROR');
  const idOk = response.id === id;
  const answerOk =
    spec.expect === undefined ? rcode !== 'NOERROR' || data.length > 0 : data.includes(spec.expect);
  return {
    passed: rcodeOk && idOk && answerOk,
    evidence: `${query} → ${rcode}${data.length ? ` [${data.join(', ')}]` : ', no answers'}${idOk ? '' : ` (id ${response.id}, asked ${id})`}${answerOk ? '' : ` (expected ${spec.expect ?? 'an answer'})`}`,
  };
}

export async function icmpCheck(
  runtime: ProbeRuntime,
  spec: Spec<'icmp'>,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  const host = spec.host ?? (await runtime.address(spec.role));
  const df = spec.df !== false;
  const result = await runTool(runtime, spec.role, [
    'ping',
    host,
    String(spec.size),
    df ? '1' : '0',
    String(timeoutMs),
  ]);
  const line = firstLine(result);
  const expect = spec.expect ?? 'reply';
  const passed = expect === 'reply' ? line.startsWith('reply ') : line.startsWith('too big');
  return {
    passed,
    evidence: `echo of ${spec.size} bytes${df ? ' with DF' : ''} from ${result.network} to ${host} → ${line}${passed ? '' : ` (expected ${expect})`}`,
  };
}

function safely<T>(decode: () => T): T | string {
  try {
    return decode();
  } catch (error) {
    return (error as Error).message;
  }
}
