/** Network probes: TCP connect, UDP request/response, and traffic through the workload's data plane. */
import { createSocket } from 'node:dgram';
import { createConnection } from 'node:net';
import type { ProbeSpec } from '../probes.js';
import type { ProbeOutcome } from '../run.js';
import type { ProbeRuntime } from '../runtime.js';

export function tcpConnect(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ passed: true, evidence: `tcp ${host}:${port} connected` });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ passed: false, evidence: `tcp ${host}:${port} timed out` });
    });
    socket.once('error', (error) =>
      resolve({ passed: false, evidence: `tcp ${host}:${port} ${error.message}` }),
    );
  });
}

export function udpExchange(
  host: string,
  port: number,
  payload: string,
  timeoutMs: number,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const done = (value: string | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('message', (message) => done(message.toString()));
    socket.once('error', () => done(undefined));
    socket.send(payload, port, host);
  });
}

export async function viaProbeContainer(
  runtime: ProbeRuntime,
  role: string | undefined,
  args: string[],
  expect: string,
): Promise<ProbeOutcome> {
  const network = runtime.release.networks[role ?? Object.keys(runtime.release.networks)[0] ?? ''];
  const probe = await runtime.probeContainer({
    image: await runtime.image(),
    args,
    ...(network ? { network } : {}),
  });
  try {
    const result = await probe.wait(15_000);
    const out = result.stdout.trim();
    return {
      passed: result.exitCode === 0 && out === expect,
      evidence: `from ${network ?? 'none'}: vnfprobe ${args.join(' ')} → ${out || result.stderr.trim()}`,
    };
  } finally {
    await probe.remove();
  }
}

export async function trafficCheck(
  runtime: ProbeRuntime,
  spec: Extract<ProbeSpec, { kind: 'traffic' }>,
): Promise<ProbeOutcome> {
  const image = spec.image ?? (await runtime.image());
  const packets = spec.packets ?? 5;
  const payload = spec.payload ?? 'vnfpipe-probe';
  const expect = spec.expect ?? 'delivered';
  const fromNet = runtime.release.networks[spec.from];
  const toNet = runtime.release.networks[spec.to ?? spec.from];
  if (!fromNet || !toNet)
    return {
      passed: false,
      evidence: `the workload has no network with role '${!fromNet ? spec.from : spec.to}'`,
    };
  const target = await runtime.address(spec.from);
  // The sink listens until the sender is done plus a margin (or, expecting delivery, until every packet
  // arrived), so a slow sender start cannot make "nothing arrived" look like a drop.
  const sinkArgs = [
    'sink',
    String(spec.sink.port),
    '30',
    ...(expect === 'delivered' ? [String(packets)] : []),
  ];
  const sink = await runtime.probeContainer({ image, args: sinkArgs, network: toNet, ip: spec.sink.ip });
  try {
    const sender = await runtime.probeContainer({
      image,
      args: ['send', target, String(spec.port), String(packets), payload],
      network: fromNet,
    });
    let sent: { exitCode: number; stdout: string; stderr: string };
    try {
      sent = await sender.wait(15_000);
    } finally {
      await sender.remove();
    }
    if (sent.exitCode !== 0 || !sent.stdout.includes(`sent ${packets}`)) {
      return {
        passed: false,
        evidence: `the sender on ${fromNet} failed (exit ${sent.exitCode}): ${(sent.stderr || sent.stdout).trim() || 'no output'}`,
      };
    }
    // Expecting delivery the sink ends by itself once every packet arrived; otherwise it is stopped after
    // the margin, its output kept.
    const margin = expect === 'delivered' ? 2000 : 1000;
    const deadline = Date.now() + margin;
    while (Date.now() < deadline && (await runtime.isRunning(sink.name)))
      await new Promise((r) => setTimeout(r, 100));
    await sink.stop();
    const received = (await sink.wait(15_000)).stdout;
    const arrived = [...received.matchAll(new RegExp(`^from \\S+ ${escapeRegExp(payload)}-\\d+$`, 'gm'))]
      .length;
    const min = spec.minDelivered ?? packets;
    const passed = expect === 'delivered' ? arrived >= min : arrived === 0;
    return {
      passed,
      evidence: `${packets} sent from ${fromNet} to ${target}:${spec.port}, ${arrived} arrived at ${spec.sink.ip}:${spec.sink.port} on ${toNet} (expected ${expect === 'delivered' ? `≥ ${min}` : 'none'})`,
    };
  } finally {
    await sink.remove();
  }
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
