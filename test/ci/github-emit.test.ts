import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateCi } from '../../src/ci/generate.js';
import { emitGithubWorkflow, expr } from '../../src/ci/github/emit.js';
import type { Workflow } from '../../src/ci/github/model.js';
import { renderYaml } from '../../src/ci/render.js';
import { planPipeline } from '../../src/pipeline/plan.js';
import { deliveryPipeline, oddStagesPipeline, SECRET_VALUE, tinyPipeline } from './support/pipelines.js';
import { actionlint, workflowParser } from './support/validators.js';

async function expectValid(yaml: string) {
  expect(await actionlint(yaml)).toEqual([]);
  expect(await workflowParser(yaml)).toEqual([]);
}

const variants = {
  'delivery pipeline, defaults': () => generateCi('github', planPipeline(deliveryPipeline())),
  'delivery pipeline, platforms + manual deploy + pipeline file in a folder': () =>
    generateCi('github', planPipeline(deliveryPipeline()), {
      platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'],
      manual: ['deploy'],
      file: 'pipelines/vfw.ts',
      environment: 'staging',
      registry: { host: 'registry.example.com', usernameSecret: 'REG_USER', passwordSecret: 'REG_PASSWORD' },
    }),
  'tiny pipeline without install, no pull requests, no tags': () =>
    generateCi('github', planPipeline(tinyPipeline()), { install: null, pullRequests: false, tags: [] }),
  'odd stage names': () => generateCi('github', planPipeline(oddStagesPipeline())),
};

