/**
 * Workload → SOL006 VNFD, in the RFC 7951 JSON encoding under `etsi-nfv-descriptors:nfv` (whose absolute
 * leafrefs, such as an int-cpd's virtual link, resolve only there). One workload becomes one VNFD with one
 * VDU and one deployment flavour; the mapping is the inverse of import, and workload fields a VNFD cannot
 * carry are returned in `unexported`.
 */
import type { NetworkAttachment, Workload } from '../deploy/model.js';
import { parseSize } from '../deploy/model.js';
import { pinnedImage } from '../deploy/step.js';
import type { ImageRef } from '../pipeline/kinds.js';
import { isOutputRef } from '../pipeline/output.js';
import type { JsonObject } from './document.js';
import { LABEL, VNFD_LABELS } from './labels.js';

const NFV = 'etsi-nfv-descriptors';

export interface UnexportedField {
  /** The workload and field: `vfw: security.capabilities`. */
  field: string;
  reason: string;
}

export interface VnfdExport {
  document: JsonObject;
  unexported: UnexportedField[];
}

/** A workload whose image may still be a step output (a pipeline's deploy step before it runs). */
export type ExportableWorkload = Omit<Workload, 'image'> & { image: unknown };

export function exportVnfd(workloads: readonly ExportableWorkload[]): VnfdExport {
  const unexported: UnexportedField[] = [];
  const ids = new Set<string>();
  const vnfds = workloads.map((w) => {
    const report: Report = (field, reason) => unexported.push({ field: `${w.name}: ${field}`, reason });
    const vnfd = exportOne(w, report);
    // VNFDs are a list keyed by id: two workloads of one VNFD (two flavours) need two ids.
    const id = String(vnfd.id);
    if (ids.has(id)) {
      const flavour = String((vnfd.df as JsonObject[])[0]!.id);
      let unique = `${id}-${flavour}`;
      for (let n = 2; ids.has(unique); n++) unique = `${id}-${flavour}-${n}`;
      report(
        'labels.org.etsi.nfv.vnfd.id',
        `VNFD id '${id}' is taken by an earlier workload: written as '${unique}'`,
      );
      vnfd.id = unique;
    }
    ids.add(String(vnfd.id));
    return vnfd;
  });
  return { document: { [`${NFV}:nfv`]: { vnfd: vnfds } }, unexported };
}

/*
 * SOL006 v4.3.1 makes some containers mandatory that a workload has nothing to say about; these neutral
 * values satisfy the schema (ETSI's own example VNFD does the same) and import reports them as unmapped.
 */
const NO_MAINTENANCE: JsonObject = { 'impact-notification-lead-time': 0 };
const NO_BIT_RATES: JsonObject = {
  'max-bit-rate-requirements': { root: 4294967295 },
  'min-bit-rate-requirements': { root: 0 },
};
const NO_SNAPSHOTS: JsonObject = {
  'create-snapshot-vnf-op-config': { parameter: [{ key: 'supported', value: 'false' }] },
  'revert-to-snapshot-vnf-op-config': { parameter: [{ key: 'supported', value: 'false' }] },
};

type Report = (field: string, reason: string) => void;

const NOT_IN_SOL006: Array<[keyof Workload, string]> = [
  ['command', 'SOL006 has no container entrypoint'],
  ['args', 'SOL006 has no container arguments'],
  ['env', 'SOL006 has no environment variables'],
  ['files', 'SOL006 has no configuration files (boot-data is cloud-init)'],
  ['security', 'SOL006 has no capabilities or security profiles'],
  ['sysctls', 'SOL006 has no sysctls'],
  ['health', 'SOL006 has no health command'],
  ['ports', 'SOL006 has no published host ports'],
  ['restart', 'SOL006 has no restart policy'],
  ['stopGracePeriod', 'SOL006 terminate timeouts belong to a VNFM operation, not to the VDU'],
];

