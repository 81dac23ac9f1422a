/** Host facts a VNF deploy depends on: free hugepages. */
import { readFile } from 'node:fs/promises';
import { VnfpipeError } from '../../errors.js';
import type { HugepagesSpec } from '../model.js';

const SIZE_KB = { '2Mi': 2048, '1Gi': 1048576 } as const;

/**
 * Checks that the host has the free hugepages the workload needs. The workload's own hugetlbfs mount (see
 * `hugepagesMount` in spec.ts) then limits it to them.
 */
export async function checkFreeHugepages(spec: HugepagesSpec): Promise<void> {
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
}
