/**
 * Hugepages on the real host: the test reserves a few 2 MiB pages and mounts a hugetlbfs of its own, and puts
 * both back afterwards.
 */
import { execFileSync } from 'node:child_process';
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

describe('hugepages (2 MiB pages, hugetlbfs bind mount)', () => {
  let saved: string;
  let mountPoint: string;
  let target: DockerTarget;
  let workload: Workload;
  beforeAll(() => {
    requireDocker();
    saved = readFileSync(NR, 'utf8').trim();
    writeFileSync(NR, String(Number(saved) + 8));
    mountPoint = mkdtempSync(join(tmpdir(), 'vnfpipe-hugetlbfs-'));
    execFileSync('mount', ['-t', 'hugetlbfs', '-o', 'pagesize=2M', 'none', mountPoint]);
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
    execFileSync('umount', [mountPoint]);
    writeFileSync(NR, saved);
  });

  it('mounts the host hugetlbfs into the workload at /dev/hugepages', async () => {
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
