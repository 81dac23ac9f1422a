/** A deploy step's `engine` option: the target opens that engine, and the release remembers it for verify/rollback. */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DockerTarget } from '../../src/deploy/docker/target.js';
import { engineScope } from '../../src/deploy/history.js';
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

  it('keeps the release histories of one workload name apart per named engine (fleet sites)', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'vnfpipe-engine-scope-'));
    const workload = { name: 'vfw', image: 'oci:layout@sha256:00' };
    const siteA = (await openTarget(
      { stateDir, env: {} },
      { kind: 'docker', engine: 'unix:///site/a.sock' },
    )) as DockerTarget;
    const siteB = (await openTarget(
      { stateDir, env: {} },
      { kind: 'docker', engine: 'tcp://127.0.0.1:2376' },
    )) as DockerTarget;
    const local = (await openTarget({ stateDir, env: {} }, { kind: 'docker' })) as DockerTarget;
    expect(await siteA.store.begin(workload)).toBe(1);
    expect(await siteA.store.begin(workload)).toBe(2);
    expect(await siteB.store.begin(workload)).toBe(1);
    expect((await local.store.read('vfw')).revisions).toEqual([]);
    expect((await siteB.store.read('vfw')).revisions.map((r) => r.revision)).toEqual([1]);
    // The environment's engine keeps the folder it always had.
    expect(await local.store.begin(workload)).toBe(1);
    expect(existsSync(join(stateDir, 'releases', 'docker', 'vfw.json'))).toBe(true);
    expect(
      existsSync(join(stateDir, 'releases', 'docker', engineScope('unix:///site/a.sock'), 'vfw.json')),
    ).toBe(true);
    expect(engineScope('unix:///site/a.sock')).toMatch(/^site_a\.sock-[0-9a-f]{8}$/);
  });
});
