/**
 * A fleet's emitted `.gitlab-ci.yml` (with manual wave gates) run by gitlab-ci-local (shell executor, one job
 * per wave), wave 2 started by hand: its failed verify rolls back in its own job, reading
 * wave 1's release history from the artifacts wave 1's job handed on. Sites are two workloads on the main
 * Docker engine (unique names), so no extra dockerd is needed here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCi } from '../../src/ci/generate.js';
import type { RunRecord } from '../../src/pipeline/journal.js';
import { loadPipeline } from '../../src/pipeline/loader.js';
import { planPipeline } from '../../src/pipeline/plan.js';
import { requireDocker } from '../support/docker.js';
import { busyboxLayout, docker } from '../support/engine-images.js';
import { makeCiProject, runGitlabCiLocal } from './support/ci-project.js';
import { gitlabSchemaErrors } from './support/validators.js';

const prefix = `glfleet-${process.pid.toString(36)}`;
const ENGINE = 'unix:///var/run/docker.sock';

function pipelineSource(): string {
  const layout = busyboxLayout();
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  const digest = index.manifests.find(
    (m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'latest',
  )?.digest;
  return `import { definePipeline, fleet, probe } from 'vnfpipe';

const healthy = (site: string) => (process.env.FAULT_AT === site ? 'no' : 'yes');

export default definePipeline('fleet-ci', (p) => {
  p.add(fleet({
    sites: {
      lab: { engine: '${ENGINE}', overrides: { name: '${prefix}-lab', env: { HEALTHY: healthy('lab') } } },
      edge1: { engine: '${ENGINE}', overrides: { name: '${prefix}-edge1', env: { HEALTHY: healthy('edge1') } } },
    },
    waves: [['lab'], ['edge1']],
    workload: {
      name: '${prefix}',
      image: { ref: 'oci:${layout}:latest', digest: '${digest}', layout: '${layout}' },
      command: ['sleep', '3600'],
      stopGracePeriod: 1,
    },
    probes: [probe.exec({ label: 'healthy', command: ['sh', '-c', 'test "$HEALTHY" = yes'], attempts: 2, interval: '200ms' })],
    onWaveFailure: 'rollback-all',
  }));
});
`;
}

function journals(stateDir: string): RunRecord[] {
  const runs = join(stateDir, 'runs');
  return readdirSync(runs)
    .sort()
    .map((id) => JSON.parse(readFileSync(join(runs, id, 'run.json'), 'utf8')) as RunRecord);
}

afterAll(() => {
  const ids = docker('ps', '-aq', '--filter', `name=^${prefix}-`).split('\n').filter(Boolean);
  if (ids.length) docker('rm', '-f', ...ids);
});

describe('gitlab-ci-local runs a fleet', { timeout: 300_000 }, () => {
  it('runs wave 2 after wave 1 once started by hand; its failure rolls back both waves’ sites in its job', async () => {
    requireDocker();
    const project = await makeCiProject({ 'vnfpipe.config.ts': pipelineSource() });
    const { pipeline } = await loadPipeline('vnfpipe.config.ts', project.dir);
    const yaml = await generateCi('gitlab', planPipeline(pipeline), {
      install: null,
      image: null,
      manualWaves: true,
    });
    expect(gitlabSchemaErrors(yaml)).toEqual([]);
    project.write('.gitlab-ci.yml', yaml);
    await project.commit();

    // gitlab-ci-local refuses to run a pipeline whose manual job others need unless it is started: the
    // person opening the gate is `--manual wave-2`.
    const opened = await runGitlabCiLocal(project.dir, [
      '--variable',
      'FAULT_AT=edge1',
      '--manual',
      'wave-2',
    ]);
    expect(opened.output).toMatch(/PASS\s+wave-1/);
    expect(opened.output.search(/wave-1\s+starting/)).toBeLessThan(opened.output.search(/wave-2\s+starting/));
    expect(opened.code, opened.output).not.toBe(0);
    expect(opened.output).toMatch(/FAIL\s+wave-2/);
    const wave2 = journals(join(project.dir, '.gitlab-ci-local', 'artifacts', 'wave-2', '.vnfpipe')).find(
      (run) => run.stages?.includes('wave-2'),
    );
    expect(wave2?.steps['verify-edge1']?.status).toBe('failed');
    // lab's history came from wave 1's job: its revision was verified there, so it stays.
    expect(wave2?.steps['rollback-lab']).toMatchObject({ status: 'ok', output: { site: 'lab', kept: true } });
    // edge1 has never had a verified revision: nothing to return to, and the step says so.
    expect(wave2?.steps['rollback-edge1']?.status).toBe('failed');
    expect(wave2?.steps['rollback-edge1']?.error).toContain('has no verified revision before revision 1');
  });
});
