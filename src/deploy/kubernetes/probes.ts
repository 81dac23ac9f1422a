/**
 * The workload's health command as exec probes: readiness gates traffic and rollouts, liveness restarts
 * a hung VNF (as Swarm does with an unhealthy task), and a startup probe covers the start period.
 */
import type { HealthSpec } from '../model.js';
import type { Problems } from './problems.js';
import type { Probe } from './types.js';

export interface ProbePlan {
  readinessProbe: Probe;
  livenessProbe: Probe;
  startupProbe?: Probe;
}

/** Whole seconds (probes count in seconds, at least 1): `500ms` → 1, `2s` → 2, `1m` → 60. */
export function durationSeconds(
  value: string | undefined,
  fallback: number,
  what: string,
  problems: Problems,
) {
  if (value === undefined) return fallback;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (!match) {
    problems.add(`${what} '${value}' is not a duration (500ms, 2s, 1m)`);
    return fallback;
  }
  const seconds = Number(match[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.max(1, Math.ceil(seconds));
}

export function planProbes(health: HealthSpec, problems: Problems): ProbePlan {
  if (!Array.isArray(health.command) || health.command.length === 0) {
    problems.add('health.command must name a command to run');
  }
  const probe: Probe = {
    exec: { command: health.command ?? [] },
    periodSeconds: durationSeconds(health.interval, 2, 'health.interval', problems),
    timeoutSeconds: durationSeconds(health.timeout, 2, 'health.timeout', problems),
    failureThreshold: health.retries ?? 3,
  };
  const plan: ProbePlan = {
    readinessProbe: probe,
    livenessProbe: { ...probe, exec: { command: [...probe.exec.command] } },
  };
  if (health.startPeriod !== undefined) {
    const start = durationSeconds(health.startPeriod, 0, 'health.startPeriod', problems);
    plan.startupProbe = {
      ...probe,
      exec: { command: [...probe.exec.command] },
      failureThreshold: Math.max(probe.failureThreshold, Math.ceil(start / probe.periodSeconds)),
    };
  }
  return plan;
}
