/**
 * The repository's example pipeline (vnfpipe.config.ts), run by the CLI as a user runs it: native build,
 * push to a real registry, deploy on the Docker engine, verify with packets, and the automatic rollback of a
 * faulty version.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import { requireDocker } from '../support/docker.js';
import { makeProject, type Project, REPO_ROOT } from '../support/project.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { freePrefix16 } from '../support/subnets.js';

const id = process.pid.toString(36);

/** A copy of the example project with its own workload name and free networks. */
interface Copy {
  project: Project;
  name: string;
  env: { VFW_NAME: string; VFW_NET: string; VNFPIPE_REGISTRY: string };
}

// Whole pipeline runs (compile, build, push, deploy, verify with traffic), two of them in the rollback case.
describe('example VNF pipeline (vnfpipe.config.ts)', { timeout: 600_000 }, () => {
  let registry: TestRegistry;
  const copies: Copy[] = [];
  const copy = (label: string): Copy => {
    const project = makeProject();
    cpSync(join(REPO_ROOT, 'vnfpipe.config.ts'), join(project.dir, 'vnfpipe.config.ts'));
    cpSync(join(REPO_ROOT, 'pipelines', 'vfw'), join(project.dir, 'pipelines', 'vfw'), { recursive: true });
    const name = `vfw-e2e-${label}-${id}`;
    const env = { VFW_NAME: name, VFW_NET: freePrefix16([1, 2, 3]), VNFPIPE_REGISTRY: registry.host };
    const made = { project, name, env };
    copies.push(made);
    return made;
  };
  beforeAll(async () => {
    requireDocker();
    registry = await startRegistry();
  });
  afterAll(async () => {
    for (const { project, name } of copies) {
      await new DockerTarget(join(project.dir, '.vnfpipe')).destroy({
        name,
        image: 'x',
        networks: [{ role: 'mgmt' }, { role: 'in' }, { role: 'out' }],
      });
    }
    await registry?.stop();
  });

  it('builds, pushes, deploys and verifies with traffic through the data plane', async () => {
    const { project, env } = copy('pass');
    const result = await project.cli(['run', '--json'], { env, timeoutMs: 180_000 });
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const ends = Object.fromEntries(
      events.filter((e) => e.type === 'step.end').map((e) => [e.step, e.status]),
    );
    expect(result.code, result.stderr + JSON.stringify(ends)).toBe(0);
    expect(ends).toMatchObject({
      compile: 'ok',
      base: 'ok',
      image: 'ok',
      push: 'ok',
      deploy: 'ok',
      verify: 'ok',
    });
    const logs = events.filter((e) => e.type === 'step.log').map((e) => `${e.step}: ${e.line}`);
    expect(logs).toContainEqual(
      expect.stringMatching(/^verify: pass traffic in→out delivered: 5 sent .* 5 arrived/),
    );
    expect(logs).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^verify: pass interface eth0: eth0 ${env.VFW_NET.replace('.', '\\.')}\\.1\\.\\d+/24, default route`,
        ),
      ),
    );
  });

  it('rolls back a version that leaks management traffic into the data plane: the isolation probe fails it, exit 1', async () => {
    // Its own verified first revision to roll back to: this case does not rely on the one before.
    const { project, name, env } = copy('rollback');
    const first = await project.cli(['run'], { env, timeoutMs: 180_000 });
    expect(first.code, first.stdout + first.stderr).toBe(0);

    // Verify (15 probes) fails, then the rollback verifies the restored revision with all of them again.
    const result = await project.cli(['run'], { env: { ...env, VFW_FAULT: 'leak' }, timeoutMs: 360_000 });
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(/✖ verify failed/);
    expect(result.stdout).toMatch(
      /\[verify\] FAIL isolation: .*mgmt→out denied: 5 of 5 arrived at .*:6000 \(LEAKS\)/,
    );
    expect(result.stdout).toMatch(/\[rollback\] pass isolation: .*mgmt→out denied: 0 of 5 arrived/);
    expect(result.stdout).toMatch(/\[rollback\] pass traffic in→out delivered: 5 sent .* 5 arrived/);
    expect(result.stdout).toMatch(/✔ rollback ok/);
    const history = JSON.parse((await project.cli(['history', name, '--json'])).stdout);
    expect(
      history.revisions.map((r: { revision: number; status: string; state: string }) => [
        r.revision,
        r.status,
        r.state,
      ]),
    ).toEqual([
      [1, 'verified', 'running'],
      [2, 'rolled-back', 'removed'],
    ]);
  });
});
