/**
 * SOL006 VNFD → workload. One VDU of one deployment flavour becomes one workload: its software image, its
 * compute (VM-style virtual-compute-desc or v4 os-container-desc), its internal connection points as
 * networks in interface order, and the flavour's instance count as replicas. Whatever has no workload
 * equivalent is returned in `unmapped` with its YANG path.
 */
import type { HugepagesSpec, NetworkAttachment, Workload } from '../deploy/model.js';
import { validateWorkload, WORKLOAD_NAME } from '../deploy/model.js';
import { isVnfpipeError } from '../errors.js';
import { Coverage, type UnmappedElement } from './coverage.js';
import {
  identity,
  isObject,
  type Json,
  type JsonObject,
  type LocatedVnfd,
  readVnfdFile,
  vnfdError,
} from './document.js';
import { LABEL } from './labels.js';

export interface VnfdImportOptions {
  /** Deployment flavour (`df` id). Default: the only one, else the first. */
  flavour?: string;
  /** VDU id. Default: the only VDU of the flavour. */
  vdu?: string;
  /** VNFD id, when the document holds a list of VNFDs. */
  vnfd?: string;
}

export interface VnfdImport {
  workload: Workload;
  flavour: string;
  vdu: string;
  unmapped: UnmappedElement[];
}

export function importVnfdFile(file: string, options: VnfdImportOptions = {}): VnfdImport {
  return importVnfd(readVnfdFile(file, options.vnfd), options);
}

export function importVnfd(located: LocatedVnfd, options: VnfdImportOptions = {}): VnfdImport {
  return new Importer(located).run(options);
}

function list(value: Json | undefined): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function num(value: Json | undefined): number | undefined {
  // RFC 7951 writes 64-bit integers and decimal64 as strings.
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
}

/** A VNFD id as a workload name or network role (lower case, no spaces). */
function safeName(id: string): string {
  const name = id
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63);
  return WORKLOAD_NAME.test(name) ? name : 'vnf';
}

const UNITS: Record<string, number> = {
  B: 1,
  kB: 1000,
  KiB: 1024,
  MB: 1e6,
  MiB: 1024 ** 2,
  GB: 1e9,
  GiB: 1024 ** 3,
  TB: 1e12,
  TiB: 1024 ** 4,
};

class Importer {
  private readonly cov = new Coverage();
  private readonly vnfd: JsonObject;
  private readonly root: string;
  private readonly file: string;
  private readonly besides: UnmappedElement[];

  constructor(located: LocatedVnfd) {
    this.vnfd = located.vnfd;
    this.root = located.path;
    this.file = located.file;
    this.besides = located.besides;
  }

  private where(path: string): string {
    return `${this.file} ${path}`;
  }

  private entry(listName: string, id: string, parent = this.root): string {
    return `${parent}/${listName}[id='${id}']`;
  }

  run(options: VnfdImportOptions): VnfdImport {
    const vdus = list(this.vnfd.vdu);
    if (vdus.length === 0) {
      throw noVdu(this.where(`${this.root}/vdu`));
    }
    const flavours = list(this.vnfd.df);
    if (flavours.length === 0) {
      throw vnfdError(
        'no deployment flavour (df)',
        this.where(`${this.root}/df`),
        'SOL006 needs at least one df',
      );
    }
    const df = options.flavour === undefined ? flavours[0]! : flavours.find((f) => f.id === options.flavour);
    if (!df) {
      throw vnfdError(
        `no deployment flavour '${options.flavour}'`,
        this.where(this.entry('df', String(options.flavour))),
        `flavours: ${flavours.map((f) => String(f.id)).join(', ')}`,
      );
    }
    const dfId = String(df.id);
    const dfPath = this.entry('df', dfId);
    this.cov.use(`${dfPath}/id`);
    for (const other of flavours) {
      if (other !== df) {
        this.cov.explain(
          this.entry('df', String(other.id)),
          `another deployment flavour (imported: '${dfId}')`,
        );
      }
    }

    const profiles = list(df['vdu-profile']);
    const vdu = this.pickVdu(vdus, profiles, dfPath, options.vdu);
    const vduId = String(vdu.id);
    const vduPath = this.entry('vdu', vduId);
    for (const other of vdus) {
      if (other !== vdu)
        this.cov.explain(this.entry('vdu', String(other.id)), `another VDU (imported: '${vduId}')`);
    }
    this.cov.use(`${vduPath}/id`);

    const workload: Workload = {
      name: safeName(vduId),
      image: '',
      replicas: this.replicas(df, dfPath, profiles, vduId),
      labels: this.labels(dfId, vduId),
    };
    const container = this.container(vdu, vduPath);
    workload.image = this.image(vdu, vduPath, container);
    const resources = container ? this.containerResources(container) : this.computeResources(vdu, vduPath);
    if (Object.keys(resources).length) workload.resources = resources;
    const networks = this.networks(vdu, vduPath, df, dfPath, vduId);
    if (networks.length) workload.networks = networks;

    try {
      validateWorkload(workload);
    } catch (error) {
      if (!isVnfpipeError(error)) throw error;
      throw vnfdError(`the imported workload is not valid: ${error.message}`, this.where(vduPath));
    }
    return {
      workload,
      flavour: dfId,
      vdu: vduId,
      unmapped: [...this.besides, ...this.cov.unmapped(this.vnfd, this.root)],
    };
  }

