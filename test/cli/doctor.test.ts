/**
 * `vnfpipe doctor` against this machine's real engine, BuildKit and kernel: what a pipeline needs is found
 * or named with its fix, and exit 1 only when something the pipeline needs is missing.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireDocker } from '../support/docker.js';
import { makeProject, REPO_ROOT } from '../support/project.js';

const pipeline = (driver: string) => `import { definePipeline, deploy } from 'vnfpipe';
export default definePipeline('doc', (p) => {
  p.step('deploy', deploy.docker({ workload: { name: 'doc', image: 'busybox@sha256:${'0'.repeat(64)}',
    networks: [{ role: 'mgmt' }, { role: 'data', driver: '${driver}', parent: 'eth0' }] } }));
});
`;

describe('vnfpipe doctor', { timeout: 120_000 }, () => {
  beforeAll(() => {
    requireDocker();
  });

  it('finds what a macvlan pipeline needs, and names ipvlan and SCTP as missing with the reason', async () => {
    const project = makeProject({ 'vnfpipe.config.ts': pipeline('macvlan') });
    const result = await project.cli(['doctor']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^✔ Docker engine: \S+ \(API 1\.\d+\)/m);
    expect(result.stdout).toMatch(/^✔ network driver macvlan:/m);
    expect(result.stdout).toMatch(
      /^✘ network driver ipvlan: the kernel has no ipvlan link type .*\(not required here\)$/m,
    );
    expect(result.stdout).toMatch(/^✘ SCTP: the kernel has no SCTP/m);
    expect(result.stdout).toContain('everything the pipeline needs is here');
  });

  it('exits 1 when the pipeline needs what the kernel lacks', async () => {
    const project = makeProject({ 'vnfpipe.config.ts': pipeline('ipvlan') });
    const result = await project.cli(['doctor', '--json']);
    expect(result.code).toBe(1);
    const { checks } = JSON.parse(result.stdout) as {
      checks: Array<{ name: string; ok: boolean; required: boolean; fix?: string }>;
    };
    const ipvlan = checks.find((c) => c.name === 'network driver ipvlan');
    expect(ipvlan).toMatchObject({ ok: false, required: true });
    expect(ipvlan?.fix).toContain('modprobe ipvlan');
  });

  it('says how to start an engine that does not answer, and exits 1', async () => {
    const project = makeProject({ 'vnfpipe.config.ts': pipeline('macvlan') });
    const socket = join(project.dir, 'no-engine.sock');
    const result = await project.cli(['doctor'], { env: { DOCKER_HOST: `unix://${socket}` } });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`✘ Docker engine: no engine answers at unix://${socket}`);
    expect(result.stdout).toContain('fix: start it: systemctl start docker');
    expect(result.stdout).toMatch(/missing: Docker engine/);
  });

  it('checks everything and requires nothing without a pipeline file', async () => {
    const project = makeProject();
    const result = await project.cli(['doctor'], {
      env: { DOCKER_HOST: `unix://${join(REPO_ROOT, 'none.sock')}` },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('no vnfpipe.config.ts here');
  });

  it("checks each engine a deploy step names (a fleet site's), and exits 1 naming the one that does not answer", async () => {
    const project = makeProject({
      'vnfpipe.config.ts': `import { definePipeline, fleet, probe } from 'vnfpipe';
export default definePipeline('doc', (p) => {
  p.add(fleet({
    sites: { lab: { engine: process.env.LAB_ENGINE! }, edge1: { context: 'no-such-context' } },
    waves: [['lab'], ['edge1']],
    workload: { name: 'doc', image: 'busybox@sha256:${'0'.repeat(64)}', networks: [{ role: 'mgmt' }] },
    probes: [probe.tcp({ port: 80 })],
  }));
});
`,
    });
    const result = await project.cli(['doctor'], {
      env: { LAB_ENGINE: 'unix:///var/run/docker.sock', DOCKER_CONFIG: join(project.dir, 'docker-config') },
    });
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(
      /^✔ engine of deploy-lab: \S+ \(API 1\.\d+\) at unix:\/\/\/var\/run\/docker\.sock$/m,
    );
    expect(result.stdout).toMatch(
      /^✘ engine of deploy-edge1: context no-such-context does not answer: .*no-such-context/m,
    );
    expect(result.stdout).toMatch(/missing: engine of deploy-edge1/);
  });
});
