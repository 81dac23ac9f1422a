/** CNF-style runtime checks: zombies, process types, logs, and a canary copy for SIGTERM and start-up time. */

import type { ProbeSpec } from '../probes.js';
import type { ProbeOutcome } from '../run.js';
import type { ProbeRuntime } from '../runtime.js';

export async function cnfCheck(
  runtime: ProbeRuntime,
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

/** Starts an isolated copy of the workload (through its target's runtime) to watch its start and stop. */
export async function canaryCheck(
  runtime: ProbeRuntime,
  spec: Extract<ProbeSpec, { kind: 'cnf' }>,
): Promise<ProbeOutcome> {
  const result = await runtime.canary(spec.check as 'sigterm' | 'startup-time');
  if (result.check === 'startup-time') {
    const max = spec.maxStartupMs ?? 5000;
    const { firstLogMs } = result;
    return {
      passed: firstLogMs !== undefined && firstLogMs <= max,
      evidence:
        firstLogMs === undefined
          ? 'no log line within 10s of start'
          : `first log line ${firstLogMs}ms after start (limit ${max}ms)`,
    };
  }
  return {
    passed: !result.killed,
    evidence: result.killed
      ? `ignored SIGTERM: killed after the ${result.graceSeconds}s grace period`
      : `stopped ${result.stoppedMs}ms after SIGTERM with exit code ${result.exitCode}`,
  };
}
