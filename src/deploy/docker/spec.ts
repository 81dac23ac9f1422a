/**
 * Translates a workload into Docker Engine API bodies: the network definitions and the container create
 * body. Pure functions, so the translation is tested without an engine.
 */
import { posix } from 'node:path';
import { LABEL } from '../labels.js';
import {
  type HugepagesSpec,
  type NetworkAttachment,
  networkName,
  parseSize,
  type Workload,
} from '../model.js';

/** Numeric user and group the workload runs as (resolved from the image when `user` is a name). */
export interface Identity {
  uid: number;
  gid: number;
}

/** Docker networks are ordered by name inside the container (internal ones last); eth0 gets the default route. */
export function orderedNetworks(workload: Workload): Array<NetworkAttachment & { dockerName: string }> {
  return (workload.networks ?? []).map((net) => ({ ...net, dockerName: networkName(workload, net) }));
}

/**
 * Docker 20.10 numbers interfaces in the order of the networks' names (internal networks last), not in the
 * order they were attached. Returns the problem when the declared order cannot hold.
 */
export function interfaceOrderProblem(workload: Workload): string | undefined {
  const nets = orderedNetworks(workload).filter((net) => !['host', 'none'].includes(net.driver ?? 'bridge'));
  const external = nets.filter((net) => !net.internal);
  const internal = nets.filter((net) => net.internal);
  const expected = [...[...external].sort(byName), ...[...internal].sort(byName)].map((net) => net.role);
  const declared = [...external, ...internal].map((net) => net.role);
  const firstInternal = nets.findIndex((net) => net.internal);
  if (firstInternal !== -1 && nets.slice(firstInternal).some((net) => !net.internal)) {
    return `internal networks come last in the container, so declare non-internal networks first (roles: ${nets.map((n) => n.role).join(', ')})`;
  }
  if (expected.join() !== declared.join()) {
    return `the engine orders interfaces by network name: ${nets.map((n) => n.dockerName).join(', ')} would give ${expected.join(', ')}; name the networks so they sort in the declared order (e.g. '${workload.name}-0-mgmt', '${workload.name}-1-data')`;
  }
  return undefined;
}

/**
 * What the Docker target cannot do as declared, found before anything is created (each a sentence naming
 * the field). Engine API 1.41 applies a MAC address only through the container's own config, which covers the
 * network it is created on; a read-only root takes config files only in directories a volume can cover.
 */
export function dockerProblems(workload: Workload): string[] {
  const problems: string[] = [];
  const order = interfaceOrderProblem(workload);
  if (order) problems.push(order);
  orderedNetworks(workload).forEach((net, i) => {
    if (net.mac && i > 0) {
      problems.push(
        `networks[${i}].mac: the Docker engine (API 1.41) sets a MAC address only on the first network, the one the container is created on; it would give role '${net.role}' a generated MAC instead of ${net.mac}`,
      );
    }
    if (net.sriov) {
      problems.push(
        `networks[${i}].sriov: SR-IOV functions come from a Kubernetes device plugin; on the Docker engine use a macvlan network on the VF's netdev as parent`,
      );
    }
  });
  if (workload.security?.readOnlyRootFilesystem) {
    for (const [i, file] of (workload.files ?? []).entries()) {
      if (posix.dirname(file.path) === '/') {
        problems.push(
          `files[${i}].path ${file.path}: with a read-only root filesystem, config files are delivered on a volume over their directory, and '/' cannot be one: put the file in a directory (e.g. /etc/${workload.name}/)`,
        );
      }
    }
  }
  return problems;
}

/**
 * The directories that become volumes when config files meet a read-only root: the engine writes into
 * volumes of a created container, never into a read-only root. One volume per outermost directory; it starts
 * as a copy of the image's directory, so the image's own files there remain.
 */