describe('GitHub Actions workflow', () => {
  for (const [name, make] of Object.entries(variants)) {
    it(`passes actionlint and GitHub's workflow parser: ${name}`, async () => {
      await expectValid(await make());
    });
  }

  it('is deterministic', async () => {
    const options = { platforms: ['linux/amd64', 'linux/arm64'] };
    expect(await generateCi('github', planPipeline(deliveryPipeline()), options)).toBe(
      await generateCi('github', planPipeline(deliveryPipeline()), options),
    );
  });

  it('maps the plan to jobs, needs, permissions, environments and secrets', async () => {
    const yaml = await generateCi('github', planPipeline(deliveryPipeline()));
    expect(yaml).not.toContain(SECRET_VALUE);
    const wf = parse(yaml) as Workflow;
    expect(Object.keys(wf.jobs)).toEqual(['build', 'scan', 'push', 'deploy', 'verify', 'rollback']);
    expect(wf.permissions).toEqual({ contents: 'read' });
    expect(wf.concurrency?.group).toBe(`vnfpipe-${expr('github.workflow')}-${expr('github.ref')}`);
    expect(wf.on).toEqual({
      push: { branches: ['main'], tags: ['v*'] },
      pull_request: {},
      workflow_dispatch: {},
    });

    const { build, scan, push, deploy, verify, rollback } = wf.jobs as Record<
      string,
      Workflow['jobs'][string]
    >;
    expect(build?.needs).toBeUndefined();
    expect(scan?.needs).toEqual(['build']);
    expect(push?.needs).toEqual(['build']);
    expect(deploy?.needs).toEqual(['push']);
    expect(rollback?.needs).toEqual(['deploy', 'verify']);

    expect(build?.permissions).toEqual({ contents: 'read' });
    expect(push?.permissions).toEqual({ contents: 'read', packages: 'write', 'id-token': 'write' });
    expect(deploy?.permissions).toEqual({ contents: 'read', deployments: 'write' });
    expect(verify?.permissions).toEqual({ contents: 'read' });

    expect(deploy?.environment).toEqual({ name: 'production' });
    expect(rollback?.environment).toEqual({ name: 'production' });
    expect(deploy?.concurrency).toEqual({ group: 'vnfpipe-deploy-production', 'cancel-in-progress': false });
    expect(deploy?.if).toBe(expr("github.event_name != 'pull_request'"));
    expect(rollback?.if).toBe(
      expr("failure() && needs.verify.result == 'failure' && github.event_name != 'pull_request'"),
    );
    // The scan step's own 45m timeout raises its job's.
    expect(scan?.['timeout-minutes']).toBe(55);
    expect(build?.['timeout-minutes']).toBe(30);

    const runStep = (job: typeof build) => job?.steps.find((step) => step.run?.includes('vnfpipe run'));
    expect(runStep(build)?.run).toBe('npx vnfpipe run --stage build');
    expect(runStep(push)?.env).toEqual({ REGISTRY_TOKEN: expr('secrets.REGISTRY_TOKEN') });
    expect(runStep(deploy)?.env).toEqual({
      KUBE_CONFIG: expr('secrets.KUBE_CONFIG'),
      GITHUB_TOKEN: expr('secrets.GITHUB_TOKEN'),
      // GitHub Deployments recorded by the deploy step name the job's environment.
      VNFPIPE_ENVIRONMENT: 'production',
    });
    expect(runStep(verify)?.env).toEqual({ HOOK_TOKEN: expr('secrets.HOOK_TOKEN') });
    // Secrets are given to the one step that runs vnfpipe, not to the job (and its third-party actions).
    expect(build?.env).toBeUndefined();

    const uses = (job: typeof build) => job?.steps.map((step) => step.uses ?? step.name);
    expect(uses(verify)).toEqual([
      'actions/checkout@v4',
      'actions/setup-node@v4',
      'Install dependencies',
      'actions/download-artifact@v4',
      'Unpack earlier stages',
      'actions/cache@v4',
      'vnfpipe run --stage verify',
      'Pack this stage for later jobs',
      'actions/upload-artifact@v4',
    ]);
    expect(uses(deploy)).toContain('Check the Docker engine');
    expect(uses(push)).toContain('Log in to ghcr.io');
    expect(uses(build)).not.toContain('actions/download-artifact@v4');
    // The first job type-checks the pipeline (run strips types unchecked); later jobs wait for it.
    expect(build?.steps.find((step) => step.name === 'Type-check the pipeline')?.run).toBe(
      'npx vnfpipe check',
    );
    expect(uses(verify)).not.toContain('Type-check the pipeline');
    const pack = build?.steps.find((step) => step.name === 'Pack this stage for later jobs');
    expect(pack?.run).toContain('for p in .vnfpipe/runs/ .vnfpipe/oci/ out/**/*.so out/docs.tar out/vfw; do');
    expect(pack?.if).toBe('always()');
    const cache = verify?.steps.find((step) => step.uses === 'actions/cache@v4');
    expect(cache?.with?.path).toBe('.vnfpipe/cache/');
    expect(yaml).toContain('# Repository secrets used: HOOK_TOKEN, KUBE_CONFIG, REGISTRY_TOKEN.');
  });

  it('runs each stage once per platform, with per-platform artifacts', async () => {
    const yaml = await generateCi('github', planPipeline(deliveryPipeline()), {
      platforms: ['linux/amd64', 'linux/arm64'],
      manual: ['deploy'],
      file: 'pipelines/vfw.ts',
    });
    const wf = parse(yaml) as Workflow;
    const verify = wf.jobs.verify!;
    expect(verify.strategy?.matrix.include).toEqual([
      { platform: 'linux/amd64', slug: 'linux-amd64' },
      { platform: 'linux/arm64', slug: 'linux-arm64' },
    ]);
    const download = verify.steps.find((step) => step.uses === 'actions/download-artifact@v4');
    expect(download?.with?.name).toBe(`vnfpipe-deploy-${expr('matrix.slug')}`);
    const run = verify.steps.find((step) => step.run?.includes('vnfpipe run'));
    expect(run?.run).toBe('npx vnfpipe run --stage verify -f pipelines/vfw.ts');
    expect(run?.env?.VNFPIPE_PLATFORM).toBe(expr('matrix.platform'));
    expect(wf.jobs.deploy?.if).toBe(expr("github.event_name == 'workflow_dispatch'"));
    // The pipeline's project folder is pipelines/: its state and outputs live there.
    const cache = verify.steps.find((step) => step.uses === 'actions/cache@v4');
    expect(cache?.with?.path).toBe('pipelines/.vnfpipe/cache/');
  });

  it('both validators reject a broken model', async () => {
    const { workflow } = emitGithubWorkflow(planPipeline(deliveryPipeline()));
    const broken: Workflow = structuredClone(workflow);
    // A job that needs one that does not exist, an unclosed expression, and a step with both uses and run.
    broken.jobs.verify!.needs = ['deploy', 'no-such-job'];
    broken.jobs.build!.if = '${{ github.ref == ';
    broken.jobs.scan!.steps.push({ uses: 'actions/checkout@v4', run: 'echo both' });
    const yaml = await renderYaml(broken);
    const lint = await actionlint(yaml);
    const parser = await workflowParser(yaml);
    expect(lint.join('\n')).toMatch(/no-such-job/);
    expect(lint.length).toBeGreaterThanOrEqual(3);
    expect(parser.length).toBeGreaterThanOrEqual(1);
    expect(parser.join('\n')).toMatch(/expression|Unexpected|uses|run/i);
  });
});
