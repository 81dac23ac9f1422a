/**
 * SOL006 VNFD → workload. One VDU of one deployment flavour becomes one workload: its software image, its
 * compute (VM-style virtual-compute-desc or v4 os-container-desc), its internal connection points as
 * networks in interface order, and the flavour's instance count as replicas. Whatever has no workload
 * equivalent is returned in `unmapped` with its YANG path.
 */
import type { Workload } from '../deploy/model.js';
import { validateWorkload } from '../deploy/model.js';
import { isVnfpipeError } from '../errors.js';
import { computeResources, containerResources } from './compute.js';
import { ImportContext, ids, list, num, safeName } from './context.js';
import type { UnmappedElement } from './coverage.js';
import {
  identity,
  isObject,
  type JsonObject,
  type LocatedVnfd,
  readVnfdFile,
  vnfdError,
} from './document.js';
import { LABEL } from './labels.js';
import { networks as vduNetworks } from './networks.js';

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

class Importer extends ImportContext {
  private readonly besides: UnmappedElement[];

  constructor(located: LocatedVnfd) {
    super(located);
    this.besides = located.besides;
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
    const resources = container ? containerResources(this, container) : computeResources(this, vdu, vduPath);
    if (Object.keys(resources).length) workload.resources = resources;
    const networks = vduNetworks(this, vdu, vduPath, df, dfPath, vduId);
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
}

function noVdu(where: string) {
  return vnfdError('the VNFD has no VDU', where, 'a VNFD needs at least one vdu to become a workload');
}