export function configVolumeDirs(workload: Workload): string[] {
  if (!workload.security?.readOnlyRootFilesystem) return [];
  const dirs = [...new Set((workload.files ?? []).map((f) => posix.dirname(posix.normalize(f.path))))];
  const inside = (dir: string, parent: string) => dir === parent || dir.startsWith(`${parent}/`);
  return dirs
    .filter((dir) => dir !== '/' && !dirs.some((other) => other !== dir && inside(dir, other)))
    .sort();
}

/**
 * A hugetlbfs of the workload's own (a `local` volume the engine mounts at start and drops with the
 * container): limited to the declared pages, owned by the workload's user, invisible to other workloads.
 */
export function hugepagesMount(
  workload: string,
  hp: HugepagesSpec,
  identity: Identity | undefined,
): Record<string, unknown> {
  const pageMiB = hp.size === '1Gi' ? 1024 : 2;
  const bytes = `${hp.pages * pageMiB}M`;
  const options = [
    `pagesize=${pageMiB === 1024 ? '1G' : '2M'}`,
    `size=${bytes}`,
    ...(hp.reserve ? [`min_size=${bytes}`] : []),
    `uid=${identity?.uid ?? 0}`,
    `gid=${identity?.gid ?? 0}`,
    'mode=0770',
  ];
  return {
    Type: 'volume',
    Target: hp.mountPath ?? '/dev/hugepages',
    VolumeOptions: {
      NoCopy: true,
      Labels: { [LABEL.managed]: 'true', [LABEL.workload]: workload },
      DriverConfig: {
        Name: 'local',
        Options: { type: 'hugetlbfs', device: 'none', o: options.join(',') },
      },
    },
  };
}

const byName = (a: { dockerName: string }, b: { dockerName: string }) =>
  a.dockerName < b.dockerName ? -1 : a.dockerName > b.dockerName ? 1 : 0;

export function networkCreateBody(workload: Workload, net: NetworkAttachment & { dockerName: string }) {
  const driver = net.driver ?? 'bridge';
  const options: Record<string, string> = {};
  if (net.parent) options.parent = net.parent;
  if (net.mode && driver === 'macvlan') options.macvlan_mode = net.mode;
  if (net.mode && driver === 'ipvlan') options.ipvlan_mode = net.mode;
  return {
    Name: net.dockerName,
    Driver: driver,
    CheckDuplicate: true,
    Internal: Boolean(net.internal),
    Attachable: driver === 'overlay',
    Options: options,
    ...(net.subnet
      ? {
          IPAM: {
            Driver: 'default',
            Config: [{ Subnet: net.subnet, ...(net.gateway ? { Gateway: net.gateway } : {}) }],
          },
        }
      : {}),
    Labels: { [LABEL.managed]: 'true', [LABEL.workload]: workload.name, [LABEL.role]: net.role },
  };
}

/** The engine (API 1.41) ignores an endpoint's MacAddress: the first network's MAC goes in the container config. */
function endpointConfig(net: NetworkAttachment) {
  return {
    ...(net.ip ? { IPAMConfig: { IPv4Address: net.ip } } : {}),
    Aliases: [],
  };
}

export interface ContainerPlan {
  name: string;
  body: Record<string, unknown>;
  /** Networks to connect after create and before start (API 1.41 takes one at create). */
  connect: Array<{ network: string; endpoint: ReturnType<typeof endpointConfig> }>;
}

/** `500ms`, `2s`, `1m` → nanoseconds, as the engine's health and grace fields take them. */
export const durationNs = (value: string | undefined, fallback: number) => {
  if (!value) return fallback;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value);
  if (!match) return fallback;
  const unit = { ms: 1e6, s: 1e9, m: 60e9 }[match[2] as 'ms' | 's' | 'm'];
  return Math.round(Number(match[1]) * unit);
};

