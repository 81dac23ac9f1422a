import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateCi } from '../../src/ci/generate.js';
import type { Job } from '../../src/ci/gitlab/model.js';
import { planPipeline } from '../../src/pipeline/plan.js';
import { deliveryPipeline, oddStagesPipeline, SECRET_VALUE, tinyPipeline } from './support/pipelines.js';
import { gitlabSchemaErrors } from './support/validators.js';

const variants = {
  'delivery pipeline, defaults': () => generateCi('gitlab', planPipeline(deliveryPipeline())),
  'delivery pipeline, platforms + manual deploy + registry': () =>
    generateCi('gitlab', planPipeline(deliveryPipeline()), {
      platforms: ['linux/amd64', 'linux/arm64'],
      manual: ['deploy'],
      file: 'pipelines/vfw.ts',
      registry: { host: 'registry.example.com', usernameSecret: 'REG_USER', passwordSecret: 'REG_PASSWORD' },
    }),
  'tiny pipeline for shell runners': () =>
    generateCi('gitlab', planPipeline(tinyPipeline()), { image: null, install: null, pullRequests: false }),
  'odd stage names': () => generateCi('gitlab', planPipeline(oddStagesPipeline())),
};

describe('.gitlab-ci.yml', () => {
  for (const [name, make] of Object.entries(variants)) {
    it(`validates against GitLab's CI schema: ${name}`, async () => {
      expect(gitlabSchemaErrors(await make())).toEqual([]);
    });
  }

  it('maps the plan to stages, needs, rules, environments and artifacts', async () => {
    const yaml = await generateCi('gitlab', planPipeline(deliveryPipeline()), { manual: ['deploy'] });
    expect(yaml).not.toContain(SECRET_VALUE);
    expect(yaml).toContain('# Masked CI/CD variables used: HOOK_TOKEN, KUBE_CONFIG, REGISTRY_TOKEN.');
    const config = parse(yaml) as Record<string, unknown> & { stages: string[] };
    expect(config.stages).toEqual(['build', 'scan', 'push', 'deploy', 'verify', 'rollback']);
    const job = (name: string) => config[name] as Job;
    expect(job('build').needs).toEqual([]);
    expect(job('verify').needs).toEqual([{ job: 'deploy', artifacts: true }]);
    expect(job('rollback').needs).toEqual([
      { job: 'deploy', artifacts: true },
      { job: 'verify', artifacts: true },
    ]);
    expect(job('rollback').rules).toEqual([
      { if: '$CI_PIPELINE_SOURCE == "merge_request_event"', when: 'never' },
      { when: 'on_failure' },
    ]);
    expect(job('deploy').rules?.at(-1)).toEqual({ when: 'manual' });
    expect(job('deploy').allow_failure).toBe(false);
    expect(job('deploy').environment).toEqual({ name: 'production' });
    expect(job('deploy').resource_group).toBe('production');
    expect(job('deploy').interruptible).toBe(false);
    expect(job('build').interruptible).toBe(true);
    expect(job('deploy').services).toEqual([{ name: 'docker:27-dind', alias: 'docker' }]);
    expect(job('build').services).toBeUndefined();
    expect(job('build').script).toEqual(['npx vnfpipe check', 'npx vnfpipe run --stage build']);
    expect(job('build').before_script).toEqual(['npm ci']);
    expect(job('build').artifacts).toEqual({
      name: 'vnfpipe-build',
      paths: ['.vnfpipe/runs/', '.vnfpipe/oci/', 'out/**/*.so', 'out/docs.tar', 'out/vfw'],
      when: 'always',
      expire_in: '1 week',
    });
    // Secrets are never written: GitLab puts masked variables in the environment by name.
    expect(JSON.stringify(job('push').variables ?? {})).not.toContain('REGISTRY_TOKEN');
    expect(job('push').before_script?.join('\n')).toContain('$CI_REGISTRY_PASSWORD');
  });

  it('spells platforms out as jobs that need their own platform only', async () => {
    const config = parse(
      await generateCi('gitlab', planPipeline(deliveryPipeline()), {
        platforms: ['linux/amd64', 'linux/arm64'],
      }),
    ) as Record<string, Job>;
    expect(config['verify:linux-arm64']?.needs).toEqual([{ job: 'deploy:linux-arm64', artifacts: true }]);
    expect(config['verify:linux-arm64']?.variables?.VNFPIPE_PLATFORM).toBe('linux/arm64');
    expect(config['build:linux-amd64']?.cache?.[0]?.key).toBe('vnfpipe-build-linux-amd64');
  });

  it('keeps stage names that are GitLab keywords from becoming configuration', async () => {
    const config = parse(await generateCi('gitlab', planPipeline(oddStagesPipeline()))) as Record<
      string,
      unknown
    >;
    expect(config['vnfpipe-variables']).toMatchObject({ stage: 'variables', needs: [{ job: '1st.stage' }] });
    expect(config.variables).toEqual({ npm_config_cache: '$CI_PROJECT_DIR/.npm' });
  });

  it('the schema rejects a broken configuration', async () => {
    const config = parse(await generateCi('gitlab', planPipeline(tinyPipeline()))) as Record<
      string,
      Record<string, unknown>
    >;
    config.build!.when = 'sometimes';
    config.build!.script = 'not a list' as never;
    config.build!.artifacts = { paths: 'out/' };
    const errors = gitlabSchemaErrors(JSON.stringify(config));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toMatch(/\/build/);
  });
});
