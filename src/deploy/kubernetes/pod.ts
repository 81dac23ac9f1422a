/** The pod template: one container running the VNF, with the networks, resources and files planned for it. */
import { LABEL } from '../labels.js';
import type { PortSpec, Workload } from '../model.js';
import type { FilesPlan } from './files.js';
import { NETWORKS_ANNOTATION, type NetworkPlan, networksAnnotation } from './networks.js';
import type { ProbePlan } from './probes.js';
import type { ResourcePlan } from './resources.js';
import type { Container, ContainerPort, Labels, PodTemplate, SecurityContext } from './types.js';

export interface PodParts {
  image: string;
  labels: Labels;
  networks: NetworkPlan;
  resources: ResourcePlan;
  files: FilesPlan | undefined;
  probes: ProbePlan | undefined;
  security: SecurityContext;
}

export function portName(port: PortSpec): string {
  return `${port.protocol ?? 'tcp'}-${port.container}`;
}

export function portProtocol(port: PortSpec): 'TCP' | 'UDP' {
  return port.protocol === 'udp' ? 'UDP' : 'TCP';
}

export function podTemplate(workload: Workload, parts: PodParts): PodTemplate {
  const { networks, resources, files } = parts;
  const volumes = [...resources.volumes, ...(files ? [files.volume] : [])];
  const mounts = [...resources.mounts, ...(files?.mounts ?? [])];
  // No hostPort: the management plane is reached through the Service, never published on nodes.
  const ports: ContainerPort[] = (workload.ports ?? []).map((port) => ({
    name: portName(port),
    containerPort: port.container,
    protocol: portProtocol(port),
  }));
  const container: Container = {
    name: workload.name,
    image: parts.image,
    imagePullPolicy: 'IfNotPresent',
    ...(workload.command ? { command: workload.command } : {}),
    ...(workload.args ? { args: workload.args } : {}),
    ...(workload.env ? { env: Object.entries(workload.env).map(([name, value]) => ({ name, value })) } : {}),
    ...(ports.length ? { ports } : {}),
    ...(Object.keys(resources.resources).length ? { resources: resources.resources } : {}),
    securityContext: parts.security,
    ...(mounts.length ? { volumeMounts: mounts } : {}),
    ...parts.probes,
  };
  const sysctls = Object.entries(workload.sysctls ?? {}).map(([name, value]) => ({ name, value }));
  const annotations: Labels = { [LABEL.image]: parts.image };
  if (networks.selections.length) annotations[NETWORKS_ANNOTATION] = networksAnnotation(networks.selections);
  return {
    metadata: { labels: { ...parts.labels }, annotations },
    spec: {
      serviceAccountName: workload.name,
      // A VNF does not talk to the Kubernetes API; no token in the pod.
      automountServiceAccountToken: false,
      ...(networks.hostNetwork ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' as const } : {}),
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: workload.stopGracePeriod ?? 10,
      ...(sysctls.length ? { securityContext: { sysctls } } : {}),
      containers: [container],
      ...(volumes.length ? { volumes } : {}),
    },
  };
}