  private pickVdu(vdus: JsonObject[], profiles: JsonObject[], dfPath: string, wanted?: string): JsonObject {
    const inFlavour = vdus.filter((v) => profiles.some((p) => p.id === v.id));
    if (wanted !== undefined) {
      const vdu = vdus.find((v) => v.id === wanted);
      if (!vdu) {
        throw vnfdError(`no VDU '${wanted}'`, this.where(this.entry('vdu', wanted)), `VDUs: ${ids(vdus)}`);
      }
      if (!inFlavour.includes(vdu)) {
        throw vnfdError(
          `VDU '${wanted}' has no vdu-profile in this flavour`,
          this.where(`${dfPath}/vdu-profile`),
          `VDUs of the flavour: ${ids(inFlavour) || '(none)'}`,
        );
      }
      return vdu;
    }
    if (inFlavour.length !== 1) {
      throw vnfdError(
        inFlavour.length
          ? `${inFlavour.length} VDUs in the flavour: choose one`
          : 'the flavour has no vdu-profile',
        this.where(`${dfPath}/vdu-profile`),
        inFlavour.length ? `pass --vdu (${ids(inFlavour)})` : 'each deployable VDU needs a vdu-profile',
      );
    }
    return inFlavour[0]!;
  }

  /** The instance count of the flavour's default (or first) instantiation level, else the profile's minimum. */
  private replicas(df: JsonObject, dfPath: string, profiles: JsonObject[], vduId: string): number {
    const profile = profiles.find((p) => p.id === vduId)!;
    const profilePath = `${dfPath}/vdu-profile[id='${vduId}']`;
    this.cov.use(`${profilePath}/id`);
    const levels = list(df['instantiation-level']);
    const levelId = df['default-instantiation-level'];
    if (levelId !== undefined) this.cov.use(`${dfPath}/default-instantiation-level`);
    const level = levelId === undefined ? levels[0] : levels.find((l) => l.id === levelId);
    if (levelId !== undefined && !level) {
      throw vnfdError(
        `default-instantiation-level '${String(levelId)}' is not an instantiation-level of the flavour`,
        this.where(`${dfPath}/default-instantiation-level`),
      );
    }
    for (const other of levels) {
      if (other !== level) {
        this.cov.explain(
          this.entry('instantiation-level', String(other.id), dfPath),
          'another instantiation level: replicas come from the default one',
        );
      }
    }
    if (level) {
      const levelPath = this.entry('instantiation-level', String(level.id), dfPath);
      this.cov.use(`${levelPath}/id`);
      const vduLevel = list(level['vdu-level']).find((l) => l['vdu-id'] === vduId);
      const count = num(vduLevel?.['number-of-instances']);
      if (count !== undefined) {
        this.cov.use(`${levelPath}/vdu-level[vdu-id='${vduId}']`);
        this.cov.explain(
          `${profilePath}/min-number-of-instances`,
          'no autoscaling: replicas come from the instantiation level',
        );
        return count;
      }
    }
    const min = num(profile['min-number-of-instances']);
    if (min !== undefined) this.cov.use(`${profilePath}/min-number-of-instances`);
    return min ?? 1;
  }

