/** `vnfpipe plan` on a fleet pipeline: its steps are plain steps; a bad fleet exits 2 naming the line and site. */
import { describe, expect, it } from 'vitest';
import { makeProject } from '../support/project.js';

const pipeline = (waves: string) => `import { definePipeline, fleet, probe } from 'vnfpipe';

export default definePipeline('vfw-fleet', (p) => {
  p.add(fleet({
    sites: { lab: { engine: 'unix:///run/lab.sock' }, edge1: { engine: 'tcp://127.0.0.1:2376' }, edge2: {} },
    waves: ${waves},
    workload: { name: 'vfw', image: 'localhost:5000/vfw@sha256:${'0'.repeat(64)}' },
    probes: [probe.tcp({ port: 80 })],
    pauseBetween: '10s',
  }));
});
`;

describe('vnfpipe plan with a fleet', () => {
  it('lists the expanded steps, stages, needs and handlers', async () => {
    const project = makeProject({ 'vnfpipe.config.ts': pipeline("[['lab'], ['edge1'], ['edge2']]") });
    const result = await project.cli(['plan', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as {
      stages: string[];
      steps: Array<{
        id: string;
        kind: string;
        stage: string;
        needs: string[];
        onFailure: string[];
        handler: boolean;
      }>;
    };
    expect(plan.stages.filter((s) => s.startsWith('wave-'))).toEqual(['wave-1', 'wave-2', 'wave-3']);
    const step = (id: string) => plan.steps.find((s) => s.id === id);
    expect(step('pause-wave-2')).toMatchObject({ kind: 'pause', stage: 'wave-2', needs: ['verify-lab'] });
    expect(step('deploy-edge1')).toMatchObject({ kind: 'deploy', stage: 'wave-2', needs: ['pause-wave-2'] });
    expect(step('verify-edge1')).toMatchObject({ onFailure: ['rollback-edge1'], handler: false });
    expect(step('rollback-edge1')).toMatchObject({ stage: 'rollback-wave-2', handler: true });
  });

  it('refuses unknown sites, a site in two waves and empty waves: exit 2, naming the line and each site', async () => {
    const project = makeProject({
      'vnfpipe.config.ts': pipeline("[['lab', 'edge1'], ['edge1', 'edge7'], [], ['edge2']]"),
    });
    const result = await project.cli(['plan']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^vnfpipe: error: vnfpipe\.config\.ts:4:\d+: fleet is invalid:/);
    expect(result.stderr).toContain("site 'edge1' is in wave 1 and in wave 2");
    expect(result.stderr).toContain("wave 2 names site 'edge7', which is not in 'sites'");
    expect(result.stderr).toContain('wave 3 is empty');
  });

  it('status and history --site of a workload no fleet run deployed exit 2 and say so', async () => {
    const project = makeProject({ 'vnfpipe.config.ts': pipeline("[['lab'], ['edge1'], ['edge2']]") });
    const status = await project.cli(['status', 'vfw', '--json']);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain('no fleet run recorded a deploy of vfw');
    expect(status.stdout).toBe('');
    const history = await project.cli(['history', 'vfw', '--site', 'lab']);
    expect(history.code).toBe(2);
    expect(history.stderr).toContain("no fleet run recorded a deploy of vfw at site 'lab'");
    const bad = await project.cli(['status', '../etc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("'../etc' is not a workload name");
  });
});
