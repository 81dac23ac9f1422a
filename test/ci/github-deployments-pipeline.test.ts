/**
 * A deploy → verify → rollback pipeline run as in GitHub Actions records GitHub Deployments: the GitHub API is
 * the loopback simulator that checks every request against GitHub's OpenAPI description; the deploys are
 * real (Docker engine).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import { deploy, rollback } from '../../src/deploy/step.js';
import { definePipeline } from '../../src/pipeline/define.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { probe } from '../../src/verify/probes.js';
import { verify } from '../../src/verify/step.js';
import { requireDocker } from '../support/docker.js';
import { busyboxInDocker } from '../support/engine-images.js';
import { type GithubSimulator, startGithubSimulator } from './support/github-server.js';

const TOKEN = 'ghp_vnfpipeDeployToken0123456789abcdefABCDEF';
const name = `vg-${process.pid.toString(36)}`;

describe('GitHub Deployments recorded by the deploy, verify and rollback steps', () => {
  let gh: GithubSimulator;
  let dir: string;
  beforeAll(async () => {
    requireDocker();
    gh = await startGithubSimulator({ token: TOKEN, repos: { 'acme/vfw': {} } });
    dir = mkdtempSync(join(tmpdir(), 'vnfpipe-gh-deploy-'));
  }, 180_000);
  afterAll(async () => {
    await new DockerTarget(join(dir, '.vnfpipe')).destroy({ name, image: 'x' });
    await gh?.close();
  });

  const pipeline = (mode: string) =>
    definePipeline('gh', (p) => {
      const probes = [probe.exec({ command: ['sh', '-c', 'test "$MODE" = good'], attempts: 1 })];
      const rel = p.step(
        'deploy',
        deploy.docker({
          workload: {
            name,
            image: busyboxInDocker(),
            env: { MODE: mode },
            command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.2; done'],
          },
        }),
      );
      const back = p.step('rollback', rollback({ release: rel.out, probes }));
      p.step('verify', verify({ release: rel.out, probes }), { onFailure: back });
    });

  it('marks a verified deploy success, and a failed one failure then inactive after the rollback', async () => {
    const env = {
      ...process.env,
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'acme/vfw',
      GITHUB_SHA: 'a'.repeat(40),
      GITHUB_RUN_ID: '42',
      GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: gh.url,
      VNFPIPE_ENVIRONMENT: 'staging',
    };
    const seen: string[] = [];
    const good = await runPipeline(pipeline('good'), {
      cwd: dir,
      env,
      onEvent: (e) => seen.push(JSON.stringify(e)),
    });
    expect(good.steps.verify?.error).toBeUndefined();
    const bad = await runPipeline(pipeline('bad'), {
      cwd: dir,
      env,
      onEvent: (e) => seen.push(JSON.stringify(e)),
    });
    expect(bad.status).toBe('failed');
    expect(bad.steps.rollback?.status).toBe('ok');

    expect(gh.invalid).toEqual([]);
    const deployments = gh.repo('acme/vfw').deployments;
    expect(deployments.map((d) => [d.environment, d.ref, d.statuses])).toEqual([
      ['staging', 'a'.repeat(40), ['in_progress', 'success']],
      ['staging', 'a'.repeat(40), ['in_progress', 'failure', 'inactive']],
    ]);
    expect(seen.join('\n')).not.toContain(TOKEN);
    expect((good.outputs.deploy as { github?: { id: number } }).github?.id).toBe(deployments[0]?.id);
  });
});
