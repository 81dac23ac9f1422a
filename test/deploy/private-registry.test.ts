import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import { deploy } from '../../src/deploy/step.js';
import { buildImage } from '../../src/image/index.js';
import { definePipeline } from '../../src/pipeline/define.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { copyImage } from '../../src/registry/copy.js';
import { requireDocker } from '../support/docker.js';
import { busyboxLayout, docker } from '../support/engine-images.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const name = `vp-${process.pid.toString(36)}`;
const USER = 'deployer';
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;

describe('deploying from a registry that needs a password', () => {
  let registry: TestRegistry;
  let dir: string;
  let image: string;
  beforeAll(async () => {
    requireDocker();
    dir = mkdtempSync(join(tmpdir(), 'vnfpipe-private-'));
    const htpasswd = join(dir, 'htpasswd');
    writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', USER, PASSWORD], { encoding: 'utf8' }));
    registry = await startRegistry({
      extraConfig: `auth:\n  htpasswd:\n    realm: vnfpipe-test\n    path: ${htpasswd}`,
    });
    // Content no engine has seen, so the deploy has to pull it.
    writeFileSync(join(dir, 'marker'), randomBytes(32).toString('hex'));
    const built = await buildImage({
      context: dir,
      layout: join(dir, 'oci'),
      name: 'app',
      from: `oci:${busyboxLayout()}:latest`,
      layers: [{ files: { marker: '/marker' } }],
      cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
    });
    const pushed = await copyImage(
      { transport: 'oci', dir: join(dir, 'oci'), ref: 'app' },
      { transport: 'registry', registry: registry.host, repository: 'private/app', tag: '1' },
      {
        registries: {
          [registry.host]: { credentials: { kind: 'basic', username: USER, password: PASSWORD } },
        },
      },
    );
    image = `${registry.host}/private/app@${pushed.digest}`;
    expect(built.digest).toBe(pushed.digest);
  });
  afterAll(async () => {
    await new DockerTarget(join(dir, '.vnfpipe')).destroy({ name, image: 'x' });
    try {
      docker('rmi', '-f', image);
    } catch {
      // Never pulled.
    }
    await registry?.stop();
  });

  const pipeline = () =>
    definePipeline('private', (p) => {
      p.step('deploy', deploy.docker({ workload: { name, image } }));
    });

  it('fails clearly without credentials', async () => {
    const emptyConfig = join(dir, 'no-creds');
    mkdirSync(emptyConfig);
    const result = await runPipeline(pipeline(), {
      cwd: dir,
      env: { ...process.env, DOCKER_CONFIG: emptyConfig },
    });
    expect(result.status).toBe('failed');
    expect(result.steps.deploy?.error).toMatch(
      /no basic auth credentials|unauthorized|authentication required/i,
    );
  });

  it('pulls with the credentials of the docker config, and never shows the password', async () => {
    const config = join(dir, 'docker-config');
    mkdirSync(config);
    const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
    const events: string[] = [];
    const result = await runPipeline(pipeline(), {
      cwd: dir,
      env: { ...process.env, DOCKER_CONFIG: config },
      onEvent: (event) => events.push(JSON.stringify(event)),
    });
    expect(result.steps.deploy?.error).toBeUndefined();
    expect(result.status).toBe('ok');
    expect(docker('inspect', '--format', '{{.State.Running}}', `${name}-r1`)).toBe('true');
    expect(events.join('\n')).not.toContain(PASSWORD);
  });
});
