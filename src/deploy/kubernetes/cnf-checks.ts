/**
 * Static CNF checks on Kubernetes objects, before anything reaches a cluster. A waiver keeps its finding,
 * marked suppressed with the reason, so a report still shows what was accepted and why.
 */
import { VnfpipeError } from '../../errors.js';
import type { ImageConfig } from '../../oci/config.js';
import { parseRegistryReference } from '../../oci/reference.js';
import {
  CNF_CHECKS,
  type CnfCheckId,
  type CnfCheckOptions,
  type CnfFinding,
  type CnfWaivers,
  INSECURE_CAPABILITIES,
  SAFE_SYSCTLS,
} from './cnf-catalog.js';
import { NETWORKS_ANNOTATION } from './networks.js';
import { containersOf, type PodSite, podSites } from './pods.js';
import { capabilityName } from './security.js';
import type { ConfigMapObject, KubeObject, NetworkSelection, ServiceObject } from './types.js';

/** Addresses that are not configuration of a particular network: any, and loopback. */
const NEUTRAL_IPS = new Set(['0.0.0.0', '127.0.0.1']);
const IPV4 =
  /(?<![\d.])(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(?![\d.])/g;
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
]);

type Emit = (id: CnfCheckId, object: KubeObject, path: string, message: string) => void;

export function checkCnf(objects: KubeObject[], options: CnfCheckOptions = {}): CnfFinding[] {
  const waivers = checkedWaivers(options.waivers ?? {});
  const findings: CnfFinding[] = [];
  const emit: Emit = (id, object, path, message) => {
    const reason = waivers[id];
    findings.push({
      id,
      severity: CNF_CHECKS[id].severity,
      message,
      object: {
        kind: object.kind,
        name: object.metadata.name,
        ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
      },
      path,
      ...(reason ? { suppressed: { by: 'waiver' as const, reason } } : {}),
    });
  };
  for (const object of objects) checkObject(object, emit);
  for (const site of podSites(objects)) checkPod(site, emit, options.imageConfig);
  return findings;
}

/** The findings no waiver accepts: what a gate fails on. */
export function unwaived(findings: CnfFinding[]): CnfFinding[] {
  return findings.filter((finding) => !finding.suppressed);
}

function checkedWaivers(waivers: CnfWaivers): CnfWaivers {
  for (const [id, reason] of Object.entries(waivers)) {
    if (!Object.hasOwn(CNF_CHECKS, id)) {
      throw new VnfpipeError('PIPELINE_INVALID', `waiver for '${id}', which is not a CNF check`, {
        where: `waivers.${id}`,
        hint: `checks: ${Object.keys(CNF_CHECKS).join(', ')}`,
      });
    }
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new VnfpipeError('PIPELINE_INVALID', `the waiver for '${id}' gives no reason`, {
        where: `waivers.${id}`,
        hint: "say why the VNF needs it: { 'insecure-capabilities': 'programs routes on its data interfaces' }",
      });
    }
  }
  return waivers;
}

function checkObject(object: KubeObject, emit: Emit): void {
  const labels = object.metadata.labels ?? {};
  if (!labels['app.kubernetes.io/name']) {
    emit(
      'require-labels',
      object,
      'metadata.labels',
      `${describe(object)} has no app.kubernetes.io/name label`,
    );
  }
  if (!CLUSTER_SCOPED.has(object.kind)) {
    const namespace = object.metadata.namespace;
    if (namespace === undefined || namespace === 'default') {
      emit(
        'default-namespace',
        object,
        'metadata.namespace',
        `${describe(object)} ${namespace ? 'is in' : 'names no namespace, so it lands in'} the default namespace`,
      );
    }
  }
  if (object.kind === 'ConfigMap') {
    const configMap = object as Partial<ConfigMapObject> & KubeObject;
    if (configMap.immutable !== true) {
      emit('immutable-configmap', object, 'immutable', `${describe(object)} is not immutable: true`);
    }
    for (const [key, value] of Object.entries(configMap.data ?? {})) {
      const ips = [...new Set(String(value).match(IPV4) ?? [])].filter((ip) => !NEUTRAL_IPS.has(ip));
      if (ips.length) {
        emit(
          'hardcoded-ip-addresses-in-k8s-runtime-configuration',
          object,
          `data.${key}`,
          `${describe(object)} key ${key} hard-codes ${ips.join(', ')}`,
        );
      }
    }
  }
  if (object.kind === 'Service') {
    const spec = (object as Partial<ServiceObject>).spec;
    if (spec?.type === 'NodePort' || spec?.type === 'LoadBalancer') {
      emit('nodeport-not-used', object, 'spec.type', `${describe(object)} is of type ${spec.type}`);
    }
  }
}

