/**
 * A VDU's compute as workload resources: the VM-style virtual-compute-desc (vCPUs, memory in GB, CPU pinning,
 * hugepages as memory requirements) or the v4 os-container-desc of a container VDU.
 */
import type { HugepagesSpec, Workload } from '../deploy/model.js';
import { type ImportContext, list, num } from './context.js';
import { isObject, type JsonObject, vnfdError } from './document.js';

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

export function computeResources(
  ctx: ImportContext,
  vdu: JsonObject,
  vduPath: string,
): NonNullable<Workload['resources']> {
  const id = vdu['virtual-compute-desc'];
  if (typeof id !== 'string') return {};
  const desc = list(ctx.vnfd['virtual-compute-desc']).find((c) => c.id === id);
  if (!desc) {
    throw vnfdError(
      `virtual-compute-desc '${id}' does not exist`,
      ctx.where(`${vduPath}/virtual-compute-desc`),
    );
  }
  ctx.cov.use(`${vduPath}/virtual-compute-desc`);
  const path = ctx.entry('virtual-compute-desc', id);
  ctx.cov.use(`${path}/id`);
  const resources: NonNullable<Workload['resources']> = {};
  const cpu = isObject(desc['virtual-cpu']) ? desc['virtual-cpu'] : {};
  const cpus = num(cpu['num-virtual-cpu']);
  if (cpus !== undefined) {
    resources.cpus = cpus;
    ctx.cov.use(`${path}/virtual-cpu/num-virtual-cpu`);
  }
  if (isObject(cpu.pinning)) {
    const pinPath = `${path}/virtual-cpu/pinning`;
    const rules = list(cpu.pinning.rule);
    const cpuset = rules.find((r) => r.key === 'cpuset');
    if (cpu.pinning.policy === 'static' && cpuset && typeof cpuset.value === 'string') {
      // IFA011 leaves the pinning rule free-form; vnfpipe reads and writes the CPU list as rule `cpuset`.
      resources.cpuset = cpuset.value;
      ctx.cov.use(`${pinPath}/policy`);
      ctx.cov.use(`${pinPath}/rule[key='cpuset']`);
    } else if (cpu.pinning.policy === 'static') {
      ctx.cov.explain(pinPath, "static pinning without a 'cpuset' rule: the workload cannot name the CPUs");
    } else {
      ctx.cov.explain(pinPath, 'dynamic pinning: the target’s scheduler places the CPUs');
    }
  }
  const memory = isObject(desc['virtual-memory']) ? desc['virtual-memory'] : {};
  const size = num(memory.size);
  if (size !== undefined) {
    // SOL006 gives GB with one decimal; orchestrators read it as GiB, and so does vnfpipe.
    resources.memory = `${Math.round(size * 1024)}Mi`;
    ctx.cov.use(`${path}/virtual-memory/size`);
  }
  const hugepages = memRequirements(ctx, list(memory['vdu-mem-requirements']), `${path}/virtual-memory`);
  if (hugepages) resources.hugepages = hugepages;
  return resources;
}

/** Hugepages as vdu-mem-requirements `hugepages-size` (2Mi|1Gi) and `hugepages-pages`. */
function memRequirements(ctx: ImportContext, reqs: JsonObject[], memPath: string): HugepagesSpec | undefined {
  const size = reqs.find((r) => r.key === 'hugepages-size')?.value;
  const pages = num(reqs.find((r) => r.key === 'hugepages-pages')?.value);
  if (size === undefined && pages === undefined) return undefined;
  const where = ctx.where(`${memPath}/vdu-mem-requirements`);
  if (size !== '2Mi' && size !== '1Gi')
    throw vnfdError(`hugepages-size '${String(size)}' is not 2Mi or 1Gi`, where);
  if (pages === undefined || !Number.isInteger(pages) || pages < 1) {
    throw vnfdError('hugepages-pages must be a whole number ≥ 1', where);
  }
  ctx.cov.use(`${memPath}/vdu-mem-requirements[key='hugepages-size']`);
  ctx.cov.use(`${memPath}/vdu-mem-requirements[key='hugepages-pages']`);
  return { size, pages };
}

/** os-container-desc: limits in milli-CPU and MB (IFA011's examples), hugepages in huge-page-resources. */
export function containerResources(
  ctx: ImportContext,
  {
    desc,
    path,
  }: {
    desc: JsonObject;
    path: string;
  },
): NonNullable<Workload['resources']> {
  const resources: NonNullable<Workload['resources']> = {};
  const milli = num(desc['cpu-resource-limit']) ?? num(desc['requested-cpu-resources']);
  if (milli !== undefined) {
    resources.cpus = milli / 1000;
    ctx.cov.use(
      `${path}/${desc['cpu-resource-limit'] !== undefined ? 'cpu-resource-limit' : 'requested-cpu-resources'}`,
    );
  }
  const mb = num(desc['memory-resource-limit']) ?? num(desc['requested-memory-resources']);
  if (mb !== undefined) {
    resources.memory = `${mb}M`;
    ctx.cov.use(
      `${path}/${desc['memory-resource-limit'] !== undefined ? 'memory-resource-limit' : 'requested-memory-resources'}`,
    );
  }
  const pages = list(desc['huge-page-resources']);
  if (pages.length > 1) {
    ctx.cov.explain(`${path}/huge-page-resources`, 'one hugepage size per workload');
  } else if (pages.length === 1) {
    const hp = pages[0]!;
    const unit = UNITS[String(hp['size-unit'] ?? 'B')] ?? 1;
    const pageBytes = (num(hp['hugepage-size']) ?? 0) * unit;
    const total = (num(hp['requested-size']) ?? 0) * unit;
    const size = pageBytes === 2 * 1024 ** 2 ? '2Mi' : pageBytes === 1024 ** 3 ? '1Gi' : undefined;
    if (!size || total < pageBytes) {
      throw vnfdError(
        'hugepages must be 2 MiB or 1 GiB pages, at least one',
        ctx.where(`${path}/huge-page-resources`),
      );
    }
    resources.hugepages = { size, pages: Math.ceil(total / pageBytes) };
    ctx.cov.use(`${path}/huge-page-resources`);
  }
  return resources;
}
