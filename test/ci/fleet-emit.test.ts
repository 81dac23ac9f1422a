/** A fleet's waves in emitted CI: one job per wave, an environment per wave, GitLab manual gates when asked. */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateCi } from '../../src/ci/generate.js';
import { expr } from '../../src/ci/github/emit.js';
import type { Workflow } from '../../src/ci/github/model.js';
import type { Job } from '../../src/ci/gitlab/model.js';
import type { WaveFailurePolicy } from '../../src/fleet/model.js';
import { definePipeline, exec, fleet, probe, push, secret } from '../../src/index.js';
import { planPipeline } from '../../src/pipeline/plan.js';
import { SECRET_VALUE } from './support/pipelines.js';
import { actionlint, gitlabSchemaErrors, workflowParser } from './support/validators.js';

function fleetPlan(onWaveFailure: WaveFailurePolicy = 'rollback-wave') {
  return planPipeline(
    definePipeline('vfw-fleet', (p) => {
      const image = p.step('image', exec({ run: 'make image', outputs: ['out/image.tar'] }));
      const pushed = p.step(
        'push',
        push({
          image: { ref: 'oci:out:vfw', digest: 'sha256:00' },
          to: 'localhost:5000/vnf/vfw',
          auth: secret('REGISTRY_TOKEN'),
        }),
        { needs: [image] },
      );
      p.add(
        fleet({
          sites: {
            lab: { engine: 'unix:///run/lab.sock' },
            edge1: { engine: 'tcp://10.0.0.5:2376', overrides: { env: { SITE: 'edge1' } } },
            edge2: { engine: 'tcp://10.0.0.6:2376' },
            edge3: { engine: 'tcp://10.0.0.7:2376' },
          },
          waves: [['lab'], ['edge1'], ['edge2', 'edge3']],
          workload: { name: 'vfw', image: pushed.out },
          probes: [probe.tcp({ port: 80 })],
          onWaveFailure,
        }),
      );
    }),
  );
}

describe('fleet waves in GitHub Actions', () => {
  it('maps each wave to a job with its own environment, each needing the previous wave', async () => {
    const yaml = await generateCi('github', fleetPlan());
    expect(await actionlint(yaml)).toEqual([]);
    expect(await workflowParser(yaml)).toEqual([]);
    expect(yaml).not.toContain(SECRET_VALUE);
    const wf = parse(yaml) as Workflow;
    const job = (id: string) => wf.jobs[id] as Workflow['jobs'][string];
    expect(Object.keys(wf.jobs)).toEqual([
      'build',
      'push',
      'wave-1',
      'rollback-wave-1',
      'wave-2',
      'rollback-wave-2',
      'wave-3',
      'rollback-wave-3',
    ]);
    expect(job('wave-1').needs).toEqual(['push']);
    // Every wave deploys the pushed image, after the wave before it.
    expect(job('wave-2').needs).toEqual(['push', 'wave-1']);
    expect(job('wave-3').needs).toEqual(['push', 'wave-2']);
    for (const wave of [1, 2, 3]) {
      // Required reviewers of production-wave-N approve wave N before its job starts.
      expect(job(`wave-${wave}`).environment).toEqual({ name: `production-wave-${wave}` });
      expect(job(`rollback-wave-${wave}`).environment).toEqual({ name: `production-wave-${wave}` });
      expect(job(`wave-${wave}`).concurrency).toEqual({
        group: `vnfpipe-deploy-production-wave-${wave}`,
        'cancel-in-progress': false,
      });
    }
    expect(job('wave-2').steps.at(-3)?.run).toBe('npx vnfpipe run --stage wave-2');
    expect(job('wave-2').steps.at(-3)?.env?.VNFPIPE_ENVIRONMENT).toBe('production-wave-2');
    expect(job('rollback-wave-2').if).toBe(
      expr("failure() && needs.wave-2.result == 'failure' && github.event_name != 'pull_request'"),
    );
  });

  it('with rollback-all, an earlier wave’s rollback job also answers later waves’ failures', async () => {
    const yaml = await generateCi('github', fleetPlan('rollback-all'), { environment: 'field' });
    expect(await actionlint(yaml)).toEqual([]);
    expect(await workflowParser(yaml)).toEqual([]);
    const wf = parse(yaml) as Workflow;
    const rollback1 = wf.jobs['rollback-wave-1'] as Workflow['jobs'][string];
    expect(rollback1.needs).toEqual(['wave-1', 'wave-2', 'wave-3']);
    expect(rollback1.environment).toEqual({ name: 'field-wave-1' });
    expect(rollback1.if).toContain("needs.wave-3.result == 'failure'");
  });
});

