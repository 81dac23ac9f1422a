/** Host facts a VNF deploy depends on: hugepages and the hugetlbfs mount. */
import { readFile } from 'node:fs/promises';
import { VnfpipeError } from '../../errors.js';
import type { HugepagesSpec } from '../model.js';

const SIZE_KB = { '2Mi': 2048, '1Gi': 1048576 } as const;

/** Checks that the host has the free hugepages the workload needs and returns the hugetlbfs mount to bind. */
export async function hugepagesMount(spec: HugepagesSpec): Promise<string> {
  const kb = SIZE_KB[spec.size];
  const dir = `/sys/kernel/mm/hugepages/hugepages-${kb}kB`;
  const free = Number(await readFile(`${dir}/free_hugepages`, 'utf8').catch(() => 'NaN'));
  if (!Number.isFinite(free)) {
    throw new VnfpipeError('STEP_FAILED', `this host has no ${spec.size} hugepages support`, { where: dir });
  }
  if (free < spec.pages) {
    throw new VnfpipeError(
      'STEP_FAILED',
      `the workload needs ${spec.pages} free ${spec.size} hugepages, the host has ${free}`,
      {
        where: `${dir}/free_hugepages`,
        hint: `reserve them on the host: echo <total> > ${dir}/nr_hugepages`,
      },
    );
  }
  const mounts = await readFile('/proc/mounts', 'utf8');
  for (const line of mounts.split('\n')) {
    const [, mountPoint, type, options = ''] = line.split(' ');
    if (type !== 'hugetlbfs' || !mountPoint) continue;
    const pagesize = /pagesize=(\d+)([KMG])/.exec(options);
    const sizeKb = pagesize
      ? Number(pagesize[1]) * { K: 1, M: 1024, G: 1048576 }[pagesize[2] as 'K' | 'M' | 'G']
      : 2048;
    if (sizeKb === kb) return mountPoint;
  }
  throw new VnfpipeError('STEP_FAILED', `no hugetlbfs mount with ${spec.size} pages on this host`, {
    where: '/proc/mounts',
    hint: `mount one: mkdir -p /dev/hugepages && mount -t hugetlbfs -o pagesize=${spec.size.replace('i', '')} none /dev/hugepages`,
  });
}
