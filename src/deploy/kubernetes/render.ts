/**
 * Renders a VNF workload as Kubernetes objects, in the order they can be applied. Pure: no cluster, no
 * I/O; what Kubernetes cannot express is refused with the reason, all reasons in one error.
 */
import { parseRegistryReference, type RegistryReference } from '../../oci/reference.js';
import { LABEL } from '../labels.js';
import { validateWorkload, type Workload } from '../model.js';
import { planFiles } from './files.js';
import { NETWORKS_ANNOTATION, networksAnnotation, planNetworks } from './networks.js';
import { planProbes } from './probes.js';
import { isDnsLabel, Problems } from './problems.js';
import { planResources } from './resources.js';
import { securityContext } from './security.js';
import type {
  Container,
  KubeObject,
  Labels,
  PodSpec,
  ServiceObject,
  Volume,
  VolumeMount,
  WorkloadKind,
  WorkloadObject,
} from './types.js';

export interface KubernetesRenderOptions {
  namespace: string;
  /** The image to run, pinned by digest (`registry/repo[:tag]@sha256:…`): what was scanned is what runs. */
  image: string;
  /** Default Deployment. */
  kind?: WorkloadKind;
  /** Also render the Namespace object (first in the list). Default false: namespaces are often owned by admins. */
  createNamespace?: boolean;
}

