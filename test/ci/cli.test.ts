import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ciCommand } from '../../src/cli/ci.js';
import { REPO_ROOT } from '../support/project.js';
import { makeCiProject } from './support/ci-project.js';
import { actionlint, gitlabSchemaErrors, workflowParser } from './support/validators.js';

const PIPELINE = `import { definePipeline, exec, secret } from 'vnfpipe';
export default definePipeline('cli', (p) => {
  const a = p.step('compile', exec({ run: 'echo build > out.txt', outputs: ['out.txt'] }));
  p.step('smoke', exec({ run: 'cat out.txt', env: { T: secret('SMOKE_TOKEN') } }), { stage: 'verify', needs: [a] });
});
`;

function capture() {
  let text = '';
  return {
    out: (chunk: string) => {
      text += chunk;
    },
    text: () => text,
  };
}

describe('vnfpipe ci', () => {
  it('writes the file, then --check exits 0; after a change it exits 1 with a unified diff', async () => {
    const project = await makeCiProject({ 'pipelines/app.ts': PIPELINE });
    const io = capture();
    expect(
      await ciCommand('github', { file: 'pipelines/app.ts' }, { cwd: project.dir, stdout: io.out }),
    ).toBe(0);
    expect(io.text()).toBe('wrote .github/workflows/vnfpipe.yml from pipelines/app.ts\n');
    const written = readFileSync(join(project.dir, '.github/workflows/vnfpipe.yml'), 'utf8');
    expect(written).toContain('npx vnfpipe run --stage build -f pipelines/app.ts');

    const ok = capture();
    expect(
      await ciCommand(
        'github',
        { file: 'pipelines/app.ts', check: true },
        { cwd: project.dir, stdout: ok.out },
      ),
    ).toBe(0);
    expect(ok.text()).toContain('is up to date');

    // A structural change (a new declared output travels between jobs) changes the workflow.
    project.write(
      'pipelines/app.ts',
      PIPELINE.replace("outputs: ['out.txt']", "outputs: ['out.txt', 'extra.txt']"),
    );
    const drift = capture();
    expect(
      await ciCommand(
        'github',
        { file: 'pipelines/app.ts', check: true },
        { cwd: project.dir, stdout: drift.out, stderr: () => {} },
      ),
    ).toBe(1);
    expect(drift.text()).toMatch(
      /^--- a\/\.github\/workflows\/vnfpipe\.yml\tcommitted\n\+\+\+ b\/\.github\/workflows\/vnfpipe\.yml\tgenerated\n@@ /m,
    );
    expect(drift.text()).toContain(
      '+          for p in pipelines/.vnfpipe/runs/ pipelines/.vnfpipe/oci/ pipelines/extra.txt pipelines/out.txt; do',
    );
    expect(drift.text()).toContain(
      '-          for p in pipelines/.vnfpipe/runs/ pipelines/.vnfpipe/oci/ pipelines/out.txt; do',
    );
  });

  it('--check on a missing file exits 1; gitlab writes .gitlab-ci.yml to -o', async () => {
    const project = await makeCiProject({ 'vnfpipe.config.ts': PIPELINE });
    const missing = capture();
    const errors = capture();
    expect(
      await ciCommand(
        'gitlab',
        { check: true },
        { cwd: project.dir, stdout: missing.out, stderr: errors.out },
      ),
    ).toBe(1);
    expect(errors.text()).toBe('vnfpipe: .gitlab-ci.yml does not exist; run `vnfpipe ci gitlab`\n');
    expect(missing.text()).toContain('--- /dev/null');

    const io = capture();
    expect(
      await ciCommand(
        'gitlab',
        { output: 'ci/gitlab.yml', install: false },
        { cwd: project.dir, stdout: io.out },
      ),
    ).toBe(0);
    const yaml = readFileSync(join(project.dir, 'ci/gitlab.yml'), 'utf8');
    expect(gitlabSchemaErrors(yaml)).toEqual([]);
    expect(yaml).not.toContain('npm ci');
    expect(yaml).toContain('- npx vnfpipe run --stage build\n');
    expect(
      await ciCommand(
        'gitlab',
        { output: 'ci/gitlab.yml', install: false, check: true },
        { cwd: project.dir, stdout: () => {} },
      ),
    ).toBe(0);
  });

  it('rejects bad combinations and a missing token as usage errors, without network', async () => {
    const project = await makeCiProject({ 'vnfpipe.config.ts': PIPELINE });
    await expect(ciCommand('gitlab', { openPr: true }, { cwd: project.dir })).rejects.toMatchObject({
      code: 'USAGE',
      message: '--open-pr is for GitHub only',
    });
    await expect(
      ciCommand('github', { openPr: true, check: true }, { cwd: project.dir }),
    ).rejects.toMatchObject({
      code: 'USAGE',
    });
    await expect(
      ciCommand('github', { openPr: true, repo: 'acme/vfw' }, { cwd: project.dir, env: {} }),
    ).rejects.toMatchObject({ code: 'USAGE', message: 'no GitHub token: GITHUB_TOKEN is not set' });
    await expect(
      ciCommand('github', { openPr: true }, { cwd: project.dir, env: { GITHUB_TOKEN: 'x' } }),
    ).rejects.toMatchObject({
      code: 'USAGE',
      message: "GITHUB_REPOSITORY: '' is not a GitHub repository (owner/name)",
    });
    await expect(ciCommand('github', { platform: ['amd64'] }, { cwd: project.dir })).rejects.toMatchObject({
      code: 'USAGE',
    });
    await expect(ciCommand('gitlab', { manual: ['deploy'] }, { cwd: project.dir })).rejects.toMatchObject({
      code: 'USAGE',
      message: "manual stage 'deploy' is not in pipeline 'cli'",
      hint: 'stages are: build, verify',
    });
  });

  it('generates vnfpipe’s own workflow from pipelines/project-ci.ts, valid for both validators', async () => {
    const project = await makeCiProject({});
    const out = join(project.dir, 'ci.yml');
    const io = capture();
    const code = await ciCommand(
      'github',
      { file: 'pipelines/project-ci.ts', output: out, vnfpipe: 'node bin/vnfpipe.js' },
      { cwd: REPO_ROOT, stdout: io.out },
    );
    expect(code).toBe(0);
    const yaml = readFileSync(out, 'utf8');
    expect(await actionlint(yaml, '.github/workflows/ci.yml')).toEqual([]);
    expect(await workflowParser(yaml, 'ci.yml')).toEqual([]);
    expect(yaml).toContain('run: node bin/vnfpipe.js run --stage check -f pipelines/project-ci.ts');
    expect(yaml).toContain('run: node bin/vnfpipe.js run --stage test -f pipelines/project-ci.ts');
    expect(yaml).toMatch(/test:\n(.*\n)*? {4}needs:\n {6}- check\n/);
  });
});