export function containerPlan(
  workload: Workload,
  revision: number,
  /** How the engine names the image: the reference, or an image id for images loaded from a layout. */
  image: string,
  specHash: string,
  /** The workload user's numeric identity: owner of its hugetlbfs mount. */
  identity?: Identity,
): ContainerPlan {
  const nets = orderedNetworks(workload);
  const [first, ...rest] = nets;
  const resources = workload.resources ?? {};
  const security = workload.security ?? {};
  const securityOpt: string[] = [];
  if (security.seccompProfile) securityOpt.push(`seccomp=${security.seccompProfile}`);
  if (security.apparmorProfile) securityOpt.push(`apparmor=${security.apparmorProfile}`);
  if (security.noNewPrivileges) securityOpt.push('no-new-privileges');
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const port of workload.ports ?? []) {
    const key = `${port.container}/${port.protocol ?? 'tcp'}`;
    exposed[key] = {};
    bindings[key] = [{ HostIp: port.hostIp ?? '127.0.0.1', HostPort: String(port.host ?? port.container) }];
  }
  const memlock =
    resources.memlock === undefined
      ? undefined
      : resources.memlock === 'unlimited'
        ? -1
        : parseSize(resources.memlock, 'memlock');
  const mounts: Array<Record<string, unknown>> = configVolumeDirs(workload).map((dir) => ({
    Type: 'volume',
    Target: dir,
    VolumeOptions: { Labels: { [LABEL.managed]: 'true', [LABEL.workload]: workload.name } },
  }));
  if (resources.hugepages) mounts.push(hugepagesMount(workload.name, resources.hugepages, identity));
  const name = `${workload.name}-r${revision}`;
  const networkMode = first
    ? ['host', 'none'].includes(first.driver ?? 'bridge')
      ? (first.driver as string)
      : first.dockerName
    : 'bridge';
  const body: Record<string, unknown> = {
    Image: image,
    ...(workload.command ? { Entrypoint: workload.command } : {}),
    ...(workload.args ? { Cmd: workload.args } : {}),
    Env: Object.entries(workload.env ?? {}).map(([key, value]) => `${key}=${value}`),
    ...(security.user ? { User: security.user } : {}),
    ...(first?.mac && networkMode === first.dockerName ? { MacAddress: first.mac } : {}),
    Labels: {
      ...workload.labels,
      [LABEL.managed]: 'true',
      [LABEL.workload]: workload.name,
      [LABEL.revision]: String(revision),
      [LABEL.specHash]: specHash,
      [LABEL.image]: workload.image,
      [LABEL.created]: new Date().toISOString(),
    },
    ExposedPorts: exposed,
    StopTimeout: workload.stopGracePeriod ?? 10,
    ...(workload.health
      ? {
          Healthcheck: {
            Test: ['CMD', ...workload.health.command],
            Interval: durationNs(workload.health.interval, 2e9),
            Timeout: durationNs(workload.health.timeout, 2e9),
            Retries: workload.health.retries ?? 3,
            StartPeriod: durationNs(workload.health.startPeriod, 0),
          },
        }
      : {}),
    HostConfig: {
      NetworkMode: networkMode,
      PortBindings: bindings,
      ...(resources.cpus ? { NanoCpus: Math.round(resources.cpus * 1e9) } : {}),
      ...(resources.cpuset ? { CpusetCpus: resources.cpuset } : {}),
      ...(resources.memory !== undefined ? { Memory: parseSize(resources.memory, 'memory') } : {}),
      ...(memlock !== undefined ? { Ulimits: [{ Name: 'memlock', Soft: memlock, Hard: memlock }] } : {}),
      CapAdd: security.capabilities ?? [],
      CapDrop: security.dropCapabilities ?? [],
      Privileged: Boolean(security.privileged && security.privilegedWaiver),
      ReadonlyRootfs: Boolean(security.readOnlyRootFilesystem),
      SecurityOpt: securityOpt,
      Sysctls: workload.sysctls ?? {},
      RestartPolicy: { Name: workload.restart ?? 'no' },
      Mounts: mounts,
      Init: false,
    },
    NetworkingConfig:
      first && !['host', 'none'].includes(first.driver ?? 'bridge')
        ? { EndpointsConfig: { [first.dockerName]: endpointConfig(first) } }
        : {},
  };
  return {
    name,
    body,
    connect: rest.map((net) => ({ network: net.dockerName, endpoint: endpointConfig(net) })),
  };
}
