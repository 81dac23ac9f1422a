/**
 * The isolation matrix: marked datagrams from a probe container on each `from` network to the workload,
 * sinks on each `to` network, all at once. An allowed pair fails when its packets do not all arrive; a
 * denied pair fails when any of them does.
 */
import { randomBytes } from 'node:crypto';
import { VnfpipeError } from '../../errors.js';
import type { ProbeSpec } from '../probes.js';
import type { ProbeOutcome } from '../run.js';
import type { ProbeHandle, ProbeRuntime } from '../runtime.js';
import { finish, firstLine, networkOf, runTool, startListener } from './tool-runs.js';

type Pair = { from: string; to: string; allowed: boolean };

export async function isolationCheck(
  runtime: ProbeRuntime,
  spec: Extract<ProbeSpec, { kind: 'isolation' }>,
): Promise<ProbeOutcome> {
  const malformed = [...(spec.allow ?? []), ...(spec.deny ?? [])].find((p) => p.length !== 2);
  if (malformed)
    throw new VnfpipeError(
      'PIPELINE_INVALID',
      `isolation: ${JSON.stringify(malformed)} is not a [from, to] pair`,
      {
        hint: "write pairs of network roles, e.g. allow: [['in', 'out']], deny: [['mgmt', 'out']]",
      },
    );
  const pairs: Pair[] = [
    ...(spec.allow ?? []).map(([from, to]) => ({ from: from!, to: to!, allowed: true })),
    ...(spec.deny ?? []).map(([from, to]) => ({ from: from!, to: to!, allowed: false })),
  ];
  if (pairs.length === 0) return { passed: false, evidence: 'no allow or deny pairs to check' };
  const unknown = pairs.flatMap((p) => [p.from, p.to]).find((role) => !runtime.release.networks[role]);
  if (unknown) return { passed: false, evidence: `the workload has no network with role '${unknown}'` };
  const packets = spec.packets ?? 5;
  const image = spec.image ?? (await runtime.image());
  // Markers carry the run and the source role, so a sink tells apart who sent what it heard.
  const run = randomBytes(3).toString('hex');
  const marker = (from: string) => `vnfpipe-iso-${run}-${from}`;
  const sinkOf = (role: string) => spec.sinks?.[role] ?? { port: spec.port };
  const sinks = new Map<string, ProbeHandle>();
  const heard = new Map<string, string>();
  try {
    for (const to of new Set(pairs.map((p) => p.to))) {
      const at = sinkOf(to);
      sinks.set(
        to,
        await startListener(runtime, {
          image,
          args: ['sink', String(at.port), '60'],
          network: networkOf(runtime, to)!,
          ...(at.ip ? { ip: at.ip } : {}),
        }),
      );
    }
    const senders = await Promise.all(
      [...new Set(pairs.map((p) => p.from))].map(async (from) => {
        const target = await runtime.address(from);
        const result = await runTool(
          runtime,
          from,
          ['send', target, String(spec.port), String(packets), marker(from)],
          image,
        );
        return { from, target, result };
      }),
    );
    const failed = senders.find((s) => s.result.exitCode !== 0);
    if (failed)
      return { passed: false, evidence: `the sender on ${failed.from} failed: ${firstLine(failed.result)}` };
    for (const [to, sink] of sinks) heard.set(to, (await finish(runtime, sink, 1500)).stdout);
  } finally {
    for (const sink of sinks.values()) await sink.remove();
  }
  const lines = pairs.map((pair) => {
    const text = heard.get(pair.to) ?? '';
    const arrived = text
      .split('\n')
      .filter((l) => new RegExp(`^from \\S+ ${marker(pair.from)}-\\d+$`).test(l)).length;
    const ok = pair.allowed ? arrived === packets : arrived === 0;
    const at = sinkOf(pair.to);
    const verdict = pair.allowed ? (ok ? 'passes' : 'BLOCKED') : ok ? 'kept closed' : 'LEAKS';
    return {
      ok,
      text: `${pair.from}→${pair.to} ${pair.allowed ? 'allowed' : 'denied'}: ${arrived} of ${packets} arrived at ${at.ip ?? 'a sink'}:${at.port} (${verdict})`,
    };
  });
  return { passed: lines.every((l) => l.ok), evidence: lines.map((l) => l.text).join('; ') };
}
