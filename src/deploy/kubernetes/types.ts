/**
 * The subset of Kubernetes API objects the renderer writes and the CNF checks read. Field names are the
 * API's; typing the literals against these catches a misspelt field at compile time, which the schema
 * validators (they accept unknown fields) would let through.
 */

export type Labels = Record<string, string>;

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Labels;
  annotations?: Labels;
}

/** Any object of the list the renderer returns; `kind` tells which of the shapes below it has. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export type Quantity = string;

export interface ResourceRequirements {
  requests?: Record<string, Quantity>;
  limits?: Record<string, Quantity>;
}

export interface Probe {
  exec: { command: string[] };
  periodSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
  initialDelaySeconds?: number;
}

export interface ProfileRef {
  type: 'RuntimeDefault' | 'Unconfined' | 'Localhost';
  localhostProfile?: string;
}

export interface SecurityContext {
  capabilities?: { add?: string[]; drop?: string[] };
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  seccompProfile?: ProfileRef;
  appArmorProfile?: ProfileRef;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  hostPort?: number;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  subPath?: string;
  readOnly?: boolean;
}

export interface Container {
  name: string;
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value: string }>;
  ports?: ContainerPort[];
  resources?: ResourceRequirements;
  securityContext?: SecurityContext;
  volumeMounts?: VolumeMount[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
}

export interface Volume {
  name: string;
  emptyDir?: { medium?: string };
  configMap?: { name: string; items?: Array<{ key: string; path: string; mode?: number }> };
  hostPath?: { path: string };
}

export interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  dnsPolicy?: 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';
  restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  terminationGracePeriodSeconds?: number;
  securityContext?: { sysctls?: Array<{ name: string; value: string }> };
  containers: Container[];
  volumes?: Volume[];
}

export interface PodTemplate {
  metadata: { labels: Labels; annotations?: Labels };
  spec: PodSpec;
}

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

export interface WorkloadObject extends KubeObject {
  apiVersion: 'apps/v1';
  kind: WorkloadKind;
  spec: {
    replicas?: number;
    selector: { matchLabels: Labels };
    serviceName?: string;
    strategy?: { type: 'Recreate' | 'RollingUpdate' };
    template: PodTemplate;
  };
}

export interface ServiceObject extends KubeObject {
  apiVersion: 'v1';
  kind: 'Service';
  spec: {
    type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
    clusterIP?: 'None';
    selector: Labels;
    ports?: Array<{
      name: string;
      port: number;
      targetPort: number;
      protocol: 'TCP' | 'UDP';
      nodePort?: number;
    }>;
  };
}

export interface ConfigMapObject extends KubeObject {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  immutable?: boolean;
  data: Record<string, string>;
}

/** A CNI plugin configuration, the JSON Multus reads from a NetworkAttachmentDefinition. */
export interface CniConfig {
  cniVersion: string;
  name: string;
  type: 'macvlan' | 'ipvlan' | 'bridge' | 'sriov';
  master?: string;
  mode?: string;
  bridge?: string;
  ipam: { type?: 'static' };
  /** Which runtime arguments (the pod annotation's `ips`, `mac`) the plugin takes. */
  capabilities?: { ips?: boolean; mac?: boolean };
}

/** The tuning plugin, chained after one that cannot set the interface's MAC itself. */
export interface TuningPlugin {
  type: 'tuning';
  capabilities: { mac: true };
}

/** A plugin chain (CNI's configuration list): each plugin in turn works on the same interface. */
export interface CniConfigList {
  cniVersion: string;
  name: string;
  plugins: Array<Omit<CniConfig, 'cniVersion' | 'name'> | TuningPlugin>;
}

export interface NetworkAttachmentDefinition extends KubeObject {
  apiVersion: 'k8s.cni.cncf.io/v1';
  kind: 'NetworkAttachmentDefinition';
  /** `config` is the CNI configuration as a JSON string (the CRD's schema). */
  spec: { config: string };
}

/** One entry of the pod annotation `k8s.v1.cni.cncf.io/networks` (Network Plumbing WG JSON form). */
export interface NetworkSelection {
  name: string;
  namespace: string;
  interface: string;
  ips?: string[];
  mac?: string;
}