function checkPod(site: PodSite, emit: Emit, imageConfig: ImageConfig | undefined): void {
  const { object, spec } = site;
  const where = describe(object);
  // The suite looks at the pods, whose labels come from the template, not from the controller object.
  if (site.at !== 'spec' && !site.labels['app.kubernetes.io/name']) {
    emit(
      'require-labels',
      object,
      'spec.template.metadata.labels',
      `${where}'s pods have no app.kubernetes.io/name label`,
    );
  }
  if (spec.hostNetwork) emit('host-network', object, `${site.at}.hostNetwork`, `${where} uses hostNetwork`);
  for (const field of ['hostPID', 'hostIPC'] as const) {
    if (spec[field]) emit('host-pid-ipc-privileges', object, `${site.at}.${field}`, `${where} sets ${field}`);
  }
  (spec.volumes ?? []).forEach((volume, i) => {
    if (volume.hostPath) {
      emit(
        'hostpath-mounts',
        object,
        `${site.at}.volumes[${i}].hostPath`,
        `${where} volume ${volume.name} mounts the node's ${volume.hostPath.path}`,
      );
    }
  });
  const unsafe = (spec.securityContext?.sysctls ?? []).filter((s) => !SAFE_SYSCTLS.includes(s.name));
  if (unsafe.length) {
    emit(
      'sysctls',
      object,
      `${site.at}.securityContext.sysctls`,
      `${where} sets ${unsafe.map((s) => s.name).join(', ')}, which nodes must allow with --allowed-unsafe-sysctls`,
    );
  }
  checkSharedAddresses(site, emit);
  for (const { container, at } of containersOf(site)) {
    const name = `${where} container ${container.name ?? '?'}`;
    const security = container.securityContext ?? {};
    if (security.privileged) {
      emit('privileged-containers', object, `${at}.securityContext.privileged`, `${name} is privileged`);
    }
    const insecure = (security.capabilities?.add ?? [])
      .map(capabilityName)
      .filter((cap) => INSECURE_CAPABILITIES.includes(cap));
    if (insecure.length) {
      emit(
        'insecure-capabilities',
        object,
        `${at}.securityContext.capabilities.add`,
        `${name} adds ${insecure.join(', ')}`,
      );
    }
    const root = rootReason(security, spec.securityContext ?? {}, imageConfig);
    if (root) emit('non-root-containers', object, `${at}.securityContext.runAsUser`, `${name} ${root}`);
    const limits = container.resources?.limits ?? {};
    if (!limits.cpu) emit('cpu-limits', object, `${at}.resources.limits.cpu`, `${name} has no CPU limit`);
    if (!limits.memory)
      emit('memory-limits', object, `${at}.resources.limits.memory`, `${name} has no memory limit`);
    if (!container.livenessProbe)
      emit('liveness', object, `${at}.livenessProbe`, `${name} has no liveness probe`);
    if (!container.readinessProbe)
      emit('readiness', object, `${at}.readinessProbe`, `${name} has no readiness probe`);
    (container.ports ?? []).forEach((port, i) => {
      if (port.hostPort) {
        emit(
          'hostport-not-used',
          object,
          `${at}.ports[${i}].hostPort`,
          `${name} publishes hostPort ${port.hostPort}`,
        );
      }
    });
    checkImage(container.image, object, `${at}.image`, name, emit);
  }
}

function checkImage(
  image: string | undefined,
  object: KubeObject,
  path: string,
  name: string,
  emit: Emit,
): void {
  let ref: ReturnType<typeof parseRegistryReference> | undefined;
  try {
    ref = image ? parseRegistryReference(image) : undefined;
  } catch {
    ref = undefined;
  }
  // A digest pins better than any tag, so `repo@sha256:…` passes latest-tag although it names no tag.
  if (!ref || ref.tag === 'latest') {
    emit('latest-tag', object, path, `${name} runs image '${image ?? ''}', tagged latest or not at all`);
  }
  if (!ref?.digest)
    emit('unpinned-image', object, path, `${name} runs image '${image ?? ''}' without a digest`);
}

/** Why the container may run as uid 0, or undefined when it cannot. */
function rootReason(
  container: { runAsUser?: number; runAsNonRoot?: boolean },
  pod: { runAsUser?: number; runAsNonRoot?: boolean },
  imageConfig: ImageConfig | undefined,
): string | undefined {
  const uid = container.runAsUser ?? pod.runAsUser;
  if (uid === 0) return 'runs as uid 0';
  if (uid !== undefined) return undefined;
  // The kubelet refuses to start a container that would run as root.
  if (container.runAsNonRoot ?? pod.runAsNonRoot) return undefined;
  if (!imageConfig) return 'sets neither runAsUser nor runAsNonRoot, so the image decides';
  const user = imageConfig.config?.User;
  const name = user?.split(':')[0] ?? '';
  if (name === '' || name === 'root' || name === '0') {
    return user ? `runs as the image's user ${user}` : 'runs as root: the image sets no USER';
  }
  return undefined;
}

function checkSharedAddresses(site: PodSite, emit: Emit): void {
  const raw = site.annotations[NETWORKS_ANNOTATION];
  if (!raw || (site.replicas !== undefined && site.replicas <= 1)) return;
  let selections: Partial<NetworkSelection>[];
  try {
    const parsed = JSON.parse(raw) as unknown;
    selections = Array.isArray(parsed) ? parsed : [];
  } catch {
    return; // The short form (`net1,net2`) carries no addresses.
  }
  const fixed = selections.filter((s) => (s.ips?.length ?? 0) > 0 || s.mac);
  if (fixed.length === 0) return;
  const pods = site.replicas === undefined ? 'every node runs a pod' : `${site.replicas} replicas`;
  emit(
    'shared-static-address',
    site.object,
    site.at === 'spec' ? 'metadata.annotations' : 'spec.template.metadata.annotations',
    `${describe(site.object)}: ${pods} would all take ${fixed.map((s) => [...(s.ips ?? []), s.mac].filter(Boolean).join(' ')).join(', ')} on ${fixed.map((s) => s.name).join(', ')}`,
  );
}

function describe(object: KubeObject): string {
  return `${object.kind}/${object.metadata.name}`;
}
