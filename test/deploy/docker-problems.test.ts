/** What the Docker target refuses before touching the engine (pure: no engine needed). */
import { describe, expect, it } from 'vitest';
import { dockerProblems } from '../../src/deploy/docker/spec.js';

describe('docker target refusals', () => {
  it('refuses an SR-IOV network instead of attaching a plain one', () => {
    const problems = dockerProblems({
      name: 'vnf',
      image: 'registry.test/vnf@sha256:' + 'd'.repeat(64),
      networks: [
        { role: 'mgmt' },
        { role: 'data', driver: 'macvlan', parent: 'eth1', sriov: { resourceName: 'intel.com/sriov' } },
      ],
    });
    expect(problems).toEqual([
      expect.stringMatching(/^networks\[1\]\.sriov: SR-IOV functions come from a Kubernetes device plugin/),
    ]);
  });
});
