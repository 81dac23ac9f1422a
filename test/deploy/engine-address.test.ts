/** A deploy step's `engine` option: the target opens that engine, and the release remembers it for verify/rollback. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DockerTarget } from '../../src/deploy/docker/target.js';
import { addressOf, openTarget } from '../../src/deploy/targets.js';
import type { Release } from '../../src/pipeline/kinds.js';

const on = {
  stateDir: mkdtempSync(join(tmpdir(), 'vnfpipe-engine-address-')),
  env: { DOCKER_HOST: 'unix:///from/env.sock' },
};

describe('deploy engine address', () => {
  it('opens the named engine instead of DOCKER_HOST, and DOCKER_HOST without one', async () => {
    const named = (await openTarget(on, { kind: 'docker', engine: 'unix:///site/a.sock' })) as DockerTarget;
    expect(named.engine.endpoint.display).toBe('unix:///site/a.sock');
    const fromEnv = (await openTarget(on, { kind: 'swarm' })) as unknown as DockerTarget;
    expect(fromEnv.engine.endpoint.display).toBe('unix:///from/env.sock');
  });

  it('addresses a release on the engine it was deployed to', () => {
    const release: Release = {
      target: 'docker',
      name: 'vfw',
      revision: 2,
      image: 'oci:layout@sha256:00',
      instances: [],
      networks: {},
      endpoint: 'tcp://127.0.0.1:2375',
      engine: 'tcp://127.0.0.1:2375',
    };
    expect(addressOf(release)).toEqual({ kind: 'docker', engine: 'tcp://127.0.0.1:2375' });
    const { engine: _, ...withoutEngine } = release;
    expect(addressOf(withoutEngine)).toEqual({ kind: 'docker' });
  });

  it('fails on an unreachable named engine, naming it', async () => {
    const target = (await openTarget(on, {
      kind: 'docker',
      engine: 'unix:///nonexistent/site.sock',
    })) as DockerTarget;
    await expect(target.engine.call({ path: '/_ping' })).rejects.toMatchObject({
      code: 'ENGINE_UNREACHABLE',
      where: 'unix:///nonexistent/site.sock',
    });
  });
});
