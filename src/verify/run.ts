/**
 * Runs probes against a deployment: each probe is tried until it passes `successThreshold` times in a row
 * or runs out of attempts, and reports pass/fail with the evidence it saw.
 */

import { createSocket } from 'node:dgram';
import { createConnection } from 'node:net';
import { inspectContainer, putArchive, removeContainer, stopContainer } from '../deploy/docker/engine-ops.js';
import { parseDuration } from '../pipeline/duration.js';
import type { VerifyResult } from '../pipeline/kinds.js';
import type { DockerProbeRuntime } from './docker-runtime.js';
import { type ProbeSpec, probeName } from './probes.js';

export interface ProbeOutcome {
  passed: boolean;
  evidence: string;
}

export interface RunProbesOptions {
  signal?: AbortSignal;
  onResult?: (result: VerifyResult['probes'][number]) => void;
  onAttempt?: (name: string, attempt: number, outcome: ProbeOutcome) => void;
}

export async function runProbes(
  runtime: DockerProbeRuntime,
  probes: ProbeSpec[],
  options: RunProbesOptions = {},
): Promise<VerifyResult> {
  const results: VerifyResult['probes'] = [];
  for (const spec of probes) {
    const name = probeName(spec);
    const attempts = spec.attempts ?? 10;
    const interval = parseDuration(spec.interval ?? '500ms', `probe ${name}: interval`);
    const timeout = parseDuration(spec.timeout ?? '2s', `probe ${name}: timeout`);
    const needed = spec.successThreshold ?? 1;
    let streak = 0;
    let last: ProbeOutcome = { passed: false, evidence: 'not run' };
    let tries = 0;
    for (; tries < attempts && streak < needed; tries++) {
      options.signal?.throwIfAborted();
      if (tries > 0) await new Promise((r) => setTimeout(r, interval));
      last = await runOne(runtime, spec, timeout).catch((error: Error) => ({
        passed: false,
        evidence: `error: ${error.message}`,
      }));
      options.onAttempt?.(name, tries + 1, last);
      streak = last.passed ? streak + 1 : 0;
    }
    const passed = streak >= needed;
    const result = { name, passed, evidence: `${last.evidence} (${tries} ${tries === 1 ? 'try' : 'tries'})` };
    results.push(result);
    options.onResult?.(result);
  }
  return { passed: results.every((r) => r.passed), probes: results };
}

