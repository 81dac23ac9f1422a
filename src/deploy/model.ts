/**
 * The VNF workload model, shared by every target (Docker, Swarm, later Kubernetes). It says what a network
 * function needs — several interfaces with roles, pinned CPUs, hugepages, capabilities, sysctls — not how a
 * target provides it.
 */
import { VnfpipeError } from '../errors.js';

export type NetworkDriver = 'bridge' | 'macvlan' | 'ipvlan' | 'host' | 'none' | 'overlay';

export interface NetworkAttachment {
  /** What the interface is for: `mgmt`, `data`, `data-in`, … The first network is the management one. */
  role: string;
  /** The network's name on the target. Default: `<workload>-<position>-<role>`. */
  name?: string;
  driver?: NetworkDriver;
  /** Host interface for macvlan/ipvlan. */
  parent?: string;
  /** macvlan: bridge | private | vepa | passthru; ipvlan: l2 | l3 | l3s. */
  mode?: string;
  subnet?: string;
  gateway?: string;
  /** Static IPv4 address of the workload on this network. */
  ip?: string;
  /**
   * MAC address of the workload's interface on this network. The Docker target (engine API 1.41) can set it
   * on the first network only, and refuses it on the others rather than let the engine pick one.
   */
  mac?: string;
  /** No route to the outside (data planes usually are). */
  internal?: boolean;
  /** The network exists already and belongs to someone else: use it, never create or remove it. */
  external?: boolean;
  /** An SR-IOV virtual function from this device-plugin resource (Kubernetes), e.g. `intel.com/sriov_netdevice`. */
  sriov?: { resourceName: string };
}

export interface HugepagesSpec {
  /** Page size: 2Mi or 1Gi. */
  size: '2Mi' | '1Gi';
  /**
   * Pages the workload may use: its hugetlbfs mount is limited to `pages × size`, and the host is checked
   * for that many free pages.
   */
  pages: number;
  /** Reserve the pages when the workload starts (hugetlbfs `min_size`): the start fails if the host cannot. */
  reserve?: boolean;
  /** Where the hugetlbfs mount appears in the workload. Default `/dev/hugepages`. */
  mountPath?: string;
}

export interface ResourceSpec {
  /** CPU quota in cores (0.5, 2). */
  cpus?: number;
  /** Pinned CPUs, cpuset syntax: `1`, `0-1`, `0,2`. */
  cpuset?: string;
  /** Memory limit: bytes or `128Mi`, `1Gi`. */
  memory?: number | string;
  hugepages?: HugepagesSpec;
  /** Locked-memory limit (DPDK needs it): bytes, `64Mi`, or `unlimited`. */
  memlock?: number | string;
}

export interface SecuritySpec {
  /** Added capabilities: NET_ADMIN, NET_RAW, IPC_LOCK, SYS_NICE, … */
  capabilities?: string[];
  dropCapabilities?: string[];
  /** Refused unless `privilegedWaiver` says why it is needed. */
  privileged?: boolean;
  privilegedWaiver?: string;
  readOnlyRootFilesystem?: boolean;
  /** `uid[:gid]` or a user name; a non-root user is recommended. */
  user?: string;
  /** A seccomp profile file (JSON), or `unconfined`. */
  seccompProfile?: string;
  /** An AppArmor profile name, or `unconfined`. */
  apparmorProfile?: string;
  noNewPrivileges?: boolean;
}

export interface HealthSpec {
  /** A command run inside the workload; exit 0 is healthy. */
  command: string[];
  interval?: string;
  timeout?: string;
  retries?: number;
  startPeriod?: string;
}

export interface PortSpec {
  container: number;
  /** Host port; default: the same as `container`. */
  host?: number;
  protocol?: 'tcp' | 'udp';
  /** Host address to publish on. Default 127.0.0.1: a VNF's management plane is not public by accident. */
  hostIp?: string;
}

export interface ConfigFileSpec {
  /** Absolute path inside the workload. */
  path: string;
  content: string;
  /** Permission bits, exactly as written (the deploying process's umask does not apply). Default 0o644. */
  mode?: number;
  /** `uid:gid` (numeric). Default: the workload's user when it is not root, else `0:0`. */
  owner?: string;
}

