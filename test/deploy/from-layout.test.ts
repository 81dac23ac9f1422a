import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLayoutImage } from '../../src/deploy/docker/load.js';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import { DockerEngine } from '../../src/deploy/engine/client.js';
import { deploy } from '../../src/deploy/step.js';
import { buildImage } from '../../src/image/index.js';
import { BLOCK, encodeTarHeader } from '../../src/image/tar.js';
import { definePipeline } from '../../src/pipeline/define.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { requireDocker } from '../support/docker.js';
import { busyboxInDocker, busyboxLayout, docker } from '../support/engine-images.js';

const id = process.pid.toString(36);

/** One case's own project folder, workload name and first app image (in `out`, ref `app`). */
interface Setup {
  dir: string;
  name: string;
  digest: string;
  configId: string;
}

describe('deploying straight from an OCI layout (no registry)', () => {
  const setups: Setup[] = [];
  const setup = async (label: string): Promise<Setup> => {
    const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-layout-deploy-'));
    const name = `vl-${label}-${id}`;
    const digest = (await buildApp(dir, `hello ${name}\n`)).digest;
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'blobs', 'sha256', digest.slice(7)), 'utf8'));
    const made = { dir, name, digest, configId: manifest.config.digest as string };
    setups.push(made);
    return made;
  };
  const deployPipeline = (name: string, digest: string) =>
    definePipeline('from-layout', (p) => {
      p.step(
        'deploy',
        deploy.docker({ workload: { name, image: { ref: 'oci:out:app', digest, layout: 'out' } } }),
      );
    });
  beforeAll(() => {
    requireDocker();
  });
  afterAll(async () => {
    for (const { dir, name, configId } of setups) {
      await new DockerTarget(join(dir, '.vnfpipe')).destroy({ name, image: 'x' });
      try {
        docker('rmi', '-f', configId);
      } catch {
        // Never loaded, or already removed.
      }
    }
  });

  it('loads the image into the engine by its config digest and runs it; a second run changes nothing', async () => {
    const { dir, name, digest, configId } = await setup('load');
    const pipeline = deployPipeline(name, digest);
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
    // Its own revision 1, deployed here: this case does not rely on the one before.
    const { dir, name, digest, configId } = await setup('rollback');
    expect(
      (await runPipeline(deployPipeline(name, digest), { cwd: dir })).steps.deploy?.error,
    ).toBeUndefined();
    const target = new DockerTarget(join(dir, '.vnfpipe'));
    // Revision 1 passed verify: it is the one a rollback returns to.
    await target.promote(await latestRelease(dir, name));
    const v2 = await buildApp(dir, `hello again ${name}\n`);
    expect(v2.digest).not.toBe(digest);
    expect(
      (await runPipeline(deployPipeline(name, v2.digest), { cwd: dir })).steps.deploy?.error,
    ).toBeUndefined();
    // Revision 1 is gone from the engine: container and image.
    docker('rm', '-f', `${name}-r1`);
    docker('rmi', '-f', configId);
    const back = await target.rollback(name, { to: 1, cwd: dir });
    expect(back.revision).toBe(1);
    expect(docker('logs', `${name}-r1`)).toBe(`hello ${name}`);
  });

  /** The app image, printing `greeting`, built into the test's layout under the ref `app`. */
  function buildApp(dir: string, greeting: string) {
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

  async function latestRelease(dir: string, name: string) {
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

describe('loading a layout whose blobs do not match their descriptors', () => {
  const victim = `vnfpipe-test/victim-${process.pid.toString(36)}:1`;
  let dir: string;
  let victimId: string;
  const loaded: string[] = [];
  beforeAll(() => {
    requireDocker();
    dir = mkdtempSync(join(tmpdir(), 'vnfpipe-layout-tamper-'));
    docker('tag', busyboxInDocker(), victim);
    victimId = docker('image', 'inspect', '--format', '{{.Id}}', victim);
  });
  afterAll(() => {
    for (const image of [victim, ...loaded]) {
      try {
        docker('rmi', '-f', image);
      } catch {
        // Never there.
      }
    }
  });

  /** A fresh app image in its own layout: its manifest and where its blobs are. */
  async function app(tag: string) {
    const layout = join(dir, tag);
    writeFileSync(join(dir, 'greeting'), `tampered ${tag} ${process.pid}\n`);
    const { digest } = await buildImage({
      context: dir,
      layout,
      name: 'app',
      from: `oci:${busyboxLayout()}:latest`,
      layers: [{ files: { greeting: '/etc/greeting' } }],
      cmd: ['cat', '/etc/greeting'],
    });
    const blob = (d: string) => join(layout, 'blobs', 'sha256', d.slice('sha256:'.length));
    const manifest = JSON.parse(readFileSync(blob(digest), 'utf8')) as {
      config: { digest: string };
      layers: Array<{ digest: string; size: number }>;
    };
    loaded.push(manifest.config.digest);
    return { reference: `oci:${tag}:app@${digest}`, manifest, blob };
  }

  const engineHas = (id: string) => {
    try {
      docker('image', 'inspect', id);
      return true;
    } catch {
      return false;
    }
  };

  it('refuses a blob with extra bytes: no second manifest.json reaches the engine, no tag moves', async () => {
    const { reference, manifest, blob } = await app('extra');
    const last = manifest.layers.at(-1)!;
    // After the layer's own bytes: a tar entry `manifest.json` that tags the victim's name onto this image.
    const injected = Buffer.from(
      JSON.stringify([
        {
          Config: `blobs/sha256/${manifest.config.digest.slice(7)}`,
          RepoTags: [victim],
          Layers: manifest.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
        },
      ]),
    );
    const pad = (n: number) => Buffer.alloc((BLOCK - (n % BLOCK)) % BLOCK);
    appendFileSync(
      blob(last.digest),
      Buffer.concat([
        pad(last.size),
        encodeTarHeader({
          path: 'manifest.json',
          type: 'file',
          mode: 0o644,
          uid: 0,
          gid: 0,
          size: injected.length,
          mtime: 0,
        }),
        injected,
        pad(injected.length),
      ]),
    );
    const error = await loadLayoutImage(new DockerEngine(), reference, dir, () => {}).catch((e) => e);
    expect(error).toMatchObject({ code: 'OCI_DIGEST_MISMATCH', where: reference });
    expect(error.message).toContain(`blob ${last.digest} is`);
    expect(docker('image', 'inspect', '--format', '{{.Id}}', victim)).toBe(victimId);
    expect(engineHas(manifest.config.digest)).toBe(false);
  });

  it('refuses a blob of the right size with other bytes, and the engine keeps nothing of it', async () => {
    const { reference, manifest, blob } = await app('flipped');
    const last = manifest.layers.at(-1)!;
    const bytes = readFileSync(blob(last.digest));
    bytes[bytes.length - 5] = (bytes[bytes.length - 5]! + 1) % 256;
    writeFileSync(blob(last.digest), bytes);
    const error = await loadLayoutImage(new DockerEngine(), reference, dir, () => {}).catch((e) => e);
    expect(error).toMatchObject({ code: 'OCI_DIGEST_MISMATCH', where: reference });
    expect(error.message).toContain(`blob ${last.digest} has digest sha256:`);
    expect(engineHas(manifest.config.digest)).toBe(false);
    expect(docker('image', 'inspect', '--format', '{{.Id}}', busyboxInDocker())).toBeTruthy();
  });
});
