/**
 * The data-plane performance gate: vnfprobe paces datagrams with sequence numbers and send times through the
 * workload (sendmmsg), a sink counts what arrives (recvmmsg): loss, reordering, latency percentiles. A fixed
 * rate passes when every size meets the thresholds; `rate: 'max'` searches, as RFC 2544's throughput test
 * does, for the highest rate whose loss stays within `maxLoss`, and reports it.
 */
import { randomInt } from 'node:crypto';
import { VnfpipeError } from '../../errors.js';
import { parseDuration } from '../../pipeline/duration.js';
import type { ProbeSpec } from '../probes.js';
import type { ProbeOutcome } from '../run.js';
import type { ProbeRuntime } from '../runtime.js';
import { formatRate, parseLoss, parseRate } from './rates.js';
import { finish, firstLine, networkOf, runTool, startListener } from './tool-runs.js';

type Spec = Extract<ProbeSpec, { kind: 'throughput' }>;

export interface Trial {
  size: number;
  /** Offered rate, packets per second. */
  pps: number;
  sent: number;
  /** Datagrams the sender's kernel refused (counted as lost). */
  failedToSend: number;
  /** Datagrams the sender could not send in time (the rate was not offered: the trial fails). */
  unsent: number;
  received: number;
  lossRatio: number;
  reordered: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /** Seconds the sender took for what was meant to take `duration`. */
  sendSeconds: number;
}

export interface ThroughputReport {
  workload: string;
  revision: number;
  from: string;
  to: string;
  mode: 'fixed' | 'search';
  maxLoss: number;
  p99LatencyMs?: number;
  durationMs: number;
  trials: Trial[];
  /** Search mode: the highest rate per size that met `maxLoss` (0 when none did). */
  found?: Array<{ size: number; pps: number }>;
  passed: boolean;
}

/** The search over offered rates (RFC 2544 §26.1): the highest that `passes`, within 5% or `trials`. */
export async function searchRate(
  ceiling: number,
  trials: number,
  passes: (pps: number) => Promise<boolean>,
): Promise<number> {
  if (await passes(ceiling)) return ceiling;
  let low = 0;
  let high = ceiling;
  for (let i = 1; i < trials && high - low > high * 0.05; i++) {
    const rate = Math.round((low + high) / 2);
    if (rate <= 0) break;
    if (await passes(rate)) low = rate;
    else high = rate;
  }
  return low;
}

export async function throughputCheck(
  runtime: ProbeRuntime,
  spec: Spec,
  log: (line: string) => void,
): Promise<{ outcome: ProbeOutcome; report: ThroughputReport }> {
  const name = `throughput ${spec.from}→${spec.to}`;
  const durationMs = parseDuration(spec.duration ?? '3s', `probe ${name}: duration`);
  const maxLoss = parseLoss(spec.maxLoss, `probe ${name}: maxLoss`);
  const p99Ms =
    spec.p99Latency === undefined ? undefined : parseDuration(spec.p99Latency, `probe ${name}: p99Latency`);
  const sizes = spec.sizes ?? [64];
  const bad = sizes.find((s) => !Number.isInteger(s) || s < 24 || s > 8972);
  if (bad !== undefined)
    throw new VnfpipeError('PIPELINE_INVALID', `probe ${name}: size ${bad} is out of range`, {
      hint: 'UDP payload sizes from 24 (sequence number and time stamp) to 8972 bytes',
    });
  const search = spec.rate === 'max';
  const report: ThroughputReport = {
    workload: runtime.release.name,
    revision: runtime.release.revision,
    from: spec.from,
    to: spec.to,
    mode: search ? 'search' : 'fixed',
    maxLoss,
    ...(p99Ms !== undefined ? { p99LatencyMs: p99Ms } : {}),
    durationMs,
    trials: [],
    passed: false,
  };
  const meets = (t: Trial) =>
    t.unsent === 0 && t.lossRatio <= maxLoss && (p99Ms === undefined || t.p99Us <= p99Ms * 1000);
  const trial = async (size: number, pps: number): Promise<Trial> => {
    const result = await runTrial(runtime, spec, size, pps, durationMs);
    report.trials.push(result);
    log(
      `${name} ${size}B at ${formatRate(pps)}: ${result.received}/${result.sent + result.failedToSend} received, loss ${percent(result.lossRatio)}, ${result.reordered} reordered, p50 ${ms(result.p50Us)} p99 ${ms(result.p99Us)} max ${ms(result.maxUs)}${result.unsent ? ` (the sender fell behind: ${result.unsent} not sent in time)` : ''}`,
    );
    return result;
  };
  if (search) {
    const ceiling = parseRate(spec.maxRate ?? '200kpps', `probe ${name}: maxRate`);
    const floor = spec.minRate === undefined ? 0 : parseRate(spec.minRate, `probe ${name}: minRate`);
    report.found = [];
    for (const size of sizes) {
      const pps = await searchRate(ceiling, spec.searchTrials ?? 8, async (rate) =>
        meets(await trial(size, rate)),
      );
      report.found.push({ size, pps });
    }
    report.passed = report.found.every((f) => f.pps > floor);
    return {
      report,
      outcome: {
        passed: report.passed,
        evidence: `highest rate within ${percent(maxLoss)} loss${p99Ms !== undefined ? ` and p99 ≤ ${p99Ms}ms` : ''}: ${report.found.map((f) => `${f.size}B ${f.pps ? formatRate(f.pps) : 'none'}`).join(', ')}${floor ? ` (at least ${formatRate(floor)} needed)` : ''}`,
      },
    };
  }
  const pps = parseRate(spec.rate, `probe ${name}: rate`);
  const results: Trial[] = [];
  for (const size of sizes) results.push(await trial(size, pps));
  report.passed = results.every(meets);
  const lines = results.map(
    (t) =>
      `${t.size}B: ${t.unsent ? `the sender fell behind (${t.unsent} not sent in time), ` : ''}loss ${percent(t.lossRatio)}${t.lossRatio > maxLoss ? ` > ${percent(maxLoss)}` : ''}, p99 ${ms(t.p99Us)}${p99Ms !== undefined && t.p99Us > p99Ms * 1000 ? ` > ${p99Ms}ms` : ''}, ${t.reordered} reordered`,
  );
  return {
    report,
    outcome: {
      passed: report.passed,
      evidence: `${formatRate(pps)} for ${durationMs}ms: ${lines.join('; ')}`,
    },
  };
}

