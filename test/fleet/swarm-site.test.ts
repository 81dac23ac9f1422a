/**
 * A fleet site that is a swarm (the test run's single-node swarm on the main engine): a failed verify rolls
 * the service back to its previous spec — swarm takes no revision number — and re-verifies it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SwarmTarget } from '../../src/deploy/swarm/target.js';
import { openTarget } from '../../src/deploy/targets.js';
import { fleet } from '../../src/fleet/expand.js';
import { definePipeline } from '../../src/pipeline/define.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { probe } from '../../src/verify/probes.js';
import { requireDocker } from '../support/docker.js';
import { busyboxInDocker, docker } from '../support/engine-images.js';
import { freeSubnets } from '../support/subnets.js';
import { joinTestSwarm } from '../support/swarm.js';
import { waitFor } from '../support/wait.js';

const name = `fsw-${process.pid.toString(36)}`;
const ENGINE = 'unix:///var/run/docker.sock';
const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-fleet-swarm-'));
let subnet = '';

function rollout(version: number, healthy: boolean) {
  return definePipeline('fleet-swarm', (p) => {
    p.add(
      fleet({
        sites: {
          core: { engine: ENGINE, target: 'swarm', overrides: { env: { HEALTHY: healthy ? 'yes' : 'no' } } },
        },
        waves: [['core']],
        workload: {
          name,
          image: busyboxInDocker(),
          command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
          env: { VERSION: String(version) },
          networks: [{ role: 'mgmt', driver: 'overlay', subnet }],
        },
        probes: [
          probe.exec({ label: 'healthy', command: ['sh', '-c', 'test "$HEALTHY" = yes'], attempts: 3 }),
        ],
      }),
    );
  });
}

beforeAll(() => {
  requireDocker();
  joinTestSwarm();
  subnet = freeSubnets(1)[0]!.cidr;
});

afterAll(async () => {
  const target = (await openTarget(
    { stateDir: join(dir, '.vnfpipe'), env: process.env },
    { kind: 'swarm', engine: ENGINE },
  )) as SwarmTarget;
  await target.remove({ name, image: 'x', networks: [{ role: 'mgmt', driver: 'overlay', subnet }] });
  // The overlay network is released a little after the service's tasks: remove it once it is free.
  await waitFor(
    `network ${name}-0-mgmt to be removed`,
    () => {
      try {
        docker('network', 'rm', `${name}-0-mgmt`);
      } catch {
        return !docker('network', 'ls', '--format', '{{.Name}}').split('\n').includes(`${name}-0-mgmt`);
      }
      return true;
    },
    60_000,
  );
}, 120_000);

describe('a swarm site in a fleet', () => {
  it('is deployed and verified, then rolled back to its previous spec when a new version fails verify', async () => {
    const first = await runPipeline(rollout(1, true), { cwd: dir });
    expect(first.steps['verify-core']?.error).toBeUndefined();
    expect(first.exitCode).toBe(0);

    const second = await runPipeline(rollout(2, false), { cwd: dir });
    expect(second.exitCode).toBe(1);
    expect(second.steps['verify-core']?.status).toBe('failed');
    expect(second.steps['rollback-core']?.error).toBeUndefined();
    expect(second.outputs['rollback-core']).toMatchObject({
      site: 'core',
      from: 2,
      revision: 1,
      kept: false,
    });
    const env = docker(
      'service',
      'inspect',
      '--format',
      '{{json .Spec.TaskTemplate.ContainerSpec.Env}}',
      name,
    );
    expect(env).toContain('VERSION=1');
    expect(env).toContain('HEALTHY=yes');
  }, 240_000);
});
