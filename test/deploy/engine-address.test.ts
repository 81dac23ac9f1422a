/** A deploy step's `engine` option: the target opens that engine, and the release remembers it for verify/rollback. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DockerTarget } from '../../src/deploy/docker/target.js';
import { engineScope } from '../../src/deploy/engine/address.js';
import { deploy } from '../../src/deploy/step.js';
import { addressOf, openTarget } from '../../src/deploy/targets.js';
import { VnfpipeError } from '../../src/errors.js';
import { definePipeline } from '../../src/pipeline/define.js';
import type { Release } from '../../src/pipeline/kinds.js';
import { planPipeline } from '../../src/pipeline/plan.js';

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
    expect(addressOf({ ...withoutEngine, context: 'site-a' })).toEqual({ kind: 'docker', context: 'site-a' });
    const tls = { host: 'tcp://10.0.0.5:2376', tls: { ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' } };
    expect(addressOf({ ...withoutEngine, target: 'swarm', engine: tls })).toEqual({
      kind: 'swarm',
      engine: tls,
    });
  });

  it('rejects a malformed engine at validation, naming the step and the option', () => {
    const problems = (options: Record<string, unknown>) => {
      try {
        planPipeline(
          definePipeline('p', (p) => {
            p.step('site-a', deploy.docker({ workload: { name: 'vfw', image: 'x' }, ...options }));
          }),
        );
      } catch (error) {
        expect(error).toBeInstanceOf(VnfpipeError);
        return (error as VnfpipeError).describe();
      }
      return '';
    };
    expect(problems({ engine: 'ftp://10.0.0.5' })).toMatch(
      /step 'site-a': deploy\.docker: 'engine': engine address 'ftp:\/\/10\.0\.0\.5' is not a Docker engine address/,
    );
    expect(problems({ engine: 'unix://relative.sock' })).toMatch(
      /step 'site-a': .*'engine'.*absolute socket path/,
    );
    expect(problems({ engine: 'ssh://u:secret@h' })).toMatch(/step 'site-a': .*has a password/);
    expect(problems({ engine: 'ssh://u:secret@h' })).not.toMatch(/secret/);
    expect(problems({ engine: 'tcp://h:2376', context: 'site-a' })).toMatch(/either 'engine' or 'context'/);
    expect(problems({ engine: { host: 'ssh://h', tls: { ca: 'ca.pem' } } })).toMatch(
      /'engine\.tls' is for tcp/,
    );
    expect(problems({ engine: { host: 'tcp://h', tls: { cert: 'c.pem' } } })).toMatch(/go together/);
    expect(problems({ context: '' })).toMatch(/'context' must be a docker context name/);
    expect(problems({ engine: 'ssh://deploy@10.0.0.5:2222' })).toBe('');
  });

  it('keeps one history per named engine or context, and the unscoped one for the environment', async () => {
    expect(engineScope({})).toBeUndefined();
    const a = engineScope({ engine: 'tcp://10.0.0.5:2376' });
    expect(a).toMatch(/^10\.0\.0\.5_2376-[0-9a-f]{8}$/);
    expect(engineScope({ engine: { host: 'tcp://10.0.0.5:2376' } })).toBe(a);
    expect(engineScope({ engine: 'tcp://10.0.0.6:2376' })).not.toBe(a);
    expect(engineScope({ context: 'site-a' })).toMatch(/^context-site-a-[0-9a-f]{8}$/);
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