async function runTrial(
  runtime: ProbeRuntime,
  spec: Spec,
  size: number,
  pps: number,
  durationMs: number,
): Promise<Trial> {
  const toNet = networkOf(runtime, spec.to);
  if (!toNet || !runtime.release.networks[spec.from])
    throw new Error(`the workload has no network with role '${toNet ? spec.from : spec.to}'`);
  const image = spec.image ?? (await runtime.image());
  const run = String(randomInt(1, 2 ** 31));
  const target = await runtime.address(spec.from);
  // The sink ends 1s after the last datagram; the bound only stops one that never heard anything.
  const sink = await startListener(runtime, {
    image,
    args: ['count', String(spec.sink.port), String(Math.ceil(durationMs / 1000) + 60), '1000', run],
    network: toNet,
    ip: spec.sink.ip,
  });
  let counted: string;
  let sender: { exitCode: number; stdout: string; stderr: string };
  try {
    sender = await runTool(
      runtime,
      spec.from,
      ['blast', target, String(spec.port), String(Math.round(pps)), String(durationMs), String(size), run],
      image,
      30_000 + durationMs * 2,
    );
    counted = (await finish(runtime, sink, 3000)).stdout;
  } finally {
    await sink.remove();
  }
  const sent = /^sent (\d+) failed (\d+) unsent (\d+) seconds ([\d.]+)$/m.exec(sender.stdout);
  if (sender.exitCode !== 0 || !sent)
    throw new Error(`the sender on ${spec.from} failed: ${firstLine(sender)}`);
  const summary = counted.split('\n').find((l) => l.startsWith('{'));
  // A sink stopped before it summed up heard nothing worth counting (it ends by itself after traffic).
  const stats = summary
    ? (JSON.parse(summary) as {
        received: number;
        reordered: number;
        p50Us: number;
        p99Us: number;
        maxUs: number;
      })
    : { received: 0, reordered: 0, p50Us: 0, p99Us: 0, maxUs: 0 };
  const offered = Number(sent[1]) + Number(sent[2]);
  return {
    size,
    pps,
    sent: Number(sent[1]),
    failedToSend: Number(sent[2]),
    unsent: Number(sent[3]),
    received: stats.received,
    lossRatio: offered ? Math.max(0, offered - stats.received) / offered : 1,
    reordered: stats.reordered,
    p50Us: stats.p50Us,
    p99Us: stats.p99Us,
    maxUs: stats.maxUs,
    sendSeconds: Number(sent[4]),
  };
}

function percent(ratio: number): string {
  return `${+(ratio * 100).toFixed(3)}%`;
}

function ms(us: number): string {
  return `${+(us / 1000).toFixed(2)}ms`;
}

/** The report as CSV: one row per trial. */
export function throughputCsv(report: ThroughputReport): string {
  const head =
    'size,pps,sent,failed_to_send,unsent,received,loss_ratio,reordered,p50_us,p99_us,max_us,send_seconds';
  const rows = report.trials.map((t) =>
    [
      t.size,
      t.pps,
      t.sent,
      t.failedToSend,
      t.unsent,
      t.received,
      t.lossRatio,
      t.reordered,
      t.p50Us,
      t.p99Us,
      t.maxUs,
      t.sendSeconds,
    ].join(','),
  );
  return `${[head, ...rows].join('\n')}\n`;
}
