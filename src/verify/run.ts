/**
 * Runs probes against a deployment: each probe is tried until it passes `successThreshold` times in a row
 * or runs out of attempts, and reports pass/fail with the evidence it saw.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isInfrastructureFailure } from '../errors.js';
import { parseDuration } from '../pipeline/duration.js';
import type { VerifyResult } from '../pipeline/kinds.js';
import { cnfCheck } from './probes/cnf.js';
import { interfaceCheck } from './probes/interface.js';
import { isolationCheck } from './probes/isolation.js';
import { tcpConnect, trafficCheck, udpExchange, viaProbeContainer } from './probes/network.js';
import { dnsCheck, gtpuCheck, icmpCheck, pfcpCheck, sctpCheck } from './probes/telco.js';
import { type ThroughputReport, throughputCheck, throughputCsv } from './probes/throughput.js';
import { type ProbeSpec, probeName } from './probes.js';
import type { ProbeRuntime } from './runtime.js';

export interface ProbeOutcome {
  passed: boolean;
  evidence: string;
}

export interface RunProbesOptions {
  signal?: AbortSignal;
  onResult?: (result: VerifyResult['probes'][number]) => void;
  onAttempt?: (name: string, attempt: number, outcome: ProbeOutcome) => void;
  /** Progress lines of long probes (each throughput trial). */
  log?: (line: string) => void;
  /** Where throughput probes write their JSON and CSV reports (none when unset). */
  reportDir?: string;
}

export async function runProbes(
  runtime: ProbeRuntime,
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
      last = await runOne(runtime, spec, timeout, options).catch((error: Error) => {
        // Our own tooling failing says nothing about the workload: no verdict, the verify fails as such.
        if (isInfrastructureFailure(error)) throw error;
        return { passed: false, evidence: `error: ${error.message}` };
      });
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
  runtime: ProbeRuntime,
  spec: ProbeSpec,
  timeoutMs: number,
  options: RunProbesOptions,
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
    case 'gtpu':
      return gtpuCheck(runtime, spec, timeoutMs);
    case 'pfcp':
      return pfcpCheck(runtime, spec, timeoutMs);
    case 'sctp':
      return sctpCheck(runtime, spec, timeoutMs);
    case 'dns':
      return dnsCheck(runtime, spec, timeoutMs);
    case 'icmp':
      return icmpCheck(runtime, spec, timeoutMs);
    case 'isolation':
      return isolationCheck(runtime, spec);
    case 'throughput': {
      const { outcome, report } = await throughputCheck(runtime, spec, options.log ?? (() => {}));
      if (options.reportDir) {
        const files = await writeThroughputReport(options.reportDir, spec.label, report);
        return {
          ...outcome,
          evidence: `${outcome.evidence}; report ${files.map((f) => basename(f)).join(', ')}`,
        };
      }
      return outcome;
    }
  }
}

/** `throughput-<workload>-r<revision>[-<label>].json` and `.csv` in `dir`; returns their paths. */
async function writeThroughputReport(
  dir: string,
  label: string | undefined,
  report: ThroughputReport,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const suffix = label ? `-${label.replace(/[^\w.-]+/g, '-')}` : '';
  const base = join(dir, `throughput-${report.workload}-r${report.revision}${suffix}`);
  await writeFile(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(`${base}.csv`, throughputCsv(report));
  return [`${base}.json`, `${base}.csv`];
}
