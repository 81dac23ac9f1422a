import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Workload } from '../../src/deploy/model.js';
import { SwarmTarget } from '../../src/deploy/swarm/target.js';
import { requireDocker } from '../support/docker.js';
import { busyboxInDocker, docker } from '../support/engine-images.js';

const name = `vs-${process.pid.toString(36)}`;

describe('swarm target (real single-node swarm)', () => {
  let target: SwarmTarget;
  let initialised = false;
  let base: Workload;
  beforeAll(() => {
    requireDocker();
    if (docker('info', '--format', '{{.Swarm.LocalNodeState}}') !== 'active') {
      docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
      initialised = true;
    }
    target = new SwarmTarget(mkdtempSync(join(tmpdir(), 'vnfpipe-swarm-')));
    base = {
      name,
      image: busyboxInDocker(),
      replicas: 2,
      command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
      networks: [{ role: 'mgmt', driver: 'overlay', subnet: '10.233.1.0/24' }],
    };
  });
  afterAll(async () => {
    try {
      await target?.remove(base);
    } finally {
      if (initialised) docker('swarm', 'leave', '--force');
    }
  });

  it('creates the service, scales it, and reports a rolling update that rolled back as a failure', async () => {
    const first = await target.deploy(base, { update: { monitorSeconds: 2 } });
    expect(first).toMatchObject({ target: 'swarm', revision: 1, networks: { mgmt: `${name}-0-mgmt` } });
    await target.scale(name, 3);
    expect(docker('service', 'ls', '--filter', `name=${name}`, '--format', '{{.Replicas}}')).toBe('3/3');

    const failing = { ...base, replicas: 3, command: ['sh', '-c', 'echo cannot start >&2; exit 1'] };
    await expect(target.deploy(failing, { update: { monitorSeconds: 2, parallelism: 1 } })).rejects.toThrow(
      /rolling update of .* to revision 2 ended rollback_completed/,
    );
    const service = await target.service(name);
    expect(service?.UpdateStatus?.State).toBe('rollback_completed');
    expect(service?.Spec.Labels?.['io.vnfpipe.revision']).toBe('1');
    const history = await target.store.read(name);
    expect(history.revisions.map((r) => r.status)).toEqual(['deployed', 'failed']);
  });
});