/** The recommended labels (app.kubernetes.io/*) the pods are selected by. */
export const NAME_LABEL = 'app.kubernetes.io/name';
export const INSTANCE_LABEL = 'app.kubernetes.io/instance';
/** A label value: ≤ 63 of [A-Za-z0-9_.-], alphanumeric at both ends. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function renderKubernetes(workload: Workload, options: KubernetesRenderOptions): KubeObject[] {
  validateWorkload(workload);
  const problems = new Problems();
  const kind = options.kind ?? 'Deployment';
  const namespace = options.namespace;
  const name = workload.name;
  if (!['Deployment', 'StatefulSet', 'DaemonSet'].includes(kind)) {
    problems.add(`kind '${kind}' is not one of Deployment, StatefulSet, DaemonSet`);
  }
  if (typeof namespace !== 'string' || !isDnsLabel(namespace)) {
    problems.add(`namespace '${namespace}' must be a DNS label (lower-case letters, digits, '-', ≤ 63)`);
  }
  if (!isDnsLabel(name) || !/^[a-z]/.test(name)) {
    problems.add(
      `name '${name}' must be a DNS label that starts with a letter (Service names are); '_' and '.' are not allowed`,
    );
  }
  const image = pinnedImage(options.image, problems);
  const replicas = workload.replicas ?? 1;
  if (kind === 'DaemonSet' && replicas > 1) {
    problems.add(
      `replicas ${replicas}: a DaemonSet runs one pod per node; drop replicas or use a Deployment`,
    );
  }
  if (workload.restart === 'no' || workload.restart === 'on-failure') {
    problems.add(
      `restart '${workload.restart}': Deployment, StatefulSet and DaemonSet pods always restart; use 'always' or leave it unset`,
    );
  }

  const labels = recommendedLabels(workload, image, problems);
  const selector = { [NAME_LABEL]: name, [INSTANCE_LABEL]: name };
  const networks = planNetworks(workload, namespace, labels, problems);
  const resources = planResources(workload, networks.deviceResources, problems);
  const files = planFiles(name, namespace, workload.files ?? [], labels, problems);
  const probes = workload.health ? planProbes(workload.health, problems) : undefined;
  const security = securityContext(workload.security ?? {}, problems);
  problems.throwIfAny(name);

  const volumes: Volume[] = [...resources.volumes, ...(files ? [files.volume] : [])];
  const mounts: VolumeMount[] = [...resources.mounts, ...(files?.mounts ?? [])];
  const ports = workload.ports ?? [];
  const container: Container = {
    name,
    image: options.image,
    imagePullPolicy: 'IfNotPresent',
    ...(workload.command ? { command: workload.command } : {}),
    ...(workload.args ? { args: workload.args } : {}),
    ...(workload.env
      ? { env: Object.entries(workload.env).map(([key, value]) => ({ name: key, value })) }
      : {}),
    // No hostPort: the management plane is reached through the Service, never published on nodes.
    ...(ports.length
      ? {
          ports: ports.map((port) => ({
            name: portName(port.container, port.protocol),
            containerPort: port.container,
            protocol: port.protocol === 'udp' ? ('UDP' as const) : ('TCP' as const),
          })),
        }
      : {}),
    ...(Object.keys(resources.resources).length ? { resources: resources.resources } : {}),
    securityContext: security,
    ...(mounts.length ? { volumeMounts: mounts } : {}),
    ...probes,
  };
  const sysctls = Object.entries(workload.sysctls ?? {}).map(([key, value]) => ({ name: key, value }));
  const podSpec: PodSpec = {
    serviceAccountName: name,
    // A VNF does not talk to the Kubernetes API; no token in the pod.
    automountServiceAccountToken: false,
    ...(networks.hostNetwork ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' as const } : {}),
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: workload.stopGracePeriod ?? 10,
    ...(sysctls.length ? { securityContext: { sysctls } } : {}),
    containers: [container],
    ...(volumes.length ? { volumes } : {}),
  };
  const podAnnotations: Labels = { [LABEL.image]: options.image };
  if (networks.selections.length)
    podAnnotations[NETWORKS_ANNOTATION] = networksAnnotation(networks.selections);

  // Each object gets its own copy: callers may edit one object without changing the others.
  const meta = (objectName: string) => ({ name: objectName, namespace, labels: { ...labels } });
  const objects: KubeObject[] = [];
  if (options.createNamespace) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace, labels: { ...labels } },
    });
  }
  objects.push({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: meta(name),
    automountServiceAccountToken: false,
  });
  if (files) objects.push(files.configMap);
  objects.push(...networks.definitions);
  // A StatefulSet needs a governing (headless) Service for its pods' stable DNS names, ports or not.
  if (ports.length || kind === 'StatefulSet') {
    const service: ServiceObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(name),
      spec: {
        ...(kind === 'StatefulSet' ? { clusterIP: 'None' as const } : { type: 'ClusterIP' as const }),
        selector,
        ...(ports.length
          ? {
              ports: ports.map((port) => ({
                name: portName(port.container, port.protocol),
                port: port.container,
                targetPort: port.container,
                protocol: port.protocol === 'udp' ? ('UDP' as const) : ('TCP' as const),
              })),
            }
          : {}),
      },
    };
    objects.push(service);
  }
  if (kind !== 'DaemonSet' && replicas > 1) {
    objects.push({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(name),
      spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
    });
  }
  const workloadObject: WorkloadObject = {
    apiVersion: 'apps/v1',
    kind,
    metadata: { ...meta(name), annotations: { [LABEL.image]: options.image } },
    spec: {
      ...(kind !== 'DaemonSet' ? { replicas } : {}),
      selector: { matchLabels: selector },
      ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
      // A rolling update would start the new pod while the old one still holds the fixed address or MAC.
      ...(kind === 'Deployment' && networks.fixedAddresses
        ? { strategy: { type: 'Recreate' as const } }
        : {}),
      template: { metadata: { labels: { ...labels }, annotations: podAnnotations }, spec: podSpec },
    },
  };
  objects.push(workloadObject);
  return objects;
}

function pinnedImage(image: string, problems: Problems): RegistryReference | undefined {
  if (typeof image !== 'string' || image.startsWith('oci:')) {
    problems.add(`image '${image}': a cluster pulls from a registry; push the image and give its reference`);
    return undefined;
  }
  try {
    const ref = parseRegistryReference(image);
    if (!ref.digest) problems.add(`image '${image}' is not pinned by digest; give registry/repo@sha256:…`);
    return ref;
  } catch (error) {
    problems.add((error as Error).message);
    return undefined;
  }
}

function recommendedLabels(
  workload: Workload,
  image: RegistryReference | undefined,
  problems: Problems,
): Labels {
  const labels: Labels = {};
  for (const [key, value] of Object.entries(workload.labels ?? {})) {
    if (!LABEL_KEY.test(key) || !LABEL_VALUE.test(value) || value.length > 63) {
      problems.add(`labels['${key}']: '${value}' is not a Kubernetes label (≤ 63 of letters, digits, '-_.')`);
    } else labels[key] = value;
  }
  Object.assign(labels, {
    [NAME_LABEL]: workload.name,
    [INSTANCE_LABEL]: workload.name,
    'app.kubernetes.io/component': 'vnf',
    'app.kubernetes.io/managed-by': 'vnfpipe',
    [LABEL.workload]: workload.name,
    [LABEL.managed]: 'true',
  });
  if (image?.tag && LABEL_VALUE.test(image.tag) && image.tag.length <= 63 && image.tag !== 'latest') {
    labels['app.kubernetes.io/version'] = image.tag;
  }
  return labels;
}

function portName(port: number, protocol: 'tcp' | 'udp' | undefined): string {
  return `${protocol ?? 'tcp'}-${port}`;
}
