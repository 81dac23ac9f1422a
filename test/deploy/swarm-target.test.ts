import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Workload } from '../../src/deploy/model.js';
import { deploy, rollback } from '../../src/deploy/step.js';
import { SwarmTarget } from '../../src/deploy/swarm/target.js';
import { definePipeline } from '../../src/pipeline/define.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { cnf, probe } from '../../src/verify/probes.js';
import { verify } from '../../src/verify/step.js';
import { requireDocker } from '../support/docker.js';
import { busyboxInDocker, docker } from '../support/engine-images.js';
import { freeSubnets } from '../support/subnets.js';
import { joinTestSwarm } from '../support/swarm.js';

const name = `vs-${process.pid.toString(36)}`;

describe('swarm target (real single-node swarm)', () => {
  let target: SwarmTarget;
  let base: Workload;
  beforeAll(() => {
    requireDocker();
    // The run's one swarm: joined here, left by the global teardown once every worker is done.
    joinTestSwarm();
    target = new SwarmTarget(mkdtempSync(join(tmpdir(), 'vnfpipe-swarm-')));
    base = {
      name,
      image: busyboxInDocker(),
      replicas: 2,
      command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
      networks: [{ role: 'mgmt', driver: 'overlay', subnet: freeSubnets(1)[0]!.cidr }],
    };
  });
  afterAll(async () => {
    await target?.remove(base);
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

  it('verifies a service with probes and rolls it back to its previous spec when verify fails', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'vnfpipe-swarm-pipeline-'));
    const service: Workload = {
      name: `${name}-p`,
      image: busyboxInDocker(),
      replicas: 1,
      command: ['sh', '-c', 'echo up; trap "exit 0" TERM; while true; do sleep 0.2; done'],
      networks: [{ role: 'mgmt', driver: 'overlay', subnet: freeSubnets(1)[0]!.cidr }],
    };
    const probes = [
      probe.exec({
        label: 'mode is good',
        command: ['sh', '-c', 'test "$MODE" != bad'],
        attempts: 2,
        interval: '200ms',
      }),
      probe.interface({ name: 'eth0', role: 'mgmt' }),
      cnf.logsToStdout(),
    ];
    const pipeline = (mode: string) =>
      definePipeline('swarm-vnf', (p) => {
        const rel = p.step(
          'deploy',
          deploy.swarm({ workload: { ...service, env: { MODE: mode } }, update: { monitorSeconds: 1 } }),
        );
        const back = p.step('rollback', rollback({ release: rel.out, probes }));
        p.step('verify', verify({ release: rel.out, probes }), { onFailure: back });
      });
    try {
      const good = await runPipeline(pipeline('good'), { cwd: stateDir, stateDir });
      expect(good.steps.verify?.error).toBeUndefined();
      expect(good.status).toBe('ok');

      // The swarm itself sees nothing wrong with this update: only verify does.
      const bad = await runPipeline(pipeline('bad'), { cwd: stateDir, stateDir });
      expect(bad.status).toBe('failed');
      expect(bad.steps.verify?.error).toContain('mode is good');
      expect(bad.outputs.rollback).toMatchObject({ restored: 1, from: 2, verify: { passed: true } });
      const history = await new SwarmTarget(stateDir).store.read(service.name);
      expect(history.revisions.map((r) => [r.revision, r.status])).toEqual([
        [1, 'verified'],
        [2, 'rolled-back'],
      ]);
    } finally {
      await new SwarmTarget(stateDir).remove(service);
    }
  }, 180_000);
});