  /** VNFD identity as labels: the workload says where it came from, and export can write it back. */
  private labels(dfId: string, vduId: string): Record<string, string> {
    const labels: Record<string, string> = { [LABEL.flavour]: dfId, [LABEL.vdu]: vduId };
    for (const [leaf, label] of [
      ['id', LABEL.id],
      ['provider', LABEL.provider],
      ['product-name', LABEL.productName],
      ['software-version', LABEL.softwareVersion],
      ['version', LABEL.version],
    ] as const) {
      const value = this.vnfd[leaf];
      if (typeof value === 'string') {
        labels[label] = value;
        this.cov.use(`${this.root}/${leaf}`);
      }
    }
    return labels;
  }

  /** The v4 container descriptor of a container VDU; one container per workload. */
  private container(vdu: JsonObject, vduPath: string): { desc: JsonObject; path: string } | undefined {
    const refs = Array.isArray(vdu['os-container-desc']) ? vdu['os-container-desc'] : [];
    if (refs.length === 0) return undefined;
    if (refs.length > 1) {
      throw vnfdError(
        `${refs.length} containers in the VDU: a workload runs one`,
        this.where(`${vduPath}/os-container-desc`),
        'split the VDU, one os-container-desc each',
      );
    }
    const id = String(refs[0]);
    const desc = list(this.vnfd['os-container-desc']).find((c) => c.id === id);
    if (!desc) {
      throw vnfdError(`os-container-desc '${id}' does not exist`, this.where(`${vduPath}/os-container-desc`));
    }
    this.cov.use(`${vduPath}/os-container-desc`);
    const path = this.entry('os-container-desc', id);
    this.cov.use(`${path}/id`);
    return { desc, path };
  }

  private image(vdu: JsonObject, vduPath: string, container?: { desc: JsonObject; path: string }): string {
    const owner = container ? container.desc : vdu;
    const refPath = `${container ? container.path : vduPath}/sw-image-desc`;
    const id = owner['sw-image-desc'];
    if (typeof id !== 'string') {
      throw vnfdError('no software image', this.where(refPath), 'reference a sw-image-desc');
    }
    const desc = list(this.vnfd['sw-image-desc']).find((s) => s.id === id);
    if (!desc) throw vnfdError(`sw-image-desc '${id}' does not exist`, this.where(refPath));
    this.cov.use(refPath);
    const path = this.entry('sw-image-desc', id);
    for (const leaf of ['id', 'name', 'version', 'image', 'checksum', 'container-format'])
      this.cov.use(`${path}/${leaf}`);
    const checksum = isObject(desc.checksum) ? desc.checksum : {};
    const digest =
      identity(checksum.algorithm) === 'sha-256' && typeof checksum.hash === 'string'
        ? checksum.hash
        : undefined;
    const image =
      typeof desc.image === 'string' ? desc.image : `${String(desc.name)}:${String(desc.version)}`;
    // A container image's sha-256 checksum is its manifest digest: pin the reference with it.
    const pinned = image.includes('@') || image.startsWith('sha256:');
    if (!pinned && digest && desc['container-format'] === 'docker') return `${image}@sha256:${digest}`;
    return image;
  }

