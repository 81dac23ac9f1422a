/**
 * Runs emitted `.gitlab-ci.yml` files in gitlab-ci-local (shell executor, each job in its own copy of the
 * project, artifacts handed over by gitlab-ci-local): stages run in order, the journal and output files travel
 * between jobs, a failing stage fails the pipeline and triggers the rollback job, and the digest a local
 * `vnfpipe run` records equals the one the CI jobs record.
 *
 * Parity is checked on an `exec` step's output file digest (a reproducible tar of the sources) and on an
 * `image.build` image digest.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateCi } from '../../src/ci/generate.js';
import type { RunRecord } from '../../src/pipeline/journal.js';
import { loadPipeline } from '../../src/pipeline/loader.js';
import { planPipeline } from '../../src/pipeline/plan.js';
import { makeProject } from '../support/project.js';
import { makeCiProject, runGitlabCiLocal } from './support/ci-project.js';
import { gitlabSchemaErrors } from './support/validators.js';

const PIPELINE = `import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { definePipeline, exec } from 'vnfpipe';

export default definePipeline('parity', (p) => {
  const pack = p.step('pack', exec({
    run: 'mkdir -p out && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf out/vnf.tar src',
    inputs: ['src/**'],
    outputs: ['out/vnf.tar'],
  }));
  const restore = p.step('restore', exec({ run: 'mkdir -p out && echo restored > out/rollback.txt', outputs: ['out/rollback.txt'] }),
    { stage: 'rollback', needs: [pack] });
  p.step('check', async (ctx) => {
    const [file] = ctx.output(pack.out.files);
    if (!file) throw new Error('pack produced nothing');
    // The file handed over by the previous job must be the one the journal describes.
    const digest = 'sha256:' + createHash('sha256').update(readFileSync(file.path)).digest('hex');
    if (digest !== file.digest) throw new Error('digest mismatch: ' + digest + ' != ' + file.digest);
    if (ctx.env.FAIL_VERIFY === '1') throw new Error('verify failed on purpose');
    ctx.log('verified ' + digest);
    return { digest };
  }, { stage: 'verify', needs: [pack], onFailure: restore });
});
`;

const SOURCES = { 'src/vnf.conf': 'rule allow udp 5000\n', 'src/bin/start.sh': '#!/bin/sh\nexec vnf\n' };

function journals(stateDir: string): RunRecord[] {
  const runs = join(stateDir, 'runs');
  return readdirSync(runs)
    .sort()
    .map((id) => JSON.parse(readFileSync(join(runs, id, 'run.json'), 'utf8')) as RunRecord);
}

/** The digest of the file the `pack` step recorded in a run's journal. */
function packDigest(run: RunRecord | undefined): string | undefined {
  const output = run?.steps.pack?.output as { files?: Array<{ digest: string }> } | undefined;
  return output?.files?.[0]?.digest;
}

const IMAGE_PIPELINE = `import { readFileSync } from 'node:fs';
import { definePipeline } from 'vnfpipe';
import { image } from 'vnfpipe';

export default definePipeline('image-parity', (p) => {
  const img = p.step('image', image.build({
    from: 'scratch',
    layers: [image.files({ 'src/vnf.conf': '/etc/vnf.conf', 'src/bin/start.sh': '/usr/local/bin/start.sh' })],
    cmd: ['/usr/local/bin/start.sh'],
  }));
  p.step('check', async (ctx) => {
    const { digest } = ctx.output(img.out);
    // The OCI layout the build job wrote came along with the journal.
    const index = readFileSync('.vnfpipe/oci/index.json', 'utf8');
    if (!index.includes(digest)) throw new Error('image ' + digest + ' is not in the handed-over layout');
    return { digest };
  }, { stage: 'verify', needs: [img] });
});
`;

async function projectWithCi(pipelineSource = PIPELINE) {
  const project = await makeCiProject({ 'vnfpipe.config.ts': pipelineSource, ...SOURCES });
  const { pipeline } = await loadPipeline('vnfpipe.config.ts', project.dir);
  // The test variant installs nothing: node_modules/vnfpipe is already linked and jobs have no network.
  const yaml = await generateCi('gitlab', planPipeline(pipeline), { install: null });
  expect(gitlabSchemaErrors(yaml)).toEqual([]);
  project.write('.gitlab-ci.yml', yaml);
  await project.commit();
  return project;
}

