/**
 * Renders a VNF workload as Kubernetes objects, in the order they can be applied. Pure: no cluster, no
 * I/O; what Kubernetes cannot express is refused with the reason, all reasons in one error.
 */
import { parseRegistryReference, type RegistryReference } from '../../oci/reference.js';
import { LABEL } from '../labels.js';
import { validateWorkload, type Workload } from '../model.js';
import { planFiles } from './files.js';
import { selectorLabels, workloadLabels } from './labels.js';
import { planNetworks } from './networks.js';
import { podTemplate, portName, portProtocol } from './pod.js';
import { planProbes } from './probes.js';
import { isDnsLabel, Problems } from './problems.js';
import { planResources } from './resources.js';
import { securityContext } from './security.js';
import type { KubeObject, ServiceObject, WorkloadKind, WorkloadObject } from './types.js';

export interface KubernetesRenderOptions {
  namespace: string;
  /** The image to run, pinned by digest (`registry/repo[:tag]@sha256:…`): what was scanned is what runs. */
  image: string;
  /** Default Deployment. */
  kind?: WorkloadKind;
  /** Also render the Namespace object (first in the list). Default false: namespaces are often owned by admins. */
  createNamespace?: boolean;
}

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
  const labels = workloadLabels(workload, image, problems);
  const networks = planNetworks(workload, namespace, labels, problems);
  // The host's network namespace is not the pod's to tune; the API server rejects net.* sysctls with it.
  const hostSysctls = Object.keys(workload.sysctls ?? {}).filter((key) => key.startsWith('net.'));
  if (networks.hostNetwork && hostSysctls.length) {
    problems.add(
      `sysctls ${hostSysctls.join(', ')}: a pod on the host network cannot set net.* sysctls; set them on the nodes`,
    );
  }
  const resources = planResources(workload, networks.deviceResources, problems);
  const files = planFiles(name, namespace, workload.files ?? [], labels, problems);
  const probes = workload.health ? planProbes(workload.health, problems) : undefined;
  const security = securityContext(workload.security ?? {}, problems);
  problems.throwIfAny(name);

  const selector = selectorLabels(workload);
  const template = podTemplate(workload, {
    image: options.image,
    labels,
    networks,
    resources,
    files,
    probes,
    security,
  });
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
  const ports = workload.ports ?? [];
  // A StatefulSet needs a governing (headless) Service for its pods' stable DNS names, ports or not.
  if (ports.length || kind === 'StatefulSet') {
    const service: ServiceObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(name),
      spec: {
        ...(kind === 'StatefulSet' ? { clusterIP: 'None' as const } : { type: 'ClusterIP' as const }),
        selector: { ...selector },
        ...(ports.length
          ? {
              ports: ports.map((port) => ({
                name: portName(port),
                port: port.container,
                targetPort: port.container,
                protocol: portProtocol(port),
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
      spec: { maxUnavailable: 1, selector: { matchLabels: { ...selector } } },
    });
  }
  const workloadObject: WorkloadObject = {
    apiVersion: 'apps/v1',
    kind,
    metadata: { ...meta(name), annotations: { [LABEL.image]: options.image } },
    spec: {
      ...(kind !== 'DaemonSet' ? { replicas } : {}),
      selector: { matchLabels: { ...selector } },
      ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
      // A rolling update would start the new pod while the old one still holds the fixed address or MAC.
      ...(kind === 'Deployment' && networks.fixedAddresses
        ? { strategy: { type: 'Recreate' as const } }
        : {}),
      template,
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
