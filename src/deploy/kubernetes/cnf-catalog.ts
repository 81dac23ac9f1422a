/**
 * The CNF checks vnfpipe runs, their severities, and the findings' shape. Ids are the CNCF CNF test
 * suite's test names (kebab-case) where one matches; `unpinned-image` and `shared-static-address` are
 * vnfpipe's own.
 */
import type { ImageConfig } from '../../oci/config.js';
import type { Severity } from '../../scan/model.js';

export interface CnfCheckInfo {
  severity: Severity;
  title: string;
}

export const CNF_CHECKS = {
  'privileged-containers': { severity: 'high', title: 'A container runs privileged' },
  'host-network': { severity: 'high', title: "A pod uses the node's network namespace" },
  'host-pid-ipc-privileges': { severity: 'high', title: "A pod shares the node's PID or IPC namespace" },
  'hostpath-mounts': { severity: 'high', title: "A pod mounts a path of the node's filesystem" },
  'insecure-capabilities': {
    severity: 'high',
    title: 'A container adds a capability that controls the host',
  },
  'non-root-containers': { severity: 'medium', title: 'A container may run as root' },
  'cpu-limits': { severity: 'medium', title: 'A container has no CPU limit' },
  'memory-limits': { severity: 'medium', title: 'A container has no memory limit' },
  liveness: { severity: 'medium', title: 'A container has no liveness probe' },
  readiness: { severity: 'medium', title: 'A container has no readiness probe' },
  'latest-tag': { severity: 'medium', title: "An image is 'latest' or untagged" },
  'unpinned-image': { severity: 'high', title: 'An image is not pinned by digest' },
  'default-namespace': { severity: 'low', title: 'An object is in the default namespace' },
  'hardcoded-ip-addresses-in-k8s-runtime-configuration': {
    severity: 'low',
    title: 'Configuration carries hard-coded IP addresses',
  },
  'nodeport-not-used': { severity: 'medium', title: 'A Service opens ports on every node' },
  'hostport-not-used': { severity: 'medium', title: "A container publishes a port on its node's address" },
  'immutable-configmap': { severity: 'low', title: 'A ConfigMap is mutable' },
  'require-labels': { severity: 'low', title: 'An object lacks the app.kubernetes.io/name label' },
  sysctls: { severity: 'medium', title: 'A pod sets a sysctl the kubelet does not allow by default' },
  'shared-static-address': {
    severity: 'high',
    title: 'Several pods are given the same fixed address or MAC',
  },
} as const satisfies Record<string, CnfCheckInfo>;

export type CnfCheckId = keyof typeof CNF_CHECKS;

/** Waived checks, each with the reason it is acceptable for this VNF. */
export type CnfWaivers = Partial<Record<CnfCheckId, string>>;

export interface CnfFinding {
  id: CnfCheckId;
  severity: Severity;
  message: string;
  object: { kind: string; name: string; namespace?: string };
  /** The field in the object, e.g. `spec.template.spec.containers[0].securityContext.privileged`. */
  path: string;
  /** Set when a waiver accepts it; it then no longer counts against the VNF. */
  suppressed?: { by: 'waiver'; reason: string };
}

export interface CnfCheckOptions {
  waivers?: CnfWaivers;
  /** The image's config: who the container runs as when the pod does not say. */
  imageConfig?: ImageConfig;
}

/**
 * Capabilities that give a container control over the node or other workloads. NET_ADMIN and NET_RAW are
 * on the list although many VNFs need them: the waiver then records why this one does.
 */
export const INSECURE_CAPABILITIES = [
  'ALL',
  'SYS_ADMIN',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_PTRACE',
  'SYS_BOOT',
  'SYS_TIME',
  'MAC_ADMIN',
  'MAC_OVERRIDE',
  'BPF',
  'PERFMON',
  'DAC_READ_SEARCH',
  'SETPCAP',
  'NET_ADMIN',
  'NET_RAW',
];

/**
 * The sysctls Kubernetes calls safe (namespaced, isolated between pods): the kubelet allows only these unless
 * started with --allowed-unsafe-sysctls, and refuses to run a pod asking for another.
 */
export const SAFE_SYSCTLS = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.ping_group_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_fin_timeout',
];
