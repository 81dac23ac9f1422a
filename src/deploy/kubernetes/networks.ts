/**
 * The workload's networks on Kubernetes: the first (management) network is the pod network, or the host's
 * network; every further network is a Multus attachment with its own NetworkAttachmentDefinition.
 */
import { createHash } from 'node:crypto';
import { type NetworkAttachment, networkName, type Workload } from '../model.js';
import { isDnsSubdomain, type Problems } from './problems.js';
import type {
  CniConfig,
  CniConfigList,
  Labels,
  NetworkAttachmentDefinition,
  NetworkSelection,
} from './types.js';

export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';
export const RESOURCE_NAME_ANNOTATION = 'k8s.v1.cni.cncf.io/resourceName';
/** The CNI spec version of the definitions: the reference plugins take it from their v1.0. */
const CNI_VERSION = '1.0.0';

const MODES: Record<string, string[]> = {
  macvlan: ['bridge', 'private', 'vepa', 'passthru'],
  ipvlan: ['l2', 'l3', 'l3s'],
};
/** Device-plugin resource names are `vendor-domain/name`. */
const RESOURCE_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export interface NetworkPlan {
  hostNetwork: boolean;
  /** Objects to create, in order. External networks have none: they are referenced, not owned. */
  definitions: NetworkAttachmentDefinition[];
  /** The pod annotation's entries, in the declared order. */
  selections: NetworkSelection[];
  /** SR-IOV virtual functions the pod requests, per device-plugin resource. */
  deviceResources: Record<string, number>;
  /** True when a data interface has a fixed address or MAC, which two pods must never hold at once. */
  fixedAddresses: boolean;
}

export function planNetworks(
  workload: Workload,
  namespace: string,
  labels: Labels,
  problems: Problems,
): NetworkPlan {
  const plan: NetworkPlan = {
    hostNetwork: false,
    definitions: [],
    selections: [],
    deviceResources: {},
    fixedAddresses: false,
  };
  const [mgmt, ...data] = workload.networks ?? [];
  if (mgmt) plan.hostNetwork = planManagement(mgmt, problems);
  data.forEach((net, i) => {
    planAttachment(workload, net, i + 1, namespace, labels, plan, problems);
  });
  return plan;
}

/** Returns whether the pod uses the host's network. */
function planManagement(net: NetworkAttachment, problems: Problems): boolean {
  const at = `networks[0] (${net.role}, the management network)`;
  const driver = net.driver ?? 'bridge';
  if (net.sriov) problems.add(`${at}: the pod network cannot be an SR-IOV function; declare it after mgmt`);
  if (driver === 'host') return true;
  if (driver === 'none') {
    problems.add(`${at}: a pod always has a network; use driver bridge (the pod network) instead of none`);
  } else if (driver === 'macvlan' || driver === 'ipvlan') {
    problems.add(
      `${at}: the first network becomes the pod network, which the cluster's CNI provides; declare a bridge management network first and the ${driver} network after it`,
    );
  }
  // bridge and overlay both mean "the cluster network" here: the pod network plays that role.
  if (net.ip) problems.add(`${at}: the cluster assigns pod network addresses; drop ip '${net.ip}'`);
  if (net.mac) problems.add(`${at}: the cluster assigns the pod network's MAC; drop mac '${net.mac}'`);
  return false;
}