function exportOne(w: ExportableWorkload, report: Report): JsonObject {
  const labels = w.labels ?? {};
  const vduId = labels[LABEL.vdu] ?? w.name;
  const flavour = labels[LABEL.flavour] ?? 'default';
  for (const [field, reason] of NOT_IN_SOL006) if (w[field] !== undefined) report(field, reason);
  for (const key of Object.keys(labels))
    if (!VNFD_LABELS.has(key)) report(`labels.${key}`, 'SOL006 has no labels');

  const image = imageDesc(w.image, report);
  const vdu: JsonObject = {
    id: vduId,
    name: w.name,
    'sw-image-desc': 'image',
    'mcio-identification-data': { name: w.name, type: 'Deployment' },
  };
  const compute = computeDesc(w, report);
  if (compute) vdu['virtual-compute-desc'] = `${w.name}-compute`;

  const links: JsonObject[] = [];
  const extCpds: JsonObject[] = [];
  const linkProfiles: JsonObject[] = [];
  const networks = w.networks ?? [];
  vdu['int-cpd'] = networks.map((net, order) => {
    const cpd: JsonObject = { id: net.role, order, 'layer-protocol': [`${NFV}:ethernet`] };
    const at = `networks[${order}]`;
    for (const field of ['driver', 'parent', 'mode', 'mac', 'internal', 'sriov'] as const) {
      if (net[field] !== undefined) report(`${at}.${field}`, `SOL006 has no interface ${field}`);
    }
    if (net.external) {
      extCpds.push({
        id: net.name ?? net.role,
        'int-cpd': { 'vdu-id': vduId, cpd: net.role },
        'layer-protocol': [`${NFV}:ethernet`],
      });
      if (net.subnet || net.gateway)
        report(`${at}.subnet`, 'an external network’s subnet belongs to its owner');
    } else {
      const id = net.name ?? `${w.name}-${net.role}`;
      cpd['int-virtual-link-desc'] = id;
      links.push({
        id,
        flavour: [{ id: 'default' }],
        'connectivity-type': { 'layer-protocol': [`${NFV}:ethernet`] },
        'nfvi-maintenance-info': NO_MAINTENANCE,
      });
      if (net.subnet || net.gateway) linkProfiles.push(linkProfile(id, net));
    }
    if (net.ip) cpd.protocol = [fixedAddress(net.ip)];
    return cpd;
  });
  if (extCpds.length === 0 && links.length > 0) {
    // A VNFD needs an external connection point: expose the management link.
    const first = String(links[0]!.id);
    extCpds.push({
      id: `${first}-ext`,
      'int-virtual-link-desc': first,
      'layer-protocol': [`${NFV}:ethernet`],
    });
  } else if (extCpds.length === 0) {
    report('networks', 'a VNFD needs an external connection point and the workload has no network');
  }

  const df: JsonObject = {
    id: flavour,
    'vdu-profile': [
      // A fixed count: the workload model has no autoscaling range.
      {
        id: vduId,
        'min-number-of-instances': w.replicas ?? 1,
        'max-number-of-instances': w.replicas ?? 1,
        'nfvi-maintenance-info': NO_MAINTENANCE,
      },
    ],
    'instantiation-level': [
      { id: 'default', 'vdu-level': [{ 'vdu-id': vduId, 'number-of-instances': w.replicas ?? 1 }] },
    ],
    'default-instantiation-level': 'default',
    'lcm-operations-configuration': NO_SNAPSHOTS,
  };
  if (linkProfiles.length) df['virtual-link-profile'] = linkProfiles;

  const vnfd: JsonObject = {
    id: labels[LABEL.id] ?? w.name,
    provider: labels[LABEL.provider] ?? 'unknown',
    'product-name': labels[LABEL.productName] ?? w.name,
    'software-version': labels[LABEL.softwareVersion] ?? String(image.version),
    version: labels[LABEL.version] ?? '1.0',
    'vnfm-info': ['vnfpipe'],
    vdu: [vdu],
    'sw-image-desc': [image],
    'ext-cpd': extCpds,
    df: [df],
  };
  if (compute) vnfd['virtual-compute-desc'] = [compute];
  if (links.length) vnfd['int-virtual-link-desc'] = links;
  return vnfd;
}

