import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGithubClient } from '../../src/ci/github/client.js';
import {
  deploymentTargetFromEnv,
  markRolledBack,
  recordDeployment,
  startDeployment,
} from '../../src/ci/github/deployments.js';
import { openWorkflowPullRequest } from '../../src/ci/github/pull-request.js';
import { ciCommand } from '../../src/cli/ci.js';
import { VnfpipeError } from '../../src/errors.js';
import { makeCiProject } from './support/ci-project.js';
import { type GithubSimulator, startGithubSimulator } from './support/github-server.js';

const TOKEN = 'ghp_vnfpipeTestToken0123456789abcdefABCDEF';
const WORKFLOW = 'name: ci\non: push\n';

let gh: GithubSimulator;

beforeAll(async () => {
  gh = await startGithubSimulator({
    token: TOKEN,
    repos: {
      'acme/vfw': {},
      'acme/existing': { defaultBranch: 'trunk' },
    },
  });
}, 180_000);

afterAll(async () => {
  await gh?.close();
});

const client = (token = TOKEN) => createGithubClient({ token, baseUrl: gh.url, env: {} });
const since = (start: number) => gh.calls.slice(start).map((call) => `${call.operationId} ${call.status}`);

function expectNoTokenIn(text: string) {
  expect(text).not.toContain(TOKEN);
  expect(text).not.toContain(Buffer.from(TOKEN).toString('base64'));
}

