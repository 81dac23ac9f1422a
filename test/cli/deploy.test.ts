import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import { DOCKER, requireDocker } from '../support/docker.js';
import { busyboxInDocker, docker } from '../support/engine-images.js';
import { makeProject, type Project } from '../support/project.js';

const name = `vk-${process.pid.toString(36)}`;

const pipeline = (image: string) => `import { definePipeline, deploy, verify, probe } from 'vnfpipe';
export default definePipeline('killed', (p) => {
  const rel = p.step('deploy', deploy.docker({ workload: {
    name: '${name}',
    image: '${image}',
    command: ['sh', '-c', 'echo up; trap "exit 0" TERM; while true; do sleep 0.2; done'],
    env: { VERSION: process.env.VERSION ?? '1' },
    networks: [{ role: 'mgmt' }],
  } }));
  p.step('verify', verify({ release: rel.out, probes: [probe.exec({ command: ['true'] })] }));
});
`;

describe('vnfpipe run with a deploy killed midway', () => {
  let project: Project;
  beforeAll(() => {
    requireDocker();
    project = makeProject({ 'vnfpipe.config.ts': pipeline(busyboxInDocker()) });
  });
  afterAll(async () => {
    await new DockerTarget(`${project.dir}/.vnfpipe`).destroy({
      name,
      image: 'x',
      networks: [{ role: 'mgmt' }],
    });
  });

  it('converges to one healthy revision on the next run, with no orphan containers', async () => {
    const first = await project.cli(['run']);
    expect(first.code, first.stdout + first.stderr).toBe(0);

    let child: { kill(signal: NodeJS.Signals): boolean } | undefined;
    let killed = false;
    const second = await project.cli(['run'], {
      env: { VERSION: '2' },
      onSpawn: (c) => {
        child = c;
      },
      onStdout: (out) => {
        // Between the new container's start and the end of its readiness window.
        if (!killed && out.includes(`started ${name}-r2`)) {
          killed = true;
          child?.kill('SIGKILL');
        }
      },
    });
    expect(killed).toBe(true);
    expect(second.signal).toBe('SIGKILL');
    const runs = await project.cli(['runs', '--json']);
    expect(JSON.parse(runs.stdout).runs[0].status).toBe('killed');

    const third = await project.cli(['run'], { env: { VERSION: '2' } });
    expect(third.code, third.stdout + third.stderr).toBe(0);
    expect(third.stdout).toContain('revision 2 was left pending by an interrupted run: removing it');

    const all = docker(
      'ps',
      '-a',
      '--filter',
      `label=io.vnfpipe.workload=${name}`,
      '--format',
      '{{.Names}} {{.State}}',
    )
      .split('\n')
      .sort();
    expect(all).toEqual([`${name}-r1 exited`, `${name}-r3 running`]);

    const history = await project.cli(['history', name, '--json']);
    expect(
      JSON.parse(history.stdout).revisions.map((r: { revision: number; status: string }) => [
        r.revision,
        r.status,
      ]),
    ).toEqual([
      [1, 'superseded'],
      [2, 'abandoned'],
      [3, 'verified'],
    ]);
    const table = await project.cli(['history', name]);
    expect(table.stdout).toMatch(/^3\s+verified\s+running/m);

    const again = await project.cli(['run'], { env: { VERSION: '2' } });
    expect(again.stdout).toContain('revision 3 already runs this spec: nothing to deploy');
  });
});

describe('vnfpipe history and rollback with a name that is not a workload name', () => {
  it('refuse it with exit 2 before reading or writing any file', async () => {
    const project = makeProject();
    // A release history outside the releases folder that a path built from the name would reach.
    mkdirSync(join(project.dir, 'outside'));
    writeFileSync(
      join(project.dir, 'outside', 'evil.json'),
      JSON.stringify({ version: 1, target: 'docker', name: 'evil', revisions: [] }),
    );
    const evil = '../../../outside/evil';
    for (const args of [
      ['history', evil, '--json'],
      ['history', evil, '--target', 'swarm'],
      ['rollback', evil],
    ]) {
      const result = await project.cli(args);
      expect(result.code, result.stdout + result.stderr).toBe(2);
      expect(result.stderr).toContain(`'${evil}' is not a workload name`);
      expect(result.stdout).toBe('');
    }
  });
});

