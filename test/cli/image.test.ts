import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxLayout } from '../support/engine-images.js';
import { makeProject, type Project } from '../support/project.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

describe('vnfpipe image build | inspect | ls', () => {
  let project: Project;
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
    project = makeProject({ 'app/hello.txt': 'hello from vnfpipe\n' });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('builds onto a base layout, and inspect and skopeo agree on the result', async () => {
    const build = await project.cli([
      'image',
      'build',
      '--from',
      `oci:${busyboxLayout()}:latest`,
      '--layer',
      'app/hello.txt:/srv/hello.txt',
      '--entrypoint',
      '["/bin/cat"]',
      '--cmd',
      '/srv/hello.txt',
      '--env',
      'MODE=demo',
      '--user',
      '1000:1000',
      '--workdir',
      '/srv',
      '--label',
      'org.example.role=test',
      '--tag',
      'oci:out:app',
      '--json',
    ]);
    expect(build.code, build.stderr).toBe(0);
    const { digest, reference } = JSON.parse(build.stdout);
    expect(reference).toBe(`oci:out:app@${digest}`);

    const inspect = JSON.parse((await project.cli(['image', 'inspect', 'oci:out:app', '--json'])).stdout);
    expect(inspect.digest).toBe(digest);
    expect(inspect.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(inspect.config.config).toMatchObject({
      Entrypoint: ['/bin/cat'],
      Cmd: ['/srv/hello.txt'],
      User: '1000:1000',
      WorkingDir: '/srv',
      Labels: { 'org.example.role': 'test' },
    });
    expect(inspect.config.config.Env).toContain('MODE=demo');
    expect(inspect.manifest.layers.length).toBeGreaterThanOrEqual(2);

    const skopeo = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci:${project.dir}/out:app`], { encoding: 'utf8' }),
    );
    expect(skopeo.Digest).toBe(digest);

    const ls = await project.cli(['image', 'ls', 'oci:out']);
    expect(ls.stdout).toMatch(new RegExp(`^app\\s+${digest}`, 'm'));
  });

  it('pushes when the tag is a registry, and inspects registry images', async () => {
    const build = await project.cli([
      'image',
      'build',
      '--from',
      'scratch',
      '--layer',
      'app/hello.txt:/hello.txt',
      '--tag',
      `${registry.host}/demo/app:1`,
      '--json',
    ]);
    expect(build.code, build.stderr).toBe(0);
    const { digest, reference } = JSON.parse(build.stdout);
    expect(reference).toBe(`${registry.host}/demo/app:1@${digest}`);
    const inspect = JSON.parse(
      (await project.cli(['image', 'inspect', `${registry.host}/demo/app:1`, '--json'])).stdout,
    );
    expect(inspect.digest).toBe(digest);
    expect(inspect.manifest.layers).toHaveLength(1);
  });

  it('says what is wrong with a bad --layer and exits 2', async () => {
    const result = await project.cli([
      'image',
      'build',
      '--from',
      'scratch',
      '--layer',
      'no-destination',
      '--tag',
      'oci:out:x',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--layer 'no-destination' is not <host path>:<absolute image path>");
  });

  it('exits 2 for a --layer source that does not exist, naming it', async () => {
    const result = await project.cli([
      'image',
      'build',
      '--from',
      'scratch',
      '--layer',
      'nosuchdir:/x',
      '--tag',
      'oci:missing-src:x',
    ]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('source "nosuchdir" not found');
    expect(existsSync(join(project.dir, 'missing-src'))).toBe(false);
  });
});