describe('pull request with the generated workflow', () => {
  it('creates the branch, commits the file, opens the pull request', async () => {
    const start = gh.calls.length;
    const pr = await openWorkflowPullRequest(await client(), {
      owner: 'acme',
      repo: 'vfw',
      path: '.github/workflows/vnfpipe.yml',
      content: WORKFLOW,
    });
    expect(pr).toMatchObject({ number: 1, branch: 'vnfpipe/ci', opened: true, committed: true });
    expect(since(start)).toEqual([
      'repos/get 200',
      'git/get-ref 200',
      'git/get-ref 404',
      'git/create-ref 201',
      'repos/get-content 404',
      'repos/create-or-update-file-contents 201',
      'pulls/list 200',
      'pulls/create 201',
    ]);
    const put = gh.calls.find((call) => call.operationId === 'repos/create-or-update-file-contents');
    expect(put?.path).toBe('/repos/acme/vfw/contents/.github%2Fworkflows%2Fvnfpipe.yml');
    expect(gh.repo('acme/vfw').files.get('vnfpipe/ci:.github/workflows/vnfpipe.yml')?.content).toBe(WORKFLOW);
    expect(gh.invalid).toEqual([]);
  });

  it('updates the branch and the open pull request the next time, and skips an unchanged file', async () => {
    let start = gh.calls.length;
    const changed = await openWorkflowPullRequest(await client(), {
      owner: 'acme',
      repo: 'vfw',
      path: '.github/workflows/vnfpipe.yml',
      content: `${WORKFLOW}# changed\n`,
      base: 'main',
    });
    expect(changed).toMatchObject({ number: 1, opened: false, committed: true });
    expect(since(start)).toEqual([
      'git/get-ref 200',
      'git/get-ref 200',
      'repos/get-content 200',
      'repos/create-or-update-file-contents 200',
      'pulls/list 200',
      'pulls/update 200',
    ]);
    // Updating an existing file must name the blob it replaces.
    const put = gh.calls.at(-3)?.body as { sha?: string } | undefined;
    expect(put?.sha).toMatch(/^[0-9a-f]{40}$/);

    start = gh.calls.length;
    const same = await openWorkflowPullRequest(await client(), {
      owner: 'acme',
      repo: 'vfw',
      path: '.github/workflows/vnfpipe.yml',
      content: `${WORKFLOW}# changed\n`,
      base: 'main',
    });
    expect(same).toMatchObject({ number: 1, opened: false, committed: false });
    expect(since(start)).not.toContain('repos/create-or-update-file-contents 200');
    expect(gh.invalid).toEqual([]);
  });

  it('maps 422 to an error carrying GitHub’s reason', async () => {
    gh.failNext('pulls/create', 422, 'Validation Failed', [
      { resource: 'PullRequest', code: 'custom', message: 'No commits between trunk and vnfpipe/ci' },
    ]);
    const error = await openWorkflowPullRequest(await client(), {
      owner: 'acme',
      repo: 'existing',
      path: '.github/workflows/vnfpipe.yml',
      content: WORKFLOW,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VnfpipeError);
    const err = error as VnfpipeError;
    expect(err.code).toBe('STEP_FAILED');
    expect(err.message).toContain('opening a pull request from vnfpipe/ci into trunk');
    expect(err.message).toContain('422 Validation Failed; No commits between trunk and vnfpipe/ci');
    expect(err.where).toBe(`POST ${gh.url}/repos/acme/existing/pulls`);
    expectNoTokenIn(err.describe());
  });

  it('maps 404 to “not found, or the token cannot see it”', async () => {
    const error = (await openWorkflowPullRequest(await client(), {
      owner: 'acme',
      repo: 'missing',
      path: '.github/workflows/vnfpipe.yml',
      content: WORKFLOW,
    }).catch((e: unknown) => e)) as VnfpipeError;
    expect(error).toBeInstanceOf(VnfpipeError);
    expect(error.code).toBe('USAGE');
    expect(error.message).toBe('reading repository acme/missing: not found (404 Not Found)');
    expect(error.hint).toContain('private repositories answer 404');
  });

  it('maps 401 to a clear message without the token', async () => {
    const wrong = 'ghp_wrongTokenValue999999999999999999999';
    const error = (await openWorkflowPullRequest(await client(wrong), {
      owner: 'acme',
      repo: 'vfw',
      path: '.github/workflows/vnfpipe.yml',
      content: WORKFLOW,
    }).catch((e: unknown) => e)) as VnfpipeError;
    expect(error).toBeInstanceOf(VnfpipeError);
    expect(error.message).toBe(
      'reading repository acme/vfw: GitHub rejected the token (401 Bad credentials)',
    );
    expect(error.hint).toContain('GITHUB_TOKEN');
    expect(error.describe()).not.toContain(wrong);
    expect(JSON.stringify(error)).not.toContain(wrong);
    expect(String(error.stack)).not.toContain(wrong);
  });
});

describe('vnfpipe ci github --open-pr', () => {
  it('proposes the generated workflow on a GitHub Enterprise server, token from the environment', async () => {
    const ghe = await startGithubSimulator({ token: TOKEN, prefix: '/api/v3', repos: { 'acme/vfw': {} } });
    try {
      const project = await makeCiProject({
        'vnfpipe.config.ts':
          "import { definePipeline, exec } from 'vnfpipe';\nexport default definePipeline('pr', (p) => { p.step('a', exec({ run: 'true' })); });\n",
      });
      let out = '';
      let err = '';
      const code = await ciCommand(
        'github',
        { openPr: true, branch: 'ci/vnfpipe' },
        {
          cwd: project.dir,
          env: { GITHUB_TOKEN: TOKEN, GITHUB_REPOSITORY: 'acme/vfw', GITHUB_API_URL: ghe.url },
          stdout: (text) => {
            out += text;
          },
          stderr: (text) => {
            err += text;
          },
        },
      );
      expect(code).toBe(0);
      expect(out).toBe('opened pull request #1 (https://github.example/acme/vfw/pull/1)\n');
      expect(ghe.calls.map((call) => call.path)).toContain('/repos/acme/vfw/git/refs');
      const committed = ghe.repo('acme/vfw').files.get('ci/vnfpipe:.github/workflows/vnfpipe.yml')?.content;
      expect(committed).toContain('run: npx vnfpipe run --stage build');
      expect(ghe.invalid).toEqual([]);
      expectNoTokenIn(out + err);
      expect(ghe.authHeaders.every((header) => header === `token ${TOKEN}`)).toBe(true);

      // A rejected token: exit through a VnfpipeError that never shows it.
      const error = (await ciCommand(
        'github',
        { openPr: true, tokenEnv: 'MY_TOKEN', apiUrl: ghe.url, repo: 'acme/vfw' },
        {
          cwd: project.dir,
          env: { MY_TOKEN: 'ghp_revoked000000000000000000000000000' },
          stdout: () => {},
        },
      ).catch((e: unknown) => e)) as VnfpipeError;
      expect(error.exitCode).toBe(2);
      expect(error.describe()).toContain('GitHub rejected the token (401 Bad credentials)');
      expect(error.describe()).not.toContain('ghp_revoked');
    } finally {
      await ghe.close();
    }
  });
});

describe('deployments', () => {
  const actionsEnv = {
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'acme/vfw',
    GITHUB_SHA: 'a'.repeat(40),
    GITHUB_SERVER_URL: 'https://github.example',
    GITHUB_RUN_ID: '42',
  };

  it('records a deployment: in_progress, then success', async () => {
    const start = gh.calls.length;
    const result = await recordDeployment(
      {
        environment: 'production',
        env: actionsEnv,
        client: await client(),
        environmentUrl: 'http://127.0.0.1:8080',
      },
      async (deployment) => ({ revision: 3, deployment: deployment?.id }),
    );
    expect(result.deployment).toBeTypeOf('number');
    expect(since(start)).toEqual([
      'repos/create-deployment 201',
      'repos/create-deployment-status 201',
      'repos/create-deployment-status 201',
    ]);
    const [create, progress, done] = gh.calls.slice(start);
    expect(create?.body).toMatchObject({
      ref: 'a'.repeat(40),
      environment: 'production',
      required_contexts: [],
      auto_merge: false,
    });
    expect(progress?.body).toMatchObject({
      state: 'in_progress',
      log_url: 'https://github.example/acme/vfw/actions/runs/42',
    });
    expect(done?.body).toMatchObject({ state: 'success', environment_url: 'http://127.0.0.1:8080' });
    expect(gh.invalid).toEqual([]);
  });

  it('marks a failed deploy failure and rethrows; a rolled-back one inactive', async () => {
    const start = gh.calls.length;
    const boom = new Error('container exited');
    await expect(
      recordDeployment({ environment: 'staging', env: actionsEnv, client: await client() }, async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    const c = await client();
    const target = deploymentTargetFromEnv('staging', actionsEnv)!;
    const deployment = await startDeployment(c, target);
    await deployment.setStatus('success');
    await markRolledBack(c, target, deployment.id);
    expect(
      gh.calls.slice(start).map((call) => (call.body as { state?: string }).state ?? call.operationId),
    ).toEqual([
      'repos/create-deployment',
      'in_progress',
      'failure',
      'repos/create-deployment',
      'in_progress',
      'success',
      'inactive',
    ]);
    expect(gh.repo('acme/vfw').deployments.at(-1)?.statuses).toEqual(['in_progress', 'success', 'inactive']);
    expect(gh.invalid).toEqual([]);
  });

  it('does nothing outside GitHub Actions unless given a target', async () => {
    const start = gh.calls.length;
    expect(await recordDeployment({ environment: 'production', env: {} }, async (d) => d)).toBeUndefined();
    expect(gh.calls.length).toBe(start);
    expect(deploymentTargetFromEnv('production', {})).toBeUndefined();
  });

  it('a 404 on the deployment names the repository problem', async () => {
    const error = (await startDeployment(await client(), {
      owner: 'acme',
      repo: 'gone',
      ref: 'main',
      environment: 'production',
    }).catch((e: unknown) => e)) as VnfpipeError;
    expect(error.message).toBe('creating a deployment of main to production: not found (404 Not Found)');
    expectNoTokenIn(error.describe());
  });

  it('the simulator rejects a request GitHub’s description does not allow', async () => {
    const c = await client();
    const start = gh.invalid.length;
    const error = await c
      .call('sending a bad status', () =>
        c.octokit.request('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', {
          owner: 'acme',
          repo: 'vfw',
          deployment_id: 1001,
          state: 'exploded' as never,
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VnfpipeError);
    expect(gh.invalid.length).toBe(start + 1);
    gh.invalid.length = start;
  });
});
