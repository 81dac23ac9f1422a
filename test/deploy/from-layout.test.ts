import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import { deploy } from '../../src/deploy/step.js';
import { buildImage } from '../../src/image/index.js';
import { definePipeline } from '../../src/pipeline/define.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { requireDocker } from '../support/docker.js';
import { busyboxLayout, docker } from '../support/engine-images.js';

const name = `vl-${process.pid.toString(36)}`;

describe('deploying straight from an OCI layout (no registry)', () => {
  let dir: string;
  let digest: string;
  let configId: string;
  beforeAll(async () => {
    requireDocker();
    dir = mkdtempSync(join(tmpdir(), 'vnfpipe-layout-deploy-'));
    digest = (await buildApp(`hello ${name}\n`)).digest;
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'blobs', 'sha256', digest.slice(7)), 'utf8'));
    configId = manifest.config.digest;
  });
  afterAll(async () => {
    await new DockerTarget(join(dir, '.vnfpipe')).destroy({ name, image: 'x' });
    try {
      docker('rmi', '-f', configId);
    } catch {
      // Never loaded.
    }
  });

  it('loads the image into the engine by its config digest and runs it; a second run changes nothing', async () => {
    const pipeline = definePipeline('from-layout', (p) => {
      p.step(
        'deploy',
        deploy.docker({ workload: { name, image: { ref: 'oci:out:app', digest, layout: 'out' } } }),
      );
    });
    const logs: string[] = [];
    const first = await runPipeline(pipeline, {
      cwd: dir,
      onEvent: (e) => e.type === 'step.log' && logs.push(e.line),
    });
    expect(first.steps.deploy?.error).toBeUndefined();
    expect(logs).toContainEqual(
      expect.stringMatching(/^loading oci:out:app@sha256:[0-9a-f]{64} into the engine/),
    );
    expect(docker('inspect', '--format', '{{.Image}}', `${name}-r1`)).toBe(configId);
    expect(docker('logs', `${name}-r1`)).toBe(`hello ${name}`);
    expect(docker('inspect', '--format', '{{index .Config.Labels "io.vnfpipe.image"}}', `${name}-r1`)).toBe(
      `oci:out:app@${digest}`,
    );

    const again: string[] = [];
    await runPipeline(pipeline, { cwd: dir, onEvent: (e) => e.type === 'step.log' && again.push(e.line) });
    expect(again).toContain('revision 1 already runs this spec: nothing to deploy');
  });

  it('rolls back to an older layout revision after the ref moved on, loading it again if the engine lost it', async () => {
    const target = new DockerTarget(join(dir, '.vnfpipe'));
    // Revision 1 passed verify: it is the one a rollback returns to.
    await target.promote(await latestRelease());
    const v2 = await buildApp(`hello again ${name}\n`);
    expect(v2.digest).not.toBe(digest);
    const pipeline = definePipeline('from-layout', (p) => {
      p.step(
        'deploy',
        deploy.docker({
          workload: { name, image: { ref: 'oci:out:app', digest: v2.digest, layout: 'out' } },
        }),
      );
    });
    expect((await runPipeline(pipeline, { cwd: dir })).steps.deploy?.error).toBeUndefined();
    // Revision 1 is gone from the engine: container and image.
    docker('rm', '-f', `${name}-r1`);
    docker('rmi', '-f', configId);
    const back = await target.rollback(name, { to: 1, cwd: dir });
    expect(back.revision).toBe(1);
    expect(docker('logs', `${name}-r1`)).toBe(`hello ${name}`);
  });

  /** The app image, printing `greeting`, built into the test's layout under the ref `app`. */
  function buildApp(greeting: string) {
    writeFileSync(join(dir, 'greeting'), greeting);
    return buildImage({
      context: dir,
      layout: join(dir, 'out'),
      name: 'app',
      from: `oci:${busyboxLayout()}:latest`,
      layers: [{ files: { greeting: '/etc/greeting' } }],
      entrypoint: ['sh', '-c'],
      cmd: ['cat /etc/greeting; trap "exit 0" TERM; while true; do sleep 0.2; done'],
    });
  }

  async function latestRelease() {
    const history = await new DockerTarget(join(dir, '.vnfpipe')).history(name);
    const last = history.at(-1)!;
    return {
      target: 'docker' as const,
      name,
      revision: last.revision,
      image: last.image,
      instances: [`${name}-r${last.revision}`],
      networks: {},
      endpoint: '',
    };
  }
});