  private computeResources(vdu: JsonObject, vduPath: string): NonNullable<Workload['resources']> {
    const id = vdu['virtual-compute-desc'];
    if (typeof id !== 'string') return {};
    const desc = list(this.vnfd['virtual-compute-desc']).find((c) => c.id === id);
    if (!desc) {
      throw vnfdError(
        `virtual-compute-desc '${id}' does not exist`,
        this.where(`${vduPath}/virtual-compute-desc`),
      );
    }
    this.cov.use(`${vduPath}/virtual-compute-desc`);
    const path = this.entry('virtual-compute-desc', id);
    this.cov.use(`${path}/id`);
    const resources: NonNullable<Workload['resources']> = {};
    const cpu = isObject(desc['virtual-cpu']) ? desc['virtual-cpu'] : {};
    const cpus = num(cpu['num-virtual-cpu']);
    if (cpus !== undefined) {
      resources.cpus = cpus;
      this.cov.use(`${path}/virtual-cpu/num-virtual-cpu`);
    }
    if (isObject(cpu.pinning)) {
      const pinPath = `${path}/virtual-cpu/pinning`;
      const rules = list(cpu.pinning.rule);
      const cpuset = rules.find((r) => r.key === 'cpuset');
      if (cpu.pinning.policy === 'static' && cpuset && typeof cpuset.value === 'string') {
        // IFA011 leaves the pinning rule free-form; vnfpipe reads and writes the CPU list as rule `cpuset`.
        resources.cpuset = cpuset.value;
        this.cov.use(`${pinPath}/policy`);
        this.cov.use(`${pinPath}/rule[key='cpuset']`);
      } else if (cpu.pinning.policy === 'static') {
        this.cov.explain(
          pinPath,
          "static pinning without a 'cpuset' rule: the workload cannot name the CPUs",
        );
      } else {
        this.cov.explain(pinPath, 'dynamic pinning: the target’s scheduler places the CPUs');
      }
    }
    const memory = isObject(desc['virtual-memory']) ? desc['virtual-memory'] : {};
    const size = num(memory.size);
    if (size !== undefined) {
      // SOL006 gives GB with one decimal; orchestrators read it as GiB, and so does vnfpipe.
      resources.memory = `${Math.round(size * 1024)}Mi`;
      this.cov.use(`${path}/virtual-memory/size`);
    }
    const hugepages = this.memRequirements(list(memory['vdu-mem-requirements']), `${path}/virtual-memory`);
    if (hugepages) resources.hugepages = hugepages;
    return resources;
  }

  /** Hugepages as vdu-mem-requirements `hugepages-size` (2Mi|1Gi) and `hugepages-pages`. */
  private memRequirements(reqs: JsonObject[], memPath: string): HugepagesSpec | undefined {
    const size = reqs.find((r) => r.key === 'hugepages-size')?.value;
    const pages = num(reqs.find((r) => r.key === 'hugepages-pages')?.value);
    if (size === undefined && pages === undefined) return undefined;
    const where = this.where(`${memPath}/vdu-mem-requirements`);
    if (size !== '2Mi' && size !== '1Gi')
      throw vnfdError(`hugepages-size '${String(size)}' is not 2Mi or 1Gi`, where);
    if (pages === undefined || !Number.isInteger(pages) || pages < 1) {
      throw vnfdError('hugepages-pages must be a whole number ≥ 1', where);
    }
    this.cov.use(`${memPath}/vdu-mem-requirements[key='hugepages-size']`);
    this.cov.use(`${memPath}/vdu-mem-requirements[key='hugepages-pages']`);
    return { size, pages };
  }

  /** os-container-desc: limits in milli-CPU and MB (IFA011's examples), hugepages in huge-page-resources. */
  private containerResources({
    desc,
    path,
  }: {
    desc: JsonObject;
    path: string;
  }): NonNullable<Workload['resources']> {
    const resources: NonNullable<Workload['resources']> = {};
    const milli = num(desc['cpu-resource-limit']) ?? num(desc['requested-cpu-resources']);
    if (milli !== undefined) {
      resources.cpus = milli / 1000;
      this.cov.use(
        `${path}/${desc['cpu-resource-limit'] !== undefined ? 'cpu-resource-limit' : 'requested-cpu-resources'}`,
      );
    }
    const mb = num(desc['memory-resource-limit']) ?? num(desc['requested-memory-resources']);
    if (mb !== undefined) {
      resources.memory = `${mb}M`;
      this.cov.use(
        `${path}/${desc['memory-resource-limit'] !== undefined ? 'memory-resource-limit' : 'requested-memory-resources'}`,
      );
    }
    const pages = list(desc['huge-page-resources']);
    if (pages.length > 1) {
      this.cov.explain(`${path}/huge-page-resources`, 'one hugepage size per workload');
    } else if (pages.length === 1) {
      const hp = pages[0]!;
      const unit = UNITS[String(hp['size-unit'] ?? 'B')] ?? 1;
      const pageBytes = (num(hp['hugepage-size']) ?? 0) * unit;
      const total = (num(hp['requested-size']) ?? 0) * unit;
      const size = pageBytes === 2 * 1024 ** 2 ? '2Mi' : pageBytes === 1024 ** 3 ? '1Gi' : undefined;
      if (!size || total < pageBytes) {
        throw vnfdError(
          'hugepages must be 2 MiB or 1 GiB pages, at least one',
          this.where(`${path}/huge-page-resources`),
        );
      }
      resources.hugepages = { size, pages: Math.ceil(total / pageBytes) };
      this.cov.use(`${path}/huge-page-resources`);
    }
    return resources;
  }