/** The image as a sw-image-desc; a digest-pinned reference carries its digest as the sha-256 checksum. */
function imageDesc(given: unknown, report: Report): JsonObject {
  const image = isImageRef(given) ? pinnedImage(given) : given;
  if (typeof image !== 'string') {
    const from = isOutputRef(image) ? String(image) : 'a step output';
    report('image', `the image is ${from}, known only when the pipeline runs: the checksum is a placeholder`);
    return {
      id: 'image',
      name: from,
      version: 'unknown',
      checksum: { algorithm: `${NFV}:sha-256`, hash: 'unknown' },
      'container-format': 'docker',
    };
  }
  const at = image.indexOf('@');
  const named = at < 0 ? image : image.slice(0, at);
  const digest = at < 0 ? undefined : image.slice(at + 1);
  const slash = named.lastIndexOf('/');
  const colon = named.lastIndexOf(':');
  const tag = colon > slash ? named.slice(colon + 1) : undefined;
  const repo = colon > slash ? named.slice(0, colon) : named;
  const hash = digest?.startsWith('sha256:')
    ? digest.slice(7)
    : image.startsWith('sha256:')
      ? image.slice(7)
      : undefined;
  if (!hash) report('image', 'the image is not pinned by digest: the checksum is a placeholder');
  return {
    id: 'image',
    name: repo,
    version: tag ?? 'digest',
    checksum: { algorithm: `${NFV}:sha-256`, hash: hash ?? 'unknown' },
    'container-format': 'docker',
    image,
  };
}

function computeDesc(w: ExportableWorkload, report: Report): JsonObject | undefined {
  const r = w.resources;
  if (!r) return undefined;
  const desc: JsonObject = { id: `${w.name}-compute` };
  const cpu: JsonObject = {};
  if (r.cpus !== undefined) {
    // num-virtual-cpu counts whole CPUs: a fraction is rounded up.
    cpu['num-virtual-cpu'] = Math.ceil(r.cpus);
    if (!Number.isInteger(r.cpus))
      report('resources.cpus', `${r.cpus} CPUs rounded up to ${Math.ceil(r.cpus)}`);
  }
  if (r.cpuset !== undefined) cpu.pinning = { policy: 'static', rule: [{ key: 'cpuset', value: r.cpuset }] };
  if (Object.keys(cpu).length) desc['virtual-cpu'] = cpu;
  const memory: JsonObject = {};
  if (r.memory !== undefined) {
    // GB with one decimal, read as GiB like import does; anything finer is rounded up.
    const bytes = parseSize(r.memory, 'resources.memory');
    const tenths = Math.ceil((bytes / 1024 ** 3) * 10 - 1e-9);
    if (Math.abs(tenths * 1024 ** 3 - bytes * 10) > 10) {
      report(
        'resources.memory',
        `${String(r.memory)} rounded up to ${tenths / 10} GB (SOL006 has one decimal)`,
      );
    }
    memory.size = (tenths / 10).toFixed(1);
  }
  if (r.hugepages) {
    memory['vdu-mem-requirements'] = [
      { key: 'hugepages-size', value: r.hugepages.size },
      { key: 'hugepages-pages', value: String(r.hugepages.pages) },
    ];
    if (r.hugepages.reserve !== undefined)
      report('resources.hugepages.reserve', 'SOL006 has no hugepage reservation');
    if (r.hugepages.mountPath !== undefined)
      report('resources.hugepages.mountPath', 'SOL006 has no mount paths');
  }
  if (Object.keys(memory).length) desc['virtual-memory'] = memory;
  if (r.memlock !== undefined) report('resources.memlock', 'SOL006 has no locked-memory limit');
  return Object.keys(desc).length > 1 ? desc : undefined;
}

function linkProfile(id: string, net: NetworkAttachment): JsonObject {
  const l3: JsonObject = { 'ip-version': 'ipv4' };
  if (net.subnet) l3.cidr = net.subnet;
  if (net.gateway) l3['gateway-ip'] = net.gateway;
  return {
    id,
    flavour: 'default',
    ...NO_BIT_RATES,
    'virtual-link-protocol-data': { 'associated-layer-protocol': `${NFV}:ipv4`, 'l3-protocol-data': l3 },
  };
}

function fixedAddress(ip: string): JsonObject {
  return {
    'associated-layer-protocol': `${NFV}:ipv4`,
    'address-data': [
      {
        type: `${NFV}:ip-address`,
        'l3-address-data': {
          'ip-address-assignment': false,
          'floating-ip-activated': false,
          'fixed-ip-address': ip,
        },
      },
    ],
  };
}

function isImageRef(value: unknown): value is ImageRef {
  const ref = value as ImageRef;
  return (
    typeof value === 'object' &&
    value !== null &&
    !isOutputRef(value) &&
    typeof ref.ref === 'string' &&
    typeof ref.digest === 'string'
  );
}