describe('vnfpipe with no Docker engine at DOCKER_HOST', () => {
  it('says the engine is unreachable, where it looked, and how to start one (exit 1)', async () => {
    // One recorded revision: listing it asks the engine for its container's state.
    const at = new Date(0).toISOString();
    const project = makeProject({
      '.vnfpipe/releases/docker/vfw.json': JSON.stringify({
        version: 1,
        target: 'docker',
        name: 'vfw',
        revisions: [
          { revision: 1, image: 'x', specHash: 'x', status: 'verified', createdAt: at, updatedAt: at },
        ],
      }),
    });
    const socket = join(project.dir, 'no-engine.sock');
    const result = await project.cli(['history', 'vfw'], { env: { DOCKER_HOST: `unix://${socket}` } });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(`unix://${socket}: cannot reach the Docker engine`);
    expect(result.stderr).toContain(
      'hint: install Docker (Debian: apt-get install docker.io) and start dockerd, or set DOCKER_HOST',
    );
    expect(result.stderr).not.toContain('setup-deps');
  });
});

const probed = `vkv-${process.pid.toString(36)}`;
const probedSubnet = `10.237.${process.pid % 250}`;

/** A verify whose traffic probe puts its sink on a fixed data-plane address, with rollback on failure. */
const probedPipeline = (
  image: string,
) => `import { definePipeline, deploy, verify, rollback, probe } from 'vnfpipe';
export default definePipeline('killed-verify', (p) => {
  const rel = p.step('deploy', deploy.docker({ workload: {
    name: '${probed}',
    image: '${image}',
    command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
    networks: [{ role: 'data', internal: true, subnet: '${probedSubnet}.0/24' }],
  } }));
  const probes = [probe.traffic({ from: 'data', port: 5000, sink: { ip: '${probedSubnet}.20', port: 6000 },
    packets: 2, expect: 'dropped', attempts: 1 })];
  const back = p.step('rollback', rollback({ release: rel.out, probes }));
  p.step('verify', verify({ release: rel.out, probes }), { onFailure: back });
});
`;

describe('vnfpipe run killed during verify', () => {
  let project: Project;
  beforeAll(() => {
    requireDocker();
    project = makeProject({ 'vnfpipe.config.ts': probedPipeline(busyboxInDocker()) });
  });
  afterAll(async () => {
    for (const id of probeContainers()) docker('rm', '-f', id);
    await new DockerTarget(`${project.dir}/.vnfpipe`).destroy({
      name: probed,
      image: 'x',
      networks: [{ role: 'data', internal: true }],
    });
  });

  const probeContainers = (...filters: string[]) =>
    execFileSync(DOCKER, ['ps', '-aq', '--filter', `label=io.vnfpipe.probe-for=${probed}`, ...filters], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean);

  it('leaves probe containers holding the sink address; the next run removes them, passes, and rolls nothing back', async () => {
    let child: { kill(signal: NodeJS.Signals): boolean } | undefined;
    let done = false;
    let killed = false;
    const run = project.cli(['run'], { onSpawn: (c) => (child = c), timeoutMs: 120_000 }).finally(() => {
      done = true;
    });
    // SIGKILL as soon as the sink runs: the run gets no chance to remove it.
    while (!done && !killed) {
      if (probeContainers('--filter', 'status=running').length > 0) {
        killed = child?.kill('SIGKILL') ?? false;
      } else await new Promise((r) => setTimeout(r, 50));
    }
    const first = await run;
    expect(killed, first.stdout + first.stderr).toBe(true);
    expect(first.signal).toBe('SIGKILL');
    const left = probeContainers();
    expect(left.length).toBeGreaterThan(0);

    const again = await project.cli(['run'], { timeoutMs: 120_000 });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/removing vnfprobe-\S+, left by an interrupted verify/);
    expect(again.stdout).not.toMatch(/\[rollback\]/);
    expect(probeContainers()).toEqual([]);
    const history = await project.cli(['history', probed, '--json']);
    expect(
      JSON.parse(history.stdout).revisions.map((r: { revision: number; status: string }) => [
        r.revision,
        r.status,
      ]),
    ).toEqual([[1, 'verified']]);
  });
});