// Each case runs several CI jobs, each a fresh process tree: on a busy 2-core machine that takes minutes.
describe('gitlab-ci-local runs the emitted pipeline', { timeout: 240_000 }, () => {
  it('runs stages in order, hands journal and files on, and matches a local run’s digest', async () => {
    const project = await projectWithCi();
    const ci = await runGitlabCiLocal(project.dir);
    expect(ci.output).toMatch(/PASS\s+build/);
    expect(ci.code, ci.output).toBe(0);
    const buildStart = ci.output.search(/build\s+starting/);
    expect(buildStart).toBeGreaterThanOrEqual(0);
    expect(buildStart).toBeLessThan(ci.output.search(/verify\s+starting/));
    // The rollback job runs only when verify fails.
    expect(ci.output).not.toMatch(/rollback\s+starting/);

    const artifacts = join(project.dir, '.gitlab-ci-local', 'artifacts');
    const [buildRun] = journals(join(artifacts, 'build', '.vnfpipe'));
    const verifyRuns = journals(join(artifacts, 'verify', '.vnfpipe'));
    const verifyRun = verifyRuns.find((run) => run.stages?.includes('verify'))!;
    expect(buildRun?.status).toBe('ok');
    expect(verifyRun.status).toBe('ok');
    // verify's job borrowed pack's output from the build job's journal, and saw the same file.
    expect(verifyRun.steps.pack?.fromRun).toBe(buildRun?.id);
    const ciDigest = packDigest(buildRun);
    expect((verifyRun.steps.check?.output as { digest?: string } | undefined)?.digest).toBe(ciDigest);
    expect(Date.parse(buildRun!.endedAt!)).toBeLessThanOrEqual(Date.parse(verifyRun.startedAt));

    // The same pipeline run locally in one go records the same digest.
    const local = makeProject({ 'vnfpipe.config.ts': PIPELINE, ...SOURCES });
    const result = await local.cli(['run']);
    expect(result.code, result.stderr).toBe(0);
    const [localRun] = journals(join(local.dir, '.vnfpipe'));
    const localDigest = packDigest(localRun);
    expect(localDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(localDigest).toBe(ciDigest);
  });

  it('fails the pipeline when a stage fails, and runs the rollback job', async () => {
    const project = await projectWithCi();
    const ci = await runGitlabCiLocal(project.dir, ['--variable', 'FAIL_VERIFY=1']);
    expect(ci.code, ci.output).not.toBe(0);
    expect(ci.output).toContain('verify failed on purpose');
    expect(ci.output).toMatch(/FAIL\s+verify/);
    expect(ci.output).toMatch(/PASS\s+rollback/);
    // The verify job rolls back as soon as verify fails; the rollback job, there for a verify job that was
    // killed before it could, reads that from the journal and does not roll back a second time.
    const artifacts = join(project.dir, '.gitlab-ci-local', 'artifacts');
    const verifyRun = journals(join(artifacts, 'verify', '.vnfpipe')).find((run) =>
      run.stages?.includes('verify'),
    );
    expect(verifyRun?.steps.restore?.status).toBe('ok');
    const rollbackRun = journals(join(artifacts, 'rollback', '.vnfpipe')).find((run) =>
      run.stages?.includes('rollback'),
    );
    expect(rollbackRun?.steps.restore).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/^not run: it already ran \(ok\) in run .*, where 'check' failed$/),
    });
  });

  it('builds the same image digest locally and across CI jobs', async () => {
    const project = await projectWithCi(IMAGE_PIPELINE);
    const ci = await runGitlabCiLocal(project.dir);
    expect(ci.code, ci.output).toBe(0);
    const artifacts = join(project.dir, '.gitlab-ci-local', 'artifacts');
    const [buildRun] = journals(join(artifacts, 'build', '.vnfpipe'));
    const verifyRun = journals(join(artifacts, 'verify', '.vnfpipe')).find((run) =>
      run.stages?.includes('verify'),
    );
    const ciDigest = (buildRun?.steps.image?.output as { digest?: string } | undefined)?.digest;
    expect(ciDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((verifyRun?.steps.check?.output as { digest?: string } | undefined)?.digest).toBe(ciDigest);

    const local = makeProject({ 'vnfpipe.config.ts': IMAGE_PIPELINE, ...SOURCES });
    const result = await local.cli(['run']);
    expect(result.code, result.stderr).toBe(0);
    const [localRun] = journals(join(local.dir, '.vnfpipe'));
    expect((localRun?.steps.image?.output as { digest?: string } | undefined)?.digest).toBe(ciDigest);
  });
});