  /**
   * The VDU's internal CPDs in interface order (`order`, else as listed). A CPD on an internal virtual link
   * gets that link's subnet and gateway from the flavour's virtual-link-profile; a CPD exposed by an ext-cpd
   * joins an external network named after the ext-cpd.
   */
  private networks(
    vdu: JsonObject,
    vduPath: string,
    df: JsonObject,
    dfPath: string,
    vduId: string,
  ): NetworkAttachment[] {
    const links = list(this.vnfd['int-virtual-link-desc']);
    const cpds = list(vdu['int-cpd'])
      .map((cpd, position) => ({ cpd, position, order: num(cpd.order) }))
      .sort(
        (a, b) =>
          (a.order ?? Number.MAX_SAFE_INTEGER) - (b.order ?? Number.MAX_SAFE_INTEGER) ||
          a.position - b.position,
      );
    const exposed = new Map<string, string>();
    for (const ext of list(this.vnfd['ext-cpd'])) {
      const extPath = this.entry('ext-cpd', String(ext.id));
      const target = isObject(ext['int-cpd']) ? ext['int-cpd'] : undefined;
      if (!target) {
        if (typeof ext['int-virtual-link-desc'] === 'string') {
          this.cov.explain(extPath, 'exposes an internal virtual link: its network is the workload’s own');
        }
        continue;
      }
      const cpdId = String(target.cpd);
      if (target['vdu-id'] !== vduId) {
        if (!list(this.vnfd.vdu).some((v) => v.id === target['vdu-id'])) {
          throw vnfdError(
            `ext-cpd points at unknown VDU '${String(target['vdu-id'])}'`,
            this.where(`${extPath}/int-cpd/vdu-id`),
          );
        }
        continue;
      }
      if (!list(vdu['int-cpd']).some((c) => c.id === cpdId)) {
        throw vnfdError(
          `ext-cpd points at unknown int-cpd '${cpdId}' of VDU '${vduId}'`,
          this.where(`${extPath}/int-cpd/cpd`),
        );
      }
      const cpd = list(vdu['int-cpd']).find((c) => c.id === cpdId);
      if (typeof cpd?.['int-virtual-link-desc'] === 'string') {
        this.cov.explain(extPath, 'exposes a cpd on an internal virtual link: the link’s network is used');
        continue;
      }
      exposed.set(cpdId, String(ext.id));
      this.cov.use(`${extPath}/id`);
      this.cov.use(`${extPath}/int-cpd`);
      this.cov.use(`${extPath}/layer-protocol`);
    }
    const profiles = list(df['virtual-link-profile']);
    const roles = new Set<string>();
    return cpds.map(({ cpd, order }) => {
      const cpdId = String(cpd.id);
      const cpdPath = this.entry('int-cpd', cpdId, vduPath);
      this.cov.use(`${cpdPath}/id`);
      if (order !== undefined) this.cov.use(`${cpdPath}/order`);
      for (const leaf of ['layer-protocol', 'role']) this.cov.use(`${cpdPath}/${leaf}`);
      const role = safeName(cpdId);
      if (roles.has(role))
        throw vnfdError(`two int-cpds map to interface role '${role}'`, this.where(cpdPath));
      roles.add(role);
      const net: NetworkAttachment = { role };
      const vnic = identity(cpd['vnic-type']);
      if (vnic === 'normal' || vnic === 'virtio') this.cov.use(`${cpdPath}/vnic-type`);
      else if (vnic)
        this.cov.explain(
          `${cpdPath}/vnic-type`,
          `vnic-type '${vnic}' needs host devices the VNFD does not name`,
        );

      const linkId = cpd['int-virtual-link-desc'];
      const ext = exposed.get(cpdId);
      if (typeof linkId === 'string') {
        if (!links.some((l) => l.id === linkId)) {
          throw vnfdError(
            `int-cpd '${cpdId}' points at unknown int-virtual-link-desc '${linkId}'`,
            this.where(`${cpdPath}/int-virtual-link-desc`),
            `virtual links: ${ids(links) || '(none)'}`,
          );
        }
        this.cov.use(`${cpdPath}/int-virtual-link-desc`);
        const linkPath = this.entry('int-virtual-link-desc', linkId);
        this.cov.use(`${linkPath}/id`);
        this.cov.use(`${linkPath}/connectivity-type`);
        this.cov.use(`${linkPath}/flavour`);
        // The network keeps its default name (`<workload>-<position>-<role>`): engines that order interfaces
        // by network name then keep the int-cpd order. Name it in the pipeline to share it between VDUs.
        const profile = profiles.find((p) => p.id === linkId);
        if (profile) this.linkProfile(profile, `${dfPath}/virtual-link-profile[id='${linkId}']`, net);
      } else if (ext) {
        net.name = ext;
        net.external = true;
      }
      const ip = this.fixedIp(cpd, cpdPath);
      if (ip) net.ip = ip;
      return net;
    });
  }

