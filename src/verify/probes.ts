/**
 * Probe declarations for the verify step. Plain data (they travel through the journal and the cache
 * fingerprint); `run.ts` gives them life.
 */
import type { Duration } from '../pipeline/model.js';

export interface ProbeTiming {
  /** A name for reports. */
  label?: string;
  /** Tries before the probe fails (default 10). */
  attempts?: number;
  /** Pause between tries (default 500ms). */
  interval?: Duration;
  /** Limit of one try (default 2s). */
  timeout?: Duration;
  /** Consecutive successes needed (default 1). */
  successThreshold?: number;
}

/** Where a network probe is sent from: the host, or a probe container on the workload's network. */
export type ProbeOrigin = 'host' | 'network';

export type ProbeSpec =
  | ({ kind: 'tcp'; port: number; host?: string; role?: string; from?: ProbeOrigin } & ProbeTiming)
  | ({
      kind: 'udp';
      port: number;
      send: string;
      expect: string;
      host?: string;
      role?: string;
      from?: ProbeOrigin;
    } & ProbeTiming)
  | ({ kind: 'http'; url: string; status?: number; bodyContains?: string; insecure?: boolean } & ProbeTiming)
  | ({ kind: 'exec'; command: string[]; exitCode?: number; outputContains?: string } & ProbeTiming)
  | ({
      kind: 'interface';
      name: string;
      role?: string;
      address?: string;
      defaultRoute?: boolean;
    } & ProbeTiming)
  | ({
      kind: 'traffic';
      /** Role of the network the packets enter the workload on. */
      from: string;
      /** Role of the network they leave on (default: the same). */
      to?: string;
      /** Workload port the packets are sent to. */
      port: number;
      /** Where the workload sends them on: a sink at this address and port on the `to` network. */
      sink: { ip: string; port: number };
      payload?: string;
      packets?: number;
      /** `delivered`: at least `minDelivered` arrive (default all); `dropped`: none arrive. */
      expect?: 'delivered' | 'dropped';
      minDelivered?: number;
      /** Image for the probe containers (default: the workload's image; vnfprobe is copied in). */
      image?: string;
    } & ProbeTiming)
  | ({ kind: 'cnf'; check: CnfCheck; maxStartupMs?: number } & ProbeTiming);

export type CnfCheck = 'sigterm' | 'no-zombies' | 'single-process-type' | 'logs-to-stdout' | 'startup-time';

type Without<T, K extends keyof T> = Omit<T, K>;
type Of<K extends ProbeSpec['kind']> = Without<Extract<ProbeSpec, { kind: K }>, 'kind'>;

/** Probes of the running workload. */
export const probe = {
  tcp: (options: Of<'tcp'>): ProbeSpec => ({ kind: 'tcp', ...options }),
  udp: (options: Of<'udp'>): ProbeSpec => ({ kind: 'udp', ...options }),
  http: (options: Of<'http'>): ProbeSpec => ({ kind: 'http', ...options }),
  exec: (options: Of<'exec'>): ProbeSpec => ({ kind: 'exec', ...options }),
  interface: (options: Of<'interface'>): ProbeSpec => ({ kind: 'interface', ...options }),
  /** Packets from a probe container on one data network, through the workload, to a sink on another. */
  traffic: (options: Of<'traffic'>): ProbeSpec => ({ kind: 'traffic', ...options }),
};

/** CNF-style runtime checks (after the CNCF CNF test suite's ideas). */
export const cnf = {
  /** A copy of the workload stops on SIGTERM before the grace period ends (is not killed). */
  sigterm: (options: ProbeTiming = {}): ProbeSpec => ({
    kind: 'cnf',
    check: 'sigterm',
    attempts: 1,
    ...options,
  }),
  noZombies: (options: ProbeTiming = {}): ProbeSpec => ({ kind: 'cnf', check: 'no-zombies', ...options }),
  singleProcessType: (options: ProbeTiming = {}): ProbeSpec => ({
    kind: 'cnf',
    check: 'single-process-type',
    ...options,
  }),
  logsToStdout: (options: ProbeTiming = {}): ProbeSpec => ({
    kind: 'cnf',
    check: 'logs-to-stdout',
    ...options,
  }),
  /** A copy of the workload writes its first log line within `maxStartupMs` (default 5000). */
  startupTime: (options: ProbeTiming & { maxStartupMs?: number } = {}): ProbeSpec => ({
    kind: 'cnf',
    check: 'startup-time',
    attempts: 1,
    ...options,
  }),
};

export function probeName(spec: ProbeSpec): string {
  if (spec.label) return spec.label;
  switch (spec.kind) {
    case 'tcp':
      return `tcp:${spec.port}`;
    case 'udp':
      return `udp:${spec.port}`;
    case 'http':
      return `http ${spec.url}`;
    case 'exec':
      return `exec ${spec.command.join(' ')}`;
    case 'interface':
      return `interface ${spec.name}`;
    case 'traffic':
      return `traffic ${spec.from}→${spec.to ?? spec.from} ${spec.expect ?? 'delivered'}`;
    case 'cnf':
      return `cnf ${spec.check}`;
  }
}