export interface Workload {
  name: string;
  /** Image pinned by digest: `registry/repo@sha256:…`, `registry/repo:tag@sha256:…`, or a local image id. */
  image: string;
  replicas?: number;
  /** Replaces the image's entrypoint. */
  command?: string[];
  /** Replaces the image's cmd. */
  args?: string[];
  env?: Record<string, string>;
  files?: ConfigFileSpec[];
  networks?: NetworkAttachment[];
  resources?: ResourceSpec;
  security?: SecuritySpec;
  sysctls?: Record<string, string>;
  health?: HealthSpec;
  ports?: PortSpec[];
  restart?: 'no' | 'on-failure' | 'always' | 'unless-stopped';
  labels?: Record<string, string>;
  /** Seconds between SIGTERM and SIGKILL when stopping. Default 10. */
  stopGracePeriod?: number;
}

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const OWNER = /^\d{1,10}:\d{1,10}$/;
/** Workload names become file, lock and container names: the same rule wherever a name comes in. */
export const WORKLOAD_NAME = NAME;
const CAPABILITY = /^(CAP_)?[A-Z_]+$/;
const SIZE = /^(\d+(?:\.\d+)?)\s*(B|Ki|Mi|Gi|Ti|K|M|G|T|k|m|g)?$/;
const SIZE_FACTOR: Record<string, number> = {
  B: 1,
  k: 1000,
  K: 1000,
  Ki: 1024,
  m: 1e6,
  M: 1e6,
  Mi: 1024 ** 2,
  g: 1e9,
  G: 1e9,
  Gi: 1024 ** 3,
  T: 1e12,
  Ti: 1024 ** 4,
};

/** `128Mi` → 134217728. */
export function parseSize(value: number | string, what: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.round(value);
  const match = typeof value === 'string' ? SIZE.exec(value.trim()) : null;
  if (!match) throw invalid(`${what}: '${String(value)}' is not a size (use bytes or 64Mi, 1Gi, …)`);
  return Math.round(Number(match[1]) * SIZE_FACTOR[match[2] ?? 'B']!);
}

function invalid(message: string, hint?: string): VnfpipeError {
  return new VnfpipeError('PIPELINE_INVALID', message, hint ? { hint } : {});
}

/**
 * The network a role attaches to on the target. The default name carries the declared position
 * (`vfw-0-mgmt`, `vfw-1-data`), because engines that order interfaces by network name then keep the
 * declared order: the first (management) network becomes eth0.
 */
export function networkName(workload: Pick<Workload, 'name' | 'networks'>, net: NetworkAttachment): string {
  if (net.name) return net.name;
  const all = workload.networks ?? [net];
  const index = Math.max(0, all.indexOf(net));
  const width = String(Math.max(0, all.length - 1)).length;
  return `${workload.name}-${String(index).padStart(width, '0')}-${net.role}`;
}

