import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import { ReleaseStore } from '../../src/deploy/history.js';
import type { Workload } from '../../src/deploy/model.js';
import { requireDocker } from '../support/docker.js';
import { busyboxInDocker, docker } from '../support/engine-images.js';
import { freeSubnets, type Subnet } from '../support/subnets.js';

const suffix = process.pid.toString(36);
const created: Workload[] = [];

function workload(name: string, extra: Partial<Workload> = {}): Workload {
  const w: Workload = {
    name: `vt-${name}-${suffix}`,
    image: busyboxInDocker(),
    command: ['sh', '-c', 'echo up; trap "echo bye; exit 0" TERM; while true; do sleep 0.2; done'],
    ...extra,
  };
  created.push(w);
  return w;
}

describe('docker target (real engine)', () => {
  let stateDir: string;
  let target: DockerTarget;
  beforeAll(() => {
    requireDocker();
    stateDir = mkdtempSync(join(tmpdir(), 'vnfpipe-deploy-'));
    target = new DockerTarget(stateDir);
  });
  afterAll(async () => {
    for (const w of created) await target.destroy(w);
    try {
      execFileSync('ip', ['link', 'del', `vp${suffix}a`], { stdio: 'ignore' });
    } catch {
      // Not created (the test did not get that far).
    }
  });

  it('attaches every network before start, management as eth0 with the default route', async () => {
    const [mgmt, data] = freeSubnets(2) as [Subnet, Subnet];
    const w = workload('nets', {
      networks: [
        { role: 'mgmt', subnet: mgmt.cidr },
        { role: 'data', internal: true, subnet: data.cidr, ip: data.ip(10) },
      ],
      security: { capabilities: ['NET_ADMIN', 'NET_RAW'] },
      sysctls: { 'net.ipv4.ip_forward': '1' },
      resources: { cpuset: '0', memory: '64Mi', cpus: 0.5 },
      files: [{ path: '/etc/vfw/rules.conf', content: 'reply ping pong\n' }],
    });
    const release = await target.deploy(w);
    expect(release).toMatchObject({ target: 'docker', revision: 1, instances: [`${w.name}-r1`] });
    expect(release.networks).toEqual({ mgmt: `${w.name}-0-mgmt`, data: `${w.name}-1-data` });
    const container = release.instances[0]!;
    const addresses = docker('exec', container, 'ip', '-o', '-4', 'addr');
    expect(addresses).toMatch(new RegExp(`eth0\\s+inet ${mgmt.pattern}\\.\\d+/24`));
    expect(addresses).toMatch(new RegExp(`eth1\\s+inet ${data.pattern}\\.10/24`));
    expect(docker('exec', container, 'ip', 'route')).toMatch(
      new RegExp(`^default via ${mgmt.pattern}\\.1 dev eth0`, 'm'),
    );
    expect(docker('exec', container, 'cat', '/proc/sys/net/ipv4/ip_forward')).toBe('1');
    expect(docker('exec', container, 'cat', '/etc/vfw/rules.conf')).toBe('reply ping pong');
    const hostConfig = JSON.parse(docker('inspect', '--format', '{{json .HostConfig}}', container));
    expect(hostConfig).toMatchObject({ CpusetCpus: '0', Memory: 64 * 1024 * 1024, NanoCpus: 5e8 });
    expect(hostConfig.CapAdd).toEqual(['NET_ADMIN', 'NET_RAW']);
  });

  it('starts the new revision first, keeps the old one until promote, and rolls back to it', async () => {
    const w = workload('update');
    const r1 = await target.deploy(w);
    await target.promote(r1);
    const r2 = await target.deploy({ ...w, env: { VERSION: '2' } });
    expect(r2).toMatchObject({ revision: 2, previous: 1 });
    expect(docker('inspect', '--format', '{{.State.Running}}', `${w.name}-r1`)).toBe('true');
    expect(docker('inspect', '--format', '{{.State.Running}}', `${w.name}-r2`)).toBe('true');

    const back = await target.rollback(w.name);
    expect(back.revision).toBe(1);
    expect(docker('inspect', '--format', '{{.State.Running}}', `${w.name}-r1`)).toBe('true');
    expect(() => docker('inspect', `${w.name}-r2`)).toThrow();
    const history = await target.history(w.name);
    expect(history.map((r) => [r.revision, r.status])).toEqual([
      [1, 'deployed'],
      [2, 'rolled-back'],
    ]);

    const r3 = await target.deploy({ ...w, env: { VERSION: '3' } });
    await target.promote(r3);
    expect(docker('inspect', '--format', '{{.State.Running}}', `${w.name}-r1`)).toBe('false');
    expect((await target.history(w.name)).find((r) => r.revision === 3)?.status).toBe('verified');
  });

  it('fails a revision that exits at start, with its output, and keeps the old one serving', async () => {
    const w = workload('crash');
    await target.promote(await target.deploy(w));
    const broken = { ...w, command: ['sh', '-c', 'echo missing rules file >&2; exit 3'] };
    await expect(target.deploy(broken)).rejects.toThrow(/revision 2 exited with code 3 right after start/);
    const history = await target.history(w.name);
    expect(history[1]).toMatchObject({ status: 'failed', state: 'removed' });
    expect(docker('inspect', '--format', '{{.State.Running}}', `${w.name}-r1`)).toBe('true');
  });

  it('repairs what a killed run left: the pending revision and orphan containers go away', async () => {
    const w = workload('repair');
    await target.promote(await target.deploy(w));
    // What a run killed mid-deploy leaves: a pending revision and its container.
    const store = new ReleaseStore(stateDir, 'docker');
    const history = await store.read(w.name);
    const now = new Date().toISOString();
    history.revisions.push({
      revision: 2,
      image: w.image,
      specHash: 'x',
      status: 'pending',
      createdAt: now,
      updatedAt: now,
      workload: w,
    });
    await store.write(history);
    docker(
      'create',
      '--name',
      `${w.name}-r2`,
      '--label',
      `io.vnfpipe.workload=${w.name}`,
      '--label',
      'io.vnfpipe.revision=2',
      w.image,
      'true',
    );
    docker(
      'create',
      '--name',
      `${w.name}-stray`,
      '--label',
      `io.vnfpipe.workload=${w.name}`,
      '--label',
      'io.vnfpipe.revision=99',
      w.image,
      'true',
    );

    const r3 = await target.deploy({ ...w, env: { AFTER: 'repair' } });
    await target.promote(r3);
    const names = docker(
      'ps',
      '-a',
      '--filter',
      `label=io.vnfpipe.workload=${w.name}`,
      '--format',
      '{{.Names}}',
    )
      .split('\n')
      .sort();
    expect(names).toEqual([`${w.name}-r1`, `${w.name}-r3`]);
    expect(docker('ps', '--filter', `label=io.vnfpipe.workload=${w.name}`, '--format', '{{.Names}}')).toBe(
      `${w.name}-r3`,
    );
    expect((await target.history(w.name)).map((r) => r.status)).toEqual([
      'superseded',
      'abandoned',
      'verified',
    ]);
  });

  it('uses macvlan on a veth parent, and explains that this kernel has no ipvlan', async () => {
    const [macNet, ipvlanNet] = freeSubnets(2) as [Subnet, Subnet];
    execFileSync('ip', ['link', 'add', `vp${suffix}a`, 'type', 'veth', 'peer', 'name', `vp${suffix}b`]);
    execFileSync('ip', ['link', 'set', `vp${suffix}a`, 'up']);
    const mac = workload('macvlan', {
      networks: [
        { role: 'mgmt' },
        {
          role: 'data',
          driver: 'macvlan',
          parent: `vp${suffix}a`,
          subnet: macNet.cidr,
          ip: macNet.ip(5),
        },
      ],
    });
    const release = await target.deploy(mac);
    expect(docker('exec', release.instances[0]!, 'ip', '-o', '-4', 'addr')).toMatch(
      new RegExp(`eth1\\s+inet ${macNet.pattern}\\.5/24`),
    );

    const ipvlan = workload('ipvlan', {
      networks: [
        { role: 'mgmt' },
        { role: 'data', driver: 'ipvlan', parent: `vp${suffix}a`, subnet: ipvlanNet.cidr },
      ],
    });
    await expect(target.deploy(ipvlan)).rejects.toThrow(/host kernel does not support the ipvlan driver/);
  });

  it('refuses privileged without a waiver and declared orders the engine would change', async () => {
    await expect(target.deploy(workload('priv', { security: { privileged: true } }))).rejects.toThrow(
      /privileged is refused/,
    );
    await expect(
      target.deploy(
        workload('order', {
          networks: [
            { role: 'mgmt', name: 'zz-mgmt' },
            { role: 'data', name: 'aa-data' },
          ],
        }),
      ),
    ).rejects.toThrow(/the engine orders interfaces by network name/);
  });
});
