/**
 * What a workload declares is what runs on the Docker engine, or the deploy is refused: the MAC of its first
 * network, its config files' mode and owner, a read-only root with config files, and hugepages limited to
 * the declared pages on a hugetlbfs of its own. Checked from inside the workload and with docker inspect.
 * The test adds hugepages to the host and takes the same number back afterwards.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import { LABEL } from '../../src/deploy/labels.js';
import type { Workload } from '../../src/deploy/model.js';
import { VnfpipeError } from '../../src/errors.js';
import { DOCKER, requireDocker } from '../support/docker.js';
import { busyboxInDocker, docker } from '../support/engine-images.js';
import { freeSubnets } from '../support/subnets.js';

const NR = '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages';
const ADDED_PAGES = 10;
const suffix = process.pid.toString(36);
const created: Workload[] = [];
const idle = ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'];

function workload(name: string, extra: Partial<Workload> = {}): Workload {
  const w: Workload = { name: `vi-${name}-${suffix}`, image: busyboxInDocker(), command: idle, ...extra };
  created.push(w);
  return w;
}

/** Runs a shell command in the container; returns its exit code and output. */
function sh(container: string, script: string): { code: number; out: string } {
  try {
    const out = execFileSync(DOCKER, ['exec', container, 'sh', '-c', script], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, out: out.trim() };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: `${e.stdout}${e.stderr}`.trim() };
  }
}

const volumesOf = (name: string) =>
  docker('volume', 'ls', '-q', '--filter', `label=${LABEL.workload}=${name}`).split('\n').filter(Boolean);

