import { describe, expect, it } from 'vitest';
import { renderKubernetes } from '../../../src/deploy/kubernetes/index.ts';
import type { Workload } from '../../../src/deploy/model.ts';
import { VnfpipeError } from '../../../src/errors.ts';
import { DIGEST, IMAGE } from './support.ts';

const base: Workload = { name: 'vfw', image: IMAGE };

function refusal(workload: Partial<Workload>, options: Record<string, unknown> = {}): VnfpipeError {
  try {
    renderKubernetes({ ...base, ...workload }, { namespace: 'vnf', image: IMAGE, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(VnfpipeError);
    return error as VnfpipeError;
  }
  throw new Error('rendered what Kubernetes cannot express');
}

describe('renderKubernetes refuses what Kubernetes cannot express, saying why', () => {
  it('reports bad input as PIPELINE_INVALID (exit 2) naming the workload', () => {
    const error = refusal({}, { image: 'registry.example/vnf/vfw:1.4.2' });
    expect(error.code).toBe('PIPELINE_INVALID');
    expect(error.exitCode).toBe(2);
    expect(error.where).toBe('workload vfw (kubernetes render)');
    expect(error.message).toMatch(/not pinned by digest/);
  });

  it('lists every problem at once', () => {
    const error = refusal(
      { restart: 'no', resources: { memlock: 'unlimited' } },
      { namespace: 'Bad_NS', image: 'oci:./layout' },
    );
    expect(error.message).toMatch(/namespace 'Bad_NS'/);
    expect(error.message).toMatch(/a cluster pulls from a registry/);
    expect(error.message).toMatch(/restart 'no'/);
    expect(error.message).toMatch(/memlock.*IPC_LOCK/);
  });

  it.each([
    [
      'a host driver data network',
      { networks: [{ role: 'mgmt' }, { role: 'data', driver: 'host' as const }] },
      // validateWorkload already refuses host beside other networks; the shared model's rule holds here.
      /'host' network excludes every other network/,
    ],
    [
      'an overlay data network',
      { networks: [{ role: 'mgmt' }, { role: 'data', driver: 'overlay' as const }] },
      /networks\[1\] \(data\): an overlay network is the pod network/,
    ],
    [
      'a macvlan management network',
      { networks: [{ role: 'mgmt', driver: 'macvlan' as const, parent: 'eth0' }] },
      /networks\[0\] \(mgmt, the management network\): the first network becomes the pod network/,
    ],
    [
      'no network at all',
      { networks: [{ role: 'mgmt', driver: 'none' as const }] },
      /a pod always has a network/,
    ],
    [
      'a static address on the pod network',
      { networks: [{ role: 'mgmt', subnet: '172.20.0.0/16', ip: '172.20.0.5' }] },
      /the cluster assigns pod network addresses; drop ip '172.20.0.5'/,
    ],
    [
      'a MAC on an ipvlan interface',
      {
        networks: [
          { role: 'mgmt' },
          { role: 'data', driver: 'ipvlan' as const, parent: 'eth1', mac: '02:00:00:00:00:01' },
        ],
      },
      /ipvlan interfaces share the parent's MAC/,
    ],
    [
      'an unknown macvlan mode',
      {
        networks: [
          { role: 'mgmt' },
          { role: 'data', driver: 'macvlan' as const, parent: 'eth1', mode: 'l2' },
        ],
      },
      /macvlan mode 'l2' is not one of bridge, private, vepa, passthru/,
    ],
    [
      'an SR-IOV network with a driver',
      {
        networks: [
          { role: 'mgmt' },
          { role: 'fh', driver: 'macvlan' as const, parent: 'eth1', sriov: { resourceName: 'intel.com/vf' } },
        ],
      },
      /SR-IOV network takes its function from the device plugin; drop driver macvlan/,
    ],
    [
      'a malformed SR-IOV resource name',
      { networks: [{ role: 'mgmt' }, { role: 'fh', sriov: { resourceName: 'sriov' } }] },
      /sriov.resourceName 'sriov' is not a device-plugin resource/,
    ],
    [
      'a cpuset and a different cpus',
      { resources: { cpus: 1, cpuset: '0-3', memory: '1Gi' } },
      /cpus 1 on cpuset '0-3' \(4 CPUs\)/,
    ],
    [
      'pinned CPUs without a memory limit',
      { resources: { cpuset: '2' } },
      /pinned CPUs need a Guaranteed pod/,
    ],
    [
      'hugepages without cpu or memory',
      { resources: { hugepages: { size: '2Mi' as const, pages: 8 } } },
      /admits hugepages only with a cpu or memory request/,
    ],
    ['memlock without IPC_LOCK', { resources: { memlock: '64Mi' } }, /no per-pod locked-memory limit/],
    ['a user name', { security: { user: 'vnf' } }, /numeric ids only/],
    [
      'an absolute seccomp profile path',
      { security: { seccompProfile: '/etc/docker/seccomp.json' } },
      /kubelet's seccomp directory/,
    ],
    [
      'noNewPrivileges with SYS_ADMIN',
      { security: { capabilities: ['SYS_ADMIN'], noNewPrivileges: true } },
      /noNewPrivileges cannot be combined with SYS_ADMIN/,
    ],
    ['a restart policy other than always', { restart: 'on-failure' as const }, /always restart/],
    ['a name Services cannot carry', { name: 'v_fw' }, /must be a DNS label/],
    ['a label value Kubernetes refuses', { labels: { owner: 'the vnf team' } }, /labels\['owner'\]/],
    [
      'net sysctls on the host network',
      { networks: [{ role: 'mgmt', driver: 'host' as const }], sysctls: { 'net.ipv4.ip_forward': '1' } },
      /sysctls net.ipv4.ip_forward: a pod on the host network cannot set net.\* sysctls/,
    ],
    [
      'files too large for a ConfigMap',
      { files: [{ path: '/opt/vfw/table.bin', content: 'x'.repeat(1024 * 1024 + 1) }] },
      /files: 1048577 bytes do not fit a ConfigMap/,
    ],
    [
      'a health interval that is no duration',
      { health: { command: ['true'], interval: 'often' } },
      /'often'/,
    ],
  ])('refuses %s', (_what, workload, message) => {
    expect(refusal(workload).message).toMatch(message);
  });

  it('refuses replicas on a DaemonSet', () => {
    expect(refusal({ replicas: 3 }, { kind: 'DaemonSet' }).message).toMatch(/one pod per node/);
  });

  it('accepts memlock when IPC_LOCK lifts the limit, and an image pinned by digest alone', () => {
    const objects = renderKubernetes(
      { ...base, resources: { memlock: 'unlimited' }, security: { capabilities: ['IPC_LOCK'] } },
      { namespace: 'vnf', image: `registry.example/vnf/vfw@${DIGEST}` },
    );
    expect(objects.at(-1)?.kind).toBe('Deployment');
  });
});
