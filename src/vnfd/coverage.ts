/**
 * What an import used and what it could not. The mapper marks the YANG data nodes it turned into workload
 * fields; everything else in the VNFD is listed with a reason, so nothing is dropped silently.
 */
import { isObject, type Json, localName } from './document.js';

export interface UnmappedElement {
  /** YANG data path with list keys: `/etsi-nfv-vnfd:vnfd/vdu[id='fw']/monitoring-parameter[id='cpu']`. */
  path: string;
  reason: string;
}

/** Why a node has no workload equivalent, by node name; the fallback covers the rest. */
const REASONS: Record<string, string> = {
  'monitoring-parameter': 'no metric collection in the workload model',
  'monitoring-parameters': 'no metric collection in the workload model',
  'max-number-of-instances': 'no autoscaling: replicas is one fixed number',
  'local-affinity-or-anti-affinity-rule': 'placement rules are the target’s, not the workload’s',
  'affinity-or-anti-affinity-group': 'placement rules are the target’s, not the workload’s',
  'affinity-or-anti-affinity-group-id': 'placement rules are the target’s, not the workload’s',
  'nfvi-maintenance-info': 'no NFVI maintenance model',
  'lcm-operations-configuration': 'VNF lifecycle operations belong to a VNFM',
  'supported-operation': 'VNF lifecycle operations belong to a VNFM',
  'scaling-aspect': 'no scaling aspects: replicas is one fixed number',
  'security-group-rule': 'no firewall rules in the workload model',
  'security-group-rule-id': 'no firewall rules in the workload model',
  'virtual-storage-desc': 'no volumes in the workload model',
  'boot-data': 'no cloud-init: use command, env or files',
  'configurable-properties': 'no VNF configurable properties in the workload model',
  'modifiable-attributes': 'no VNF configurable properties in the workload model',
  'vnf-configurable-properties': 'no VNF configurable properties in the workload model',
  'bitrate-requirement': 'no bandwidth reservation in the workload model',
  'virtual-network-interface-requirement': 'no NIC requirements beyond the driver',
  'trunk-mode': 'no VLAN trunks in the workload model',
  'trunk-port': 'no VLAN trunks in the workload model',
  'vnfm-info': 'the workload has no VNFM',
  indicator: 'VNF indicators belong to a VNFM',
  'auto-scale': 'no autoscaling: replicas is one fixed number',
  'lifecycle-management-script': 'no lifecycle scripts in the workload model',
  'element-group': 'no element groups in the workload model',
  'vip-cpd': 'no virtual IPs in the workload model',
  'virtual-cpd': 'no virtual connection points in the workload model',
  'logical-node': 'no NUMA placement in the workload model',
  'request-additional-capability': 'no accelerator requests in the workload model',
  'nfvi-constraint': 'placement constraints are the target’s',
  'mcio-constraint-params': 'placement constraints are the target’s',
  'over-subscription-policy': 'the target’s overcommit policy applies',
  'oversubscription-policy': 'the target’s overcommit policy applies',
  'cpu-architecture': 'the image’s platform decides the architecture',
  clock: 'no CPU clock requirement in the workload model',
  'virtual-disk': 'no volumes in the workload model',
  'min-disk': 'a VM image attribute, not a container one',
  'min-ram': 'a VM image attribute, not a container one',
  'disk-format': 'a VM image attribute, not a container one',
  size: 'image size is the registry’s',
  'operating-system': 'the image decides its operating system',
  'supported-virtualization-environment': 'a VM image attribute, not a container one',
  'floating-ip-activated': 'no floating IPs in the workload model',
  'ip-address-type': 'the workload model has IPv4 addresses only',
  'number-of-ip-addresses': 'one address per interface in the workload model',
  'l2-address-data': 'SOL006 has no fixed MAC address: the target assigns one',
  qos: 'no QoS in the workload model',
  'test-access': 'no test access in the workload model',
  'externally-managed': 'no externally managed links in the workload model',
  dependencies: 'no start-order dependencies in the workload model',
  'mciop-profile': 'no MCIO packages in the workload model',
  'requested-cpu-resources': 'the workload model has a CPU limit, not a request',
  'requested-memory-resources': 'the workload model has a memory limit, not a request',
  'extended-resource-requests': 'no device-plugin requests in the workload model',
  'requested-ephemeral-storage-resources': 'no ephemeral storage quota in the workload model',
  'ephemeral-storage-resource-limit': 'no ephemeral storage quota in the workload model',
  'vdu-cpu-requirements': 'free-form CPU requirements have no workload equivalent',
  'compute-requirements': 'free-form compute requirements have no workload equivalent',
  'mcio-identification-data': 'the target names its objects after the workload',
  'max-bit-rate-requirements': 'no bandwidth limits in the workload model',
  'min-bit-rate-requirements': 'no bandwidth reservation in the workload model',
  'supported-vnf-interfaces': 'VNF interfaces belong to a VNFM',
  'localization-language': 'descriptive only',
  'default-localization-language': 'descriptive only',
  'product-info-name': 'descriptive only',
  'product-info-description': 'descriptive only',
  description: 'descriptive only',
  name: 'descriptive only',
};

export class Coverage {
  private readonly used = new Set<string>();
  private readonly reasons = new Map<string, string>();

  /** Marks a node (and everything under it) as mapped. */
  use(path: string): void {
    this.used.add(path);
  }

  /** Gives a node a specific reason (another flavour, another VDU, …) instead of the table's. */
  explain(path: string, reason: string): void {
    this.reasons.set(path, reason);
  }

  /** Every node under `root` that was neither used nor contains a used node, highest first. */
  unmapped(root: Json, rootPath: string): UnmappedElement[] {
    const out: UnmappedElement[] = [];
    const walk = (node: Json, path: string, name: string) => {
      if (this.used.has(path)) return;
      const explained = this.reasons.get(path);
      if (explained) {
        out.push({ path, reason: explained });
        return;
      }
      if (!this.usedBelow(path)) {
        out.push({ path, reason: REASONS[name] ?? 'no workload equivalent' });
        return;
      }
      if (Array.isArray(node)) {
        for (const [i, item] of node.entries()) walk(item, `${path}${listKey(item, i)}`, name);
      } else if (isObject(node)) {
        for (const [key, value] of Object.entries(node)) walk(value, `${path}/${key}`, localName(key));
      }
    };
    walk(root, rootPath, 'vnfd');
    return out;
  }

  private usedBelow(path: string): boolean {
    for (const used of this.used) {
      if (used.startsWith(`${path}/`) || used.startsWith(`${path}[`)) return true;
    }
    return false;
  }
}

/** `[id='x']` for a list entry: its key leaf when it has a usual one, else its position. */
export function listKey(item: Json, index: number): string {
  if (isObject(item)) {
    for (const key of ['id', 'key', 'name', 'vdu-id', 'associated-layer-protocol', 'type', 'hugepage-size']) {
      const value = item[key];
      if (typeof value === 'string' || typeof value === 'number') return `[${key}='${String(value)}']`;
    }
  } else if (typeof item === 'string' || typeof item === 'number') {
    return `[.='${String(item)}']`;
  }
  return `[${index + 1}]`;
}