describe('docker target: what the workload declares is what runs', () => {
  let target: DockerTarget;
  let hugepagesAdded = false;
  beforeAll(() => {
    requireDocker();
    target = new DockerTarget(mkdtempSync(join(tmpdir(), 'vnfpipe-interop-')));
    // Enough free pages that a 6 MiB allocation can only fail on the workload's own limit.
    writeFileSync(NR, String(Number(readFileSync(NR, 'utf8')) + ADDED_PAGES));
    hugepagesAdded = true;
  });
  afterAll(async () => {
    for (const w of created) await target.destroy(w);
    // Other runs may change the count meanwhile: take back what this one added, not an old snapshot.
    if (hugepagesAdded) writeFileSync(NR, String(Number(readFileSync(NR, 'utf8')) - ADDED_PAGES));
  });

  it('runs the declared MAC, file owner and mode, read-only root and a 2-page hugetlbfs of its own', async () => {
    const [mgmt, data] = freeSubnets(2).map((s) => s.cidr);
    const vnf = workload('vnf', {
      networks: [
        { role: 'data', mac: '02:aa:bb:cc:dd:02', subnet: mgmt },
        { role: 'ctl', internal: true, subnet: data },
      ],
      files: [{ path: '/etc/vnf/vnf.conf', content: 'secret-ish\n', mode: 0o640 }],
      security: { user: '65534:65534', readOnlyRootFilesystem: true },
      resources: { hugepages: { size: '2Mi', pages: 2 } },
    });
    const release = await target.deploy(vnf);
    const container = release.instances[0]!;

    expect(sh(container, 'cat /sys/class/net/eth0/address').out).toBe('02:aa:bb:cc:dd:02');
    const networks = JSON.parse(
      docker('inspect', '--format', '{{json .NetworkSettings.Networks}}', container),
    );
    expect(networks[`${vnf.name}-0-data`].MacAddress).toBe('02:aa:bb:cc:dd:02');

    expect(sh(container, 'id -u; stat -c "%u:%g %a" /etc/vnf/vnf.conf; cat /etc/vnf/vnf.conf').out).toBe(
      '65534\n65534:65534 640\nsecret-ish',
    );

    expect(docker('inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', container)).toBe('true');
    const write = sh(container, 'touch /tmp/x');
    expect(write.code).not.toBe(0);
    expect(write.out).toMatch(/Read-only file system/);

    expect(sh(container, 'grep " /dev/hugepages " /proc/mounts').out).toMatch(
      /hugetlbfs .*uid=65534,gid=65534,mode=770,pagesize=2M,size=4194304/,
    );
    expect(sh(container, 'fallocate -l 4194304 /dev/hugepages/fits && echo ok').out).toBe('ok');
    const tooBig = sh(container, 'rm /dev/hugepages/fits; fallocate -l 6291456 /dev/hugepages/big');
    expect(tooBig.code).not.toBe(0);
    expect(tooBig.out).toMatch(/No space left on device/);
    // A failed fallocate may keep the pages it got: free them before the next allocation.
    expect(
      sh(container, 'rm -f /dev/hugepages/big; fallocate -l 2097152 /dev/hugepages/mine && echo ok').out,
    ).toBe('ok');

    const other = workload('other', { resources: { hugepages: { size: '2Mi', pages: 2 } } });
    const otherContainer = (await target.deploy(other)).instances[0]!;
    expect(sh(otherContainer, 'ls -A /dev/hugepages').out).toBe('');
    expect(sh(otherContainer, 'rm -f /dev/hugepages/mine; ls /dev/hugepages').code).toBe(0);
    expect(sh(container, 'ls /dev/hugepages').out).toBe('mine');
  });

  it('refuses a MAC on a later network before creating anything (the engine would generate one)', async () => {
    const [a, b] = freeSubnets(2).map((s) => s.cidr);
    const w = workload('mac2', {
      networks: [
        { role: 'mgmt', subnet: a },
        { role: 'data', subnet: b, mac: '02:aa:bb:cc:dd:03' },
      ],
    });
    const error = await target.deploy(w).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VnfpipeError);
    expect((error as VnfpipeError).exitCode).toBe(2);
    expect((error as VnfpipeError).message).toMatch(
      /networks\[1\]\.mac: the Docker engine \(API 1\.41\) sets a MAC address only on the first network/,
    );
    expect(docker('network', 'ls', '-q', '--filter', `name=${w.name}-`)).toBe('');
  });

  it('writes file modes exactly as declared whatever the umask of the deploying process', async () => {
    const old = process.umask(0o077);
    try {
      const w = workload('umask', {
        files: [
          { path: '/etc/vnf/plain.conf', content: 'a\n' },
          { path: '/etc/vnf/run.sh', content: '#!/bin/sh\necho ran\n', mode: 0o755 },
          { path: '/etc/vnf/key', content: 'k\n', mode: 0o600, owner: '1000:1001' },
        ],
      });
      const container = (await target.deploy(w)).instances[0]!;
      expect(
        sh(container, 'stat -c "%n %u:%g %a" /etc/vnf/plain.conf /etc/vnf/run.sh /etc/vnf/key').out,
      ).toBe('/etc/vnf/plain.conf 0:0 644\n/etc/vnf/run.sh 0:0 755\n/etc/vnf/key 1000:1001 600');
      expect(sh(container, 'stat -c "%a" /etc').out).toBe('755');
    } finally {
      process.umask(old);
    }
  });

  it('owns config files by a named non-root user, resolved from the image', async () => {
    const w = workload('named', {
      security: { user: 'nobody' },
      files: [{ path: '/etc/vnf/vnf.conf', content: 'x\n', mode: 0o640 }],
    });
    const container = (await target.deploy(w)).instances[0]!;
    expect(sh(container, 'stat -c "%u:%g %a" /etc/vnf/vnf.conf; cat /etc/vnf/vnf.conf').out).toBe(
      '65534:65534 640\nx',
    );
  });

  it("owns config files and the hugetlbfs by the image's own non-root user when the workload names none", async () => {
    const tag = `vnfpipe-test/busybox-nobody:${suffix}`;
    const base = docker('create', busyboxInDocker());
    try {
      docker('commit', '--change', 'USER nobody', base, tag);
    } finally {
      docker('rm', base);
    }
    try {
      const w = workload('imageuser', {
        image: tag,
        files: [{ path: '/etc/vnf/vnf.conf', content: 'x\n', mode: 0o600 }],
        resources: { hugepages: { size: '2Mi', pages: 1 } },
      });
      const container = (await target.deploy(w)).instances[0]!;
      expect(sh(container, 'stat -c "%u:%g %a" /etc/vnf/vnf.conf /dev/hugepages').out).toBe(
        '65534:65534 600\n65534:65534 770',
      );
      await target.destroy(w);
    } finally {
      docker('rmi', tag);
    }
  });

  it('delivers files under a read-only root on a volume that keeps the image files of that directory', async () => {
    const w = workload('ro', {
      security: { readOnlyRootFilesystem: true },
      files: [
        { path: '/etc/vnf.conf', content: 'top\n' },
        { path: '/etc/vnf/deeper.conf', content: 'deep\n' },
      ],
    });
    const container = (await target.deploy(w)).instances[0]!;
    expect(sh(container, 'cat /etc/vnf.conf /etc/vnf/deeper.conf; grep -c nobody /etc/passwd').out).toBe(
      'top\ndeep\n1',
    );
    expect(sh(container, 'touch /bin/x').out).toMatch(/Read-only file system/);
    expect(volumesOf(w.name)).toHaveLength(1);
    await target.destroy(w);
    expect(volumesOf(w.name)).toEqual([]);
  });

  it('refuses a config file in / with a read-only root, before creating anything', async () => {
    const w = workload('rootfile', {
      security: { readOnlyRootFilesystem: true },
      files: [{ path: '/vnf.conf', content: 'x\n' }],
    });
    const error = await target.deploy(w).catch((e: unknown) => e);
    expect((error as VnfpipeError).exitCode).toBe(2);
    expect((error as VnfpipeError).message).toMatch(/files\[0\]\.path \/vnf\.conf: with a read-only root/);
    expect(await target.history(w.name)).toEqual([]);
  });

  it('reserves the declared hugepages when asked, and drops its hugetlbfs with the workload', async () => {
    const w = workload('reserve', { resources: { hugepages: { size: '2Mi', pages: 2, reserve: true } } });
    const container = (await target.deploy(w)).instances[0]!;
    expect(sh(container, 'grep " /dev/hugepages " /proc/mounts').out).toMatch(
      /size=4194304,min_size=4194304/,
    );
    expect(volumesOf(w.name)).toHaveLength(1);

    // Free pages count the reserved ones: the free check passes, the reservation at start cannot.
    const free = Number(readFileSync(NR.replace('nr_hugepages', 'free_hugepages'), 'utf8'));
    const greedy = workload('greedy', {
      resources: { hugepages: { size: '2Mi', pages: free, reserve: true } },
    });
    const error = await target.deploy(greedy).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VnfpipeError);
    expect((error as VnfpipeError).message).toMatch(
      new RegExp(`the host cannot reserve ${free} 2Mi hugepages for the workload's hugetlbfs mount`),
    );
    expect((await target.history(greedy.name)).map((r) => [r.status, r.state])).toEqual([
      ['failed', 'removed'],
    ]);
    expect(volumesOf(greedy.name)).toEqual([]);

    await target.destroy(w);
    expect(volumesOf(w.name)).toEqual([]);
  });

  it('removes a rolled-back revision with its hugetlbfs', async () => {
    const w = workload('rollback', { resources: { hugepages: { size: '2Mi', pages: 1 } } });
    await target.promote(await target.deploy(w));
    await target.deploy({ ...w, env: { VERSION: '2' } });
    expect(volumesOf(w.name)).toHaveLength(2);
    expect((await target.rollback(w.name)).revision).toBe(1);
    expect(volumesOf(w.name)).toHaveLength(1);
  });
});
