/**
 * What a swarm service cannot carry is refused before the target touches the engine (no swarm is needed):
 * a service would otherwise run without the declared hugepages, MAC or files.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Workload } from '../../src/deploy/model.js';
import { SwarmTarget } from '../../src/deploy/swarm/target.js';
import { VnfpipeError } from '../../src/errors.js';

describe('swarm target refusals', () => {
  it('refuses hugepages, a MAC and config files with exit 2, naming each field', async () => {
    const target = new SwarmTarget(mkdtempSync(join(tmpdir(), 'vnfpipe-swarm-refuse-')));
    const workload: Workload = {
      name: 'vnf',
      image: 'registry.test/vnf@sha256:' + 'a'.repeat(64),
      networks: [{ role: 'mgmt', driver: 'overlay', mac: '02:00:00:00:00:01' }],
      files: [{ path: '/etc/vnf.conf', content: 'x' }],
      resources: { hugepages: { size: '2Mi', pages: 2 } },
    };
    const error = await target.deploy(workload).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VnfpipeError);
    expect((error as VnfpipeError).exitCode).toBe(2);
    const message = (error as VnfpipeError).message;
    expect(message).toMatch(/resources\.hugepages: a service task cannot be given a hugetlbfs/);
    expect(message).toMatch(/networks\[0\]\.mac: swarm services take no MAC address/);
    expect(message).toMatch(/files: the swarm target does not deliver config files yet/);
  });

  it('refuses what a service spec has no field for, instead of running without it', async () => {
    const target = new SwarmTarget(mkdtempSync(join(tmpdir(), 'vnfpipe-swarm-refuse-')));
    const workload: Workload = {
      name: 'vnf',
      image: 'registry.test/vnf@sha256:' + 'b'.repeat(64),
      networks: [
        { role: 'mgmt', driver: 'overlay', subnet: '10.250.0.0/24', ip: '10.250.0.5' },
        { role: 'data', driver: 'overlay', sriov: { resourceName: 'intel.com/sriov' } },
      ],
      ports: [{ container: 80, hostIp: '127.0.0.1' }],
      resources: { cpuset: '1', memlock: 'unlimited' },
      security: {
        capabilities: ['IPC_LOCK'],
        privileged: true,
        privilegedWaiver: 'test',
        seccompProfile: 'unconfined',
        apparmorProfile: 'unconfined',
        noNewPrivileges: true,
      },
    };
    const error = await target.deploy(workload).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VnfpipeError);
    const message = (error as VnfpipeError).message;
    for (const field of [
      'resources.cpuset',
      'resources.memlock',
      'security.privileged',
      'security.seccompProfile',
      'security.apparmorProfile',
      'security.noNewPrivileges',
      'networks[0].ip',
      'networks[1].sriov',
      'ports[0].hostIp',
    ]) {
      expect(message).toContain(`${field}: `);
    }
  });

  it('takes the declared health timing instead of fixed values', async () => {
    const { serviceSpec } = await import('../../src/deploy/swarm/target.js');
    const spec = serviceSpec(
      {
        name: 'vnf',
        image: 'registry.test/vnf@sha256:' + 'c'.repeat(64),
        health: { command: ['true'], interval: '500ms', timeout: '3s', startPeriod: '1m', retries: 5 },
      },
      1,
      'hash',
      {},
    );
    expect(spec.TaskTemplate.ContainerSpec.Healthcheck).toEqual({
      Test: ['CMD', 'true'],
      Interval: 500e6,
      Timeout: 3e9,
      Retries: 5,
      StartPeriod: 60e9,
    });
  });
});
