/**
 * Probe declarations for the verify step. Plain data (they travel through the journal and the cache
 * fingerprint); `run.ts` gives them life.
 */
import type { Duration } from '../pipeline/model.js';
import type { DnsType } from './protocols/dns.js';

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
  | ({ kind: 'cnf'; check: CnfCheck; maxStartupMs?: number } & ProbeTiming)
  | ({
      kind: 'gtpu';
      /** Role of the network the G-PDUs enter the workload on (sent to its address there, UDP 2152). */
      from: string;
      /** Role of the network they leave on (default: the same). */
      to?: string;
      /** Tunnel endpoint identifier of the G-PDUs. */
      teid: number;
      packets?: number;
      /** Where the workload sends them: a sink on the `to` network (port default 2152). */
      sink: { ip: string; port?: number };
      /**
       * `forwarded`: G-PDUs with this TEID and the inner packet arrive; `decapsulated`: the inner packet's
       * UDP payload arrives (the inner packet is addressed to the sink); `dropped`: nothing arrives.
       */
      expect?: 'forwarded' | 'decapsulated' | 'dropped';
      /** Also send a GTP-U echo request and require the echo response (default true). */
      echo?: boolean;
      image?: string;
    } & ProbeTiming)
  | ({
      kind: 'pfcp';
      /** Role of the network the PFCP peer is reached on (default: the first). */
      role?: string;
      host?: string;
      port?: number;
      /** Node ID the probe announces in its association setup request (default: vnfpipe.probe). */
      nodeId?: string;
      /** Also require a successful association setup (default true). */
      association?: boolean;
    } & ProbeTiming)
  | ({ kind: 'sctp'; role?: string; host?: string; port: number } & ProbeTiming)
  | ({
      kind: 'dns';
      role?: string;
      /** DNS server (default: the workload's address on the role's network). */
      server?: string;
      port?: number;
      name: string;
      type?: DnsType;
      /** An answer's data that must be present (an address for A); without it, any answer passes. */
      expect?: string;
      /** The response code expected (default NOERROR). */
      rcode?: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED';
    } & ProbeTiming)
  | ({
      kind: 'icmp';
      role?: string;
      host?: string;
      /** ICMP payload bytes (the IP packet is 28 bytes more). */
      size: number;
      /** Set the don't-fragment bit (default true): the packet must fit the path MTU as it is. */
      df?: boolean;
      /** `reply` (default), or `too-big` to check that the path refuses this size (an MTU ceiling). */
      expect?: 'reply' | 'too-big';
    } & ProbeTiming)
  | ({
      kind: 'isolation';
      /** [from, to] role pairs whose traffic the workload must pass. */
      allow?: string[][];
      /** [from, to] role pairs whose traffic must never cross. */
      deny?: string[][];
      /** Workload port the packets are sent to, on its address of the `from` network. */
      port: number;
      /** Sinks per `to` role (an address the workload forwards to, and a port); default: any address, `port`. */
      sinks?: Record<string, { ip?: string; port: number }>;
      packets?: number;
      image?: string;
    } & ProbeTiming)
  | ({
      kind: 'throughput';
      from: string;
      to: string;
      /** Workload port the datagrams are sent to. */
      port: number;
      /** The sink the workload forwards to, on the `to` network. */
      sink: { ip: string; port: number };
      /** Offered rate: `20kpps`, `1.5mpps`, `500pps`, a number (pps), or `max` to search for the highest. */
      rate: string | number;
      /** Per trial (default 3s). */
      duration?: Duration;
      /** Highest loss that passes (default `0.1%`). */
      maxLoss?: string;
      /** Highest 99th-percentile one-way latency that passes (none by default). */
      p99Latency?: Duration;
      /** UDP payload sizes, one trial (or search) each (default [64]); at least 24 bytes. */
      sizes?: number[];
      /** Search mode: highest rate tried (default 200kpps) and trials per size (default 8). */
      maxRate?: string | number;
      searchTrials?: number;
      /** Search mode fails below this rate (default: any rate above 0 passes). */
      minRate?: string | number;
      image?: string;
    } & ProbeTiming);

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
  /** GTP-U G-PDUs (TS 29.281) through the data plane for one TEID, and an echo request/response. */
  gtpu: (options: Of<'gtpu'>): ProbeSpec => ({ kind: 'gtpu', attempts: 2, ...options }),
  /** PFCP (TS 29.244) heartbeat and association setup against the workload. */
  pfcp: (options: Of<'pfcp'> = {}): ProbeSpec => ({ kind: 'pfcp', ...options }),
  /** An SCTP association (INIT/INIT-ACK/COOKIE); fails, saying so, on a kernel without SCTP. */
  sctp: (options: Of<'sctp'>): ProbeSpec => ({ kind: 'sctp', ...options }),
  /** A DNS query and the answer it must get. */
  dns: (options: Of<'dns'>): ProbeSpec => ({ kind: 'dns', ...options }),
  /** One ICMP echo of a given size, don't-fragment by default: path MTU and jumbo frames. */
  icmp: (options: Of<'icmp'>): ProbeSpec => ({ kind: 'icmp', ...options }),
  /** Real packets between the workload's networks: allowed pairs must pass, denied ones never. */
  isolation: (options: Of<'isolation'>): ProbeSpec => ({ kind: 'isolation', attempts: 1, ...options }),
  /** A data-plane performance gate: paced datagrams, loss, reordering and latency percentiles. */
  throughput: (options: Of<'throughput'>): ProbeSpec => ({ kind: 'throughput', attempts: 1, ...options }),
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
    case 'gtpu':
      return `gtpu ${spec.from}→${spec.to ?? spec.from} teid ${spec.teid} ${spec.expect ?? 'forwarded'}`;
    case 'pfcp':
      return `pfcp:${spec.port ?? 8805}`;
    case 'sctp':
      return `sctp:${spec.port}`;
    case 'dns':
      return `dns ${spec.name} ${spec.type ?? 'A'}`;
    case 'icmp':
      return `icmp ${spec.size} bytes${spec.df === false ? '' : ' DF'}`;
    case 'isolation':
      return 'isolation';
    case 'throughput':
      return `throughput ${spec.from}→${spec.to} ${spec.rate}`;
  }
}