  private linkProfile(profile: JsonObject, path: string, net: NetworkAttachment): void {
    this.cov.use(`${path}/id`);
    this.cov.use(`${path}/flavour`);
    const data = isObject(profile['virtual-link-protocol-data']) ? profile['virtual-link-protocol-data'] : {};
    const l3 = isObject(data['l3-protocol-data']) ? data['l3-protocol-data'] : undefined;
    if (!l3) return;
    const l3Path = `${path}/virtual-link-protocol-data/l3-protocol-data`;
    if (l3['ip-version'] !== undefined && l3['ip-version'] !== 'ipv4') {
      this.cov.explain(l3Path, 'the workload model has IPv4 subnets only');
      return;
    }
    this.cov.use(`${path}/virtual-link-protocol-data/associated-layer-protocol`);
    this.cov.use(`${l3Path}/ip-version`);
    if (typeof l3.cidr === 'string') {
      net.subnet = l3.cidr;
      this.cov.use(`${l3Path}/cidr`);
    }
    if (typeof l3['gateway-ip'] === 'string') {
      net.gateway = l3['gateway-ip'];
      this.cov.use(`${l3Path}/gateway-ip`);
    }
    if (l3['dhcp-enabled'] === false) this.cov.use(`${l3Path}/dhcp-enabled`);
  }

  private fixedIp(cpd: JsonObject, cpdPath: string): string | undefined {
    for (const protocol of list(cpd.protocol)) {
      const protoPath = `${cpdPath}/protocol[associated-layer-protocol='${String(protocol['associated-layer-protocol'])}']`;
      for (const address of list(protocol['address-data'])) {
        const l3 = address['l3-address-data'];
        if (!isObject(l3) || typeof l3['fixed-ip-address'] !== 'string') continue;
        const l3Path = `${protoPath}/address-data[type='${String(address.type)}']/l3-address-data`;
        this.cov.use(`${protoPath}/associated-layer-protocol`);
        this.cov.use(`${protoPath}/address-data[type='${String(address.type)}']/type`);
        this.cov.use(`${l3Path}/fixed-ip-address`);
        this.cov.use(`${l3Path}/ip-address-assignment`);
        if (l3['floating-ip-activated'] === false) this.cov.use(`${l3Path}/floating-ip-activated`);
        return l3['fixed-ip-address'];
      }
    }
    return undefined;
  }
}

function ids(items: JsonObject[]): string {
  return items.map((i) => String(i.id)).join(', ');
}

function noVdu(where: string) {
  return vnfdError('the VNFD has no VDU', where, 'a VNFD needs at least one vdu to become a workload');
}
