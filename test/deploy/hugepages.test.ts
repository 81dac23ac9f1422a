/**
 * Hugepages on the real host: the test adds a few 2 MiB pages and takes them back afterwards. The workload
 * gets a hugetlbfs of its own (see interop.test.ts for its limit and isolation); the host needs no mount.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import type { Workload } from '../../src/deploy/model.js';
import { requireDocker } from '../support/docker.js';
import { busyboxInDocker, docker } from '../support/engine-images.js';

const NR = '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages';
const name = `vh-${process.pid.toString(36)}`;

describe('hugepages (2 MiB pages)', () => {
  let added = false;
  let target: DockerTarget;
  let workload: Workload;
  beforeAll(() => {
    requireDocker();
    writeFileSync(NR, String(Number(readFileSync(NR, 'utf8')) + 8));
    added = true;
    target = new DockerTarget(mkdtempSync(join(tmpdir(), 'vnfpipe-hp-')));
    workload = {
      name,
      image: busyboxInDocker(),
      command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
      resources: { hugepages: { size: '2Mi', pages: 4 }, memlock: '8Mi' },
      security: { capabilities: ['IPC_LOCK'] },
    };
  });
  afterAll(async () => {
    await target?.destroy(workload);
    // Other runs may change the count meanwhile: take back what this one added, not an old snapshot.
    if (added) writeFileSync(NR, String(Number(readFileSync(NR, 'utf8')) - 8));
  });

  it('mounts a hugetlbfs into the workload at /dev/hugepages, with no host mount needed', async () => {
    const release = await target.deploy(workload);
    const container = release.instances[0]!;
    expect(docker('exec', container, 'cat', '/proc/mounts')).toMatch(/^\S+ \/dev\/hugepages hugetlbfs /m);
    const limits = JSON.parse(docker('inspect', '--format', '{{json .HostConfig.Ulimits}}', container));
    expect(limits).toEqual([{ Name: 'memlock', Soft: 8 * 1024 * 1024, Hard: 8 * 1024 * 1024 }]);
  });

  it('refuses a workload that needs more free pages than the host has, saying how many', async () => {
    const greedy = {
      ...workload,
      name: `${name}-x`,
      resources: { hugepages: { size: '2Mi' as const, pages: 100_000 } },
    };
    await expect(target.deploy(greedy)).rejects.toThrow(/needs 100000 free 2Mi hugepages, the host has \d+/);
  });
});