function planAttachment(
  workload: Workload,
  net: NetworkAttachment,
  index: number,
  namespace: string,
  labels: Labels,
  plan: NetworkPlan,
  problems: Problems,
): void {
  const at = `networks[${index}] (${net.role})`;
  const name = networkName(workload, net);
  if (!isDnsSubdomain(name)) {
    problems.add(
      `${at}: '${name}' is not a valid object name (lower-case letters, digits, '-', '.'); set the network's name`,
    );
  }
  const prefix = net.subnet ? Number(net.subnet.split('/')[1]) : undefined;
  // eth<position>, as on the docker target: the VNF's configuration names the same interfaces everywhere.
  const selection: NetworkSelection = { name, namespace, interface: `eth${index}` };
  if (net.ip) {
    if (prefix === undefined) problems.add(`${at}: a static ip needs the network's subnet for its prefix`);
    else selection.ips = [`${net.ip}/${prefix}`];
  }
  if (net.mac) selection.mac = net.mac.toLowerCase();
  if (net.ip || net.mac) plan.fixedAddresses = true;
  plan.selections.push(selection);
  if (net.sriov) {
    const resource = net.sriov.resourceName;
    if (!RESOURCE_NAME.test(resource ?? '')) {
      problems.add(
        `${at}: sriov.resourceName '${resource}' is not a device-plugin resource (vendor.com/name)`,
      );
    } else plan.deviceResources[resource] = (plan.deviceResources[resource] ?? 0) + 1;
  }
  if (net.external) return;
  const config = cniConfig(net, name, at, problems);
  if (!config) return;
  plan.definitions.push({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: {
      name,
      namespace,
      labels: { ...labels, 'io.vnfpipe.role': net.role },
      ...(net.sriov ? { annotations: { [RESOURCE_NAME_ANNOTATION]: net.sriov.resourceName } } : {}),
    },
    spec: { config: JSON.stringify(config) },
  });
}

function cniConfig(
  net: NetworkAttachment,
  name: string,
  at: string,
  problems: Problems,
): CniConfig | CniConfigList | undefined {
  const driver = net.driver ?? 'bridge';
  // Addresses come from the pod annotation (runtime `ips`/`mac`), so one definition serves every pod;
  // without an ip the interface is L2 only, as DPDK data planes that bring their own addressing want.
  const ipam: CniConfig['ipam'] = net.ip ? { type: 'static' } : {};
  /** `readsMac`: whether the plugin itself takes the runtime `mac` (macvlan, sriov) or needs tuning for it. */
  const config = (type: CniConfig['type'], fields: Partial<CniConfig> = {}, readsMac = true): CniConfig => {
    const mac = Boolean(net.mac) && readsMac;
    const capabilities = { ...(net.ip ? { ips: true } : {}), ...(mac ? { mac: true } : {}) };
    return {
      cniVersion: CNI_VERSION,
      name,
      type,
      ...fields,
      ipam,
      ...(net.ip || mac ? { capabilities } : {}),
    };
  };
  if (net.sriov) {
    if (driver !== 'bridge') {
      problems.add(
        `${at}: an SR-IOV network takes its function from the device plugin; drop driver ${driver}`,
      );
      return undefined;
    }
    return config('sriov');
  }
  switch (driver) {
    case 'macvlan':
    case 'ipvlan': {
      if (net.mode && !MODES[driver]!.includes(net.mode)) {
        problems.add(`${at}: ${driver} mode '${net.mode}' is not one of ${MODES[driver]!.join(', ')}`);
      }
      if (driver === 'ipvlan' && net.mac) {
        problems.add(`${at}: ipvlan interfaces share the parent's MAC; drop mac or use macvlan`);
      }
      return config(driver, { master: net.parent ?? '', ...(net.mode ? { mode: net.mode } : {}) });
    }
    case 'bridge': {
      // CNI's bridge plugin creates the bridge on each node; a derived name stays within IFNAMSIZ (15).
      const bridge = config('bridge', { bridge: net.parent ?? bridgeName(name) }, false);
      if (!net.mac) return bridge;
      // The bridge plugin ignores a runtime MAC; tuning, chained after it, sets it.
      const { cniVersion, name: _listName, ...plugin } = bridge;
      return { cniVersion, name, plugins: [plugin, { type: 'tuning', capabilities: { mac: true } }] };
    }
    case 'overlay':
      problems.add(
        `${at}: an overlay network is the pod network on Kubernetes and only the first (management) network can be that; attach data planes with macvlan, ipvlan or sriov`,
      );
      return undefined;
    default:
      problems.add(`${at}: a '${driver}' network can only be the management network`);
      return undefined;
  }
}

function bridgeName(network: string): string {
  return `vnfbr${createHash('sha256').update(network).digest('hex').slice(0, 10)}`;
}

/** The annotation value: the JSON form, which (unlike the short form) carries ips, mac and interface. */
export function networksAnnotation(selections: NetworkSelection[]): string {
  return JSON.stringify(selections);
}