async function runOne(
  runtime: DockerProbeRuntime,
  spec: ProbeSpec,
  timeoutMs: number,
): Promise<ProbeOutcome> {
  switch (spec.kind) {
    case 'tcp': {
      const host = spec.host ?? (await runtime.address(spec.role));
      if ((spec.from ?? 'host') === 'network')
        return viaProbeContainer(
          runtime,
          spec.role,
          ['tcp', host, String(spec.port), String(timeoutMs)],
          'connected',
        );
      return tcpConnect(host, spec.port, timeoutMs);
    }
    case 'udp': {
      const host = spec.host ?? (await runtime.address(spec.role));
      if ((spec.from ?? 'host') === 'network') {
        return viaProbeContainer(
          runtime,
          spec.role,
          ['udp', host, String(spec.port), String(timeoutMs), spec.send],
          spec.expect,
        );
      }
      const answer = await udpExchange(host, spec.port, spec.send, timeoutMs);
      return {
        passed: answer === spec.expect,
        evidence: `udp ${host}:${spec.port} '${spec.send}' → ${answer === undefined ? 'no answer' : `'${answer}'`}${answer === spec.expect ? '' : ` (expected '${spec.expect}')`}`,
      };
    }
    case 'http': {
      const res = await fetch(spec.url, { signal: AbortSignal.timeout(timeoutMs) });
      const body = await res.text();
      const statusOk = res.status === (spec.status ?? 200);
      const bodyOk = spec.bodyContains === undefined || body.includes(spec.bodyContains);
      return {
        passed: statusOk && bodyOk,
        evidence: `GET ${spec.url} → ${res.status}${bodyOk ? '' : `, body lacks '${spec.bodyContains}'`}`,
      };
    }
    case 'exec': {
      const result = await runtime.exec(spec.command);
      const output = `${result.stdout}${result.stderr}`.trim();
      const exitOk = result.exitCode === (spec.exitCode ?? 0);
      const outputOk = spec.outputContains === undefined || output.includes(spec.outputContains);
      return {
        passed: exitOk && outputOk,
        evidence: `exit ${result.exitCode}${output ? `: ${output.split('\n').slice(-3).join(' | ')}` : ''}`,
      };
    }
    case 'interface':
      return interfaceCheck(runtime, spec);
    case 'traffic':
      return trafficCheck(runtime, spec);
    case 'cnf':
      return cnfCheck(runtime, spec);
  }
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
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

function udpExchange(
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

async function workloadImage(runtime: DockerProbeRuntime): Promise<string> {
  const state = await inspectContainer(runtime.engine, runtime.container);
  return state?.Config.Image ?? runtime.release.image;
}

async function viaProbeContainer(
  runtime: DockerProbeRuntime,
  role: string | undefined,
  args: string[],
  expect: string,
): Promise<ProbeOutcome> {
  const network = runtime.release.networks[role ?? Object.keys(runtime.release.networks)[0] ?? ''];
  const probe = await runtime.probeContainer({
    image: await workloadImage(runtime),
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

async function interfaceCheck(
  runtime: DockerProbeRuntime,
  spec: Extract<ProbeSpec, { kind: 'interface' }>,
): Promise<ProbeOutcome> {
  const probe = await runtime.probeContainer({
    image: await workloadImage(runtime),
    args: ['ifaces'],
    shareWith: runtime.container,
  });
  let listing: string;
  try {
    listing = (await probe.wait(15_000)).stdout;
  } finally {
    await probe.remove();
  }
  const addresses = [...listing.matchAll(/^iface (\S+) (\S+)$/gm)]
    .filter((m) => m[1] === spec.name)
    .map((m) => m[2]!);
  const defaults = [...listing.matchAll(/^default (\S+) (\S+)$/gm)].map((m) => m[1]);
  const expected = spec.address ?? (spec.role ? await roleSubnetPrefix(runtime, spec.role) : undefined);
  const problems: string[] = [];
  if (addresses.length === 0) problems.push('has no IPv4 address');
  if (expected && !addresses.some((a) => a.startsWith(expected)))
    problems.push(`has no address in ${expected}`);
  if (spec.defaultRoute === true && !defaults.includes(spec.name))
    problems.push(`does not carry the default route (${defaults.join(', ') || 'none'})`);
  if (spec.defaultRoute === false && defaults.includes(spec.name)) problems.push('carries the default route');
  return {
    passed: problems.length === 0,
    evidence: `${spec.name} ${addresses.join(', ') || 'no address'}${defaults.includes(spec.name) ? ', default route' : ''}${problems.length ? `: ${problems.join('; ')}` : ''}`,
  };
}

/** The workload's address on a role's network, as a prefix test for an interface check. */
async function roleSubnetPrefix(runtime: DockerProbeRuntime, role: string): Promise<string> {
  return `${await runtime.address(role)}/`;
}

async function trafficCheck(
  runtime: DockerProbeRuntime,
  spec: Extract<ProbeSpec, { kind: 'traffic' }>,
): Promise<ProbeOutcome> {
  const image = spec.image ?? (await workloadImage(runtime));
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
  // Expecting delivery, the sink stops as soon as every packet arrived; expecting drops, it listens 2s.
  const sinkArgs =
    expect === 'delivered'
      ? ['sink', String(spec.sink.port), '4', String(packets)]
      : ['sink', String(spec.sink.port), '2'];
  const sink = await runtime.probeContainer({ image, args: sinkArgs, network: toNet, ip: spec.sink.ip });
  try {
    const sender = await runtime.probeContainer({
      image,
      args: ['send', target, String(spec.port), String(packets), payload],
      network: fromNet,
    });
    try {
      await sender.wait(15_000);
    } finally {
      await sender.remove();
    }
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

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function cnfCheck(
  runtime: DockerProbeRuntime,
  spec: Extract<ProbeSpec, { kind: 'cnf' }>,
): Promise<ProbeOutcome> {
  switch (spec.check) {
    case 'no-zombies': {
      const zombies = (await runtime.processes()).filter((p) => p.stat.startsWith('Z'));
      return {
        passed: zombies.length === 0,
        evidence: zombies.length
          ? `zombies: ${zombies.map((z) => `${z.pid} ${z.comm}`).join(', ')}`
          : 'no zombie processes',
      };
    }
    case 'single-process-type': {
      const kinds = [...new Set((await runtime.processes()).map((p) => p.comm))];
      return { passed: kinds.length === 1, evidence: `process types: ${kinds.join(', ')}` };
    }
    case 'logs-to-stdout': {
      const logs = await runtime.logs(20);
      return {
        passed: logs.length > 0,
        evidence: logs ? `last line: ${logs.split('\n').at(-1)}` : 'nothing on stdout/stderr',
      };
    }
    case 'sigterm':
    case 'startup-time':
      return canaryCheck(runtime, spec);
  }
}

/** Starts an isolated copy of the workload (no networks) to watch its start and its stop on SIGTERM. */
async function canaryCheck(
  runtime: DockerProbeRuntime,
  spec: Extract<ProbeSpec, { kind: 'cnf' }>,
): Promise<ProbeOutcome> {
  const original = await runtime.engine.json<{
    Config: Record<string, unknown>;
    HostConfig: Record<string, unknown>;
  }>({
    path: `/containers/${encodeURIComponent(runtime.container)}/json`,
  });
  const name = `vnfcanary-${runtime.release.name}-${Date.now().toString(36)}`;
  const grace = 10;
  const config = original.Config as {
    Image: string;
    Entrypoint?: string[];
    Cmd?: string[];
    Env?: string[];
    User?: string;
    WorkingDir?: string;
  };
  await runtime.engine.call({
    method: 'POST',
    path: '/containers/create',
    query: { name },
    body: {
      Image: config.Image,
      Entrypoint: config.Entrypoint,
      Cmd: config.Cmd,
      Env: config.Env,
      User: config.User,
      WorkingDir: config.WorkingDir,
      Labels: { 'io.vnfpipe.managed': 'true', 'io.vnfpipe.canary-for': runtime.release.name },
      StopTimeout: grace,
      HostConfig: {
        NetworkMode: 'none',
        CapAdd: (original.HostConfig as { CapAdd?: string[] }).CapAdd ?? [],
      },
    },
  });
  try {
    // Files the deploy copied in (rule files) are part of what lets the workload start.
    const archive = await runtime.engine
      .raw({ path: `/containers/${encodeURIComponent(runtime.container)}/archive`, query: { path: '/etc' } })
      .catch(() => undefined);
    if (archive) {
      const chunks: Buffer[] = [];
      for await (const chunk of archive) chunks.push(chunk as Buffer);
      await putArchive(runtime.engine, name, Buffer.concat(chunks));
    }
    const started = Date.now();
    await runtime.engine.call({ method: 'POST', path: `/containers/${name}/start` });
    let firstLogMs: number | undefined;
    for (let waited = 0; waited < 10_000; waited += 50) {
      if ((await runtime.logs(1, name).catch(() => '')) !== '') {
        firstLogMs = Date.now() - started;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (spec.check === 'startup-time') {
      const max = spec.maxStartupMs ?? 5000;
      return {
        passed: firstLogMs !== undefined && firstLogMs <= max,
        evidence:
          firstLogMs === undefined
            ? 'no log line within 10s of start'
            : `first log line ${firstLogMs}ms after start (limit ${max}ms)`,
      };
    }
    const stopAt = Date.now();
    await stopContainer(runtime.engine, name, grace);
    const stoppedMs = Date.now() - stopAt;
    const state = await inspectContainer(runtime.engine, name);
    const code = state?.State.ExitCode ?? -1;
    const killed = code === 137;
    return {
      passed: !killed,
      evidence: killed
        ? `ignored SIGTERM: killed after the ${grace}s grace period`
        : `stopped ${stoppedMs}ms after SIGTERM with exit code ${code}`,
    };
  } finally {
    await removeContainer(runtime.engine, name);
  }
}