describe('fleet waves in GitLab CI', () => {
  it('gives each wave its environment and, when asked, a manual gate before every wave after the first', async () => {
    const yaml = await generateCi('gitlab', fleetPlan(), { manualWaves: true });
    expect(gitlabSchemaErrors(yaml)).toEqual([]);
    expect(yaml).toContain('vnfpipe ci gitlab --manual-waves');
    expect(yaml).not.toContain(SECRET_VALUE);
    const config = parse(yaml) as Record<string, unknown> & { stages: string[] };
    const job = (name: string) => config[name] as Job;
    expect(config.stages).toEqual([
      'build',
      'push',
      'wave-1',
      'rollback-wave-1',
      'wave-2',
      'rollback-wave-2',
      'wave-3',
      'rollback-wave-3',
    ]);
    expect(job('wave-1').rules?.at(-1)).toEqual({ when: 'on_success' });
    expect(job('wave-1').allow_failure).toBeUndefined();
    for (const wave of ['wave-2', 'wave-3']) {
      expect(job(wave).rules?.at(-1)).toEqual({ when: 'manual' });
      // A blocking gate: the pipeline waits for it instead of passing it by.
      expect(job(wave).allow_failure).toBe(false);
    }
    expect(job('wave-2').environment).toEqual({ name: 'production-wave-2' });
    expect(job('wave-2').resource_group).toBe('production-wave-2');
    expect(job('rollback-wave-2').rules?.at(-1)).toEqual({ when: 'on_failure' });
    expect(job('wave-3').needs).toEqual([
      { job: 'push', artifacts: true },
      { job: 'wave-2', artifacts: true },
    ]);
  });

  it('has no manual gates unless asked', async () => {
    const yaml = await generateCi('gitlab', fleetPlan('halt'));
    expect(gitlabSchemaErrors(yaml)).toEqual([]);
    const config = parse(yaml) as Record<string, unknown>;
    expect((config['wave-2'] as Job).rules?.at(-1)).toEqual({ when: 'on_success' });
    expect((config['halt-wave-2'] as Job).when).toBe('on_failure');
  });

  it('orders a handler stage after every wave whose failure triggers it, and uses a shell runner’s own engine', async () => {
    const yaml = await generateCi('gitlab', fleetPlan('rollback-all'), { image: null });
    expect(gitlabSchemaErrors(yaml)).toEqual([]);
    const config = parse(yaml) as Record<string, unknown> & { stages: string[] };
    // GitLab refuses `needs` on a later stage: rollback-wave-1 answers wave 3's failure too.
    expect(config.stages.indexOf('rollback-wave-1')).toBeGreaterThan(config.stages.indexOf('wave-3'));
    expect((config['rollback-wave-1'] as Job).needs?.map((n) => (n as { job: string }).job)).toEqual([
      'wave-1',
      'wave-2',
      'wave-3',
    ]);
    expect((config['wave-1'] as Job).services).toBeUndefined();
    expect((config['wave-1'] as Job).variables?.DOCKER_HOST).toBeUndefined();
    const dind = parse(await generateCi('gitlab', fleetPlan())) as Record<string, Job>;
    expect(dind['wave-1']?.services).toEqual([{ name: 'docker:27-dind', alias: 'docker' }]);
  });
});