/** Checks a workload and returns every problem at once, each naming the field. */
export function validateWorkload(workload: Workload): void {
  const problems: string[] = [];
  const where = `workload ${workload?.name ?? '?'}`;
  if (!workload || typeof workload !== 'object') throw invalid('a workload must be an object');
  if (typeof workload.name !== 'string' || !NAME.test(workload.name)) {
    problems.push(
      `name '${String(workload.name)}' must be lower-case letters, digits, '.', '_' or '-' (≤ 63)`,
    );
  }
  if (typeof workload.image !== 'string' || workload.image === '') problems.push('image is required');
  if (workload.replicas !== undefined && (!Number.isInteger(workload.replicas) || workload.replicas < 0)) {
    problems.push('replicas must be a whole number ≥ 0');
  }
  const roles = new Set<string>();
  const networks = workload.networks ?? [];
  networks.forEach((net, i) => {
    const at = `networks[${i}]`;
    if (!net.role || !NAME.test(net.role)) problems.push(`${at}.role must be a short lower-case name`);
    if (roles.has(net.role)) problems.push(`${at}: role '${net.role}' appears twice`);
    roles.add(net.role);
    const driver = net.driver ?? 'bridge';
    if (!['bridge', 'macvlan', 'ipvlan', 'host', 'none', 'overlay'].includes(driver)) {
      problems.push(`${at}.driver '${driver}' is not one of bridge, macvlan, ipvlan, host, none, overlay`);
    }
    if ((driver === 'macvlan' || driver === 'ipvlan') && !net.parent && !net.external) {
      problems.push(`${at}: ${driver} needs a parent host interface`);
    }
    if ((driver === 'host' || driver === 'none') && networks.length > 1) {
      problems.push(`${at}: a '${driver}' network excludes every other network`);
    }
    if (net.ip && !/^\d{1,3}(\.\d{1,3}){3}$/.test(net.ip))
      problems.push(`${at}.ip '${net.ip}' is not an IPv4 address`);
    if (net.ip && !net.subnet && !net.external)
      problems.push(`${at}: a static ip needs the network's subnet`);
    if (net.mac && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(net.mac))
      problems.push(`${at}.mac '${net.mac}' is not a MAC address`);
    if (net.mac && (driver === 'host' || driver === 'none'))
      problems.push(`${at}.mac: a '${driver}' network has no interface of the workload's own`);
    if (net.subnet && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(net.subnet))
      problems.push(`${at}.subnet '${net.subnet}' is not a CIDR`);
  });
  const security = workload.security ?? {};
  for (const cap of [...(security.capabilities ?? []), ...(security.dropCapabilities ?? [])]) {
    if (!CAPABILITY.test(cap)) problems.push(`capability '${cap}' is not a capability name (NET_ADMIN, …)`);
  }
  if (security.privileged && !security.privilegedWaiver) {
    problems.push(
      'privileged is refused: grant the capabilities the VNF needs, or give privilegedWaiver: "<why>"',
    );
  }
  const resources = workload.resources ?? {};
  if (resources.cpus !== undefined && !(resources.cpus > 0)) problems.push('resources.cpus must be > 0');
  if (resources.cpuset !== undefined && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(resources.cpuset)) {
    problems.push(`resources.cpuset '${resources.cpuset}' is not a CPU list (0-1,3)`);
  }
  for (const [key, value] of [
    ['memory', resources.memory],
    ['memlock', resources.memlock === 'unlimited' ? undefined : resources.memlock],
  ] as const) {
    if (value === undefined) continue;
    try {
      parseSize(value, `resources.${key}`);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (resources.hugepages) {
    const hp = resources.hugepages;
    if (hp.size !== '2Mi' && hp.size !== '1Gi')
      problems.push("resources.hugepages.size must be '2Mi' or '1Gi'");
    if (!Number.isInteger(hp.pages) || hp.pages < 1)
      problems.push('resources.hugepages.pages must be a whole number ≥ 1');
  }
  for (const key of Object.keys(workload.sysctls ?? {})) {
    if (!/^[a-z0-9_.]+$/.test(key)) problems.push(`sysctl '${key}' is not a sysctl name`);
  }
  for (const [i, port] of (workload.ports ?? []).entries()) {
    if (!Number.isInteger(port.container) || port.container < 1 || port.container > 65535) {
      problems.push(`ports[${i}].container must be a port number`);
    }
  }
  for (const [i, file] of (workload.files ?? []).entries()) {
    if (!file.path?.startsWith('/') || file.path.split('/').includes('..')) {
      problems.push(`files[${i}].path must be absolute without '..'`);
    }
    if (file.mode !== undefined && (!Number.isInteger(file.mode) || file.mode < 0 || file.mode > 0o7777)) {
      problems.push(`files[${i}].mode must be permission bits (0o644, 0o640, …)`);
    }
    if (file.owner !== undefined && !OWNER.test(String(file.owner))) {
      problems.push(`files[${i}].owner '${String(file.owner)}' must be numeric uid:gid (e.g. 65534:65534)`);
    }
  }
  if (problems.length) {
    throw new VnfpipeError(
      'PIPELINE_INVALID',
      `${where} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}
