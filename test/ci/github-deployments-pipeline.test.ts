/**
 * A deploy → verify → rollback pipeline run as in GitHub Actions records GitHub Deployments: the GitHub API is
 * the loopback simulator that checks every request against GitHub's OpenAPI description; the deploys are
 * real (Docker engine).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGithubClient } from '../../src/ci/github/client.js';
import { recordDeployment } from '../../src/ci/github/deployments.js';
import { DockerTarget } from '../../src/deploy/docker/target.js';
import { deploy, rollback } from '../../src/deploy/step.js';
import { definePipeline } from '../../src/pipeline/define.js';
import type { RunEvent } from '../../src/pipeline/events.js';
import { runPipeline } from '../../src/pipeline/scheduler.js';
import { type ProbeSpec, probe } from '../../src/verify/probes.js';
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
    await new DockerTarget(join(dir, '.vnfpipe')).destroy({ name: `${name}-x`, image: 'x' });
    await gh?.close();
  });

  const pipeline = (
    mode: string,
    probes: ProbeSpec[] = [probe.exec({ command: ['sh', '-c', 'test "$MODE" = good'], attempts: 1 })],
  ) =>
    definePipeline('gh', (p) => {
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

  const envOf = () => ({
    ...process.env,
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'acme/vfw',
    GITHUB_SHA: 'a'.repeat(40),
    GITHUB_RUN_ID: '42',
    GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: gh.url,
    VNFPIPE_ENVIRONMENT: 'staging',
  });

  it('marks a verified deploy success, and a failed one failure then inactive after the rollback', async () => {
    const env = envOf();
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
    // What the end of the run shows about the rollback.
    expect((bad.outputs.rollback as { summary: string }).summary).toBe(
      `rolled back ${name} from revision 2 to 1, verified (1 of 1 probes passed)`,
    );

    expect(gh.invalid).toEqual([]);
    const deployments = gh.repo('acme/vfw').deployments;
    expect(deployments.map((d) => [d.environment, d.ref, d.statuses])).toEqual([
      ['staging', 'a'.repeat(40), ['in_progress', 'success']],
      ['staging', 'a'.repeat(40), ['in_progress', 'failure', 'inactive']],
    ]);
    expect(seen.join('\n')).not.toContain(TOKEN);
    expect((good.outputs.deploy as { github?: { id: number } }).github?.id).toBe(deployments[0]?.id);
  });

  /** Runs `pipeline`, returning the result, every event as JSON, and the warnings each step logged. */
  async function observed(
    p: ReturnType<typeof pipeline>,
    env: Record<string, string | undefined>,
    hook?: (e: RunEvent) => void,
  ) {
    const seen: string[] = [];
    const warnings: Record<string, string[]> = {};
    const result = await runPipeline(p, {
      cwd: dir,
      env,
      onEvent: (e) => {
        seen.push(JSON.stringify(e));
        if (e.type === 'step.log' && e.stream === 'warn')
          warnings[e.step] = [...(warnings[e.step] ?? []), e.line];
        hook?.(e);
      },
    });
    return { result, seen: seen.join('\n'), warnings };
  }

  it('reports a GitHub 500 during verify as a warning: verify passes and nothing is rolled back', async () => {
    const { result, seen, warnings } = await observed(pipeline('good'), envOf(), (e) => {
      // The deploy's in_progress went through; verify's success status is the call that fails.
      if (e.type === 'step.end' && e.step === 'deploy')
        gh.failNext('repos/create-deployment-status', 500, 'Server Error');
    });
    expect(result.steps.verify?.error).toBeUndefined();
    expect(result.status).toBe('ok');
    expect(result.steps.rollback?.status).toBe('skipped');
    // The warning and GitHub's hint.
    expect(warnings.verify).toEqual([
      expect.stringMatching(
        /^GitHub deployment: could not report verify\.passed \(the step's outcome is unchanged\): .*GitHub answered 500/,
      ),
      '  hint: try again later',
    ]);
    expect(seen).not.toContain(TOKEN);
  });

  it('reports a rejected token (401) as a warning: deploy and verify pass, the token is not shown', async () => {
    const wrong = 'ghp_vnfpipeWrongToken0123456789abcdefABCDEF';
    const { result, seen, warnings } = await observed(pipeline('good'), { ...envOf(), GITHUB_TOKEN: wrong });
    expect(result.status).toBe('ok');
    expect(warnings.deploy?.[0]).toContain('GitHub rejected the token (401');
    // Nothing was recorded, so verify has nothing to report.
    expect(warnings.verify).toBeUndefined();
    expect((result.outputs.deploy as { github?: unknown }).github).toBeUndefined();
    expect(seen).not.toContain(wrong);
  });

  it('keeps a failed deploy’s own error when GitHub fails while recording the failure', async () => {
    const broken = definePipeline('gh-broken', (p) => {
      p.step(
        'deploy',
        deploy.docker({
          workload: { name: `${name}-x`, image: busyboxInDocker(), command: ['sh', '-c', 'exit 3'] },
        }),
      );
    });
    const { result, warnings } = await observed(broken, envOf(), (e) => {
      if (e.type === 'step.log' && e.step === 'deploy' && e.line.endsWith(': in_progress'))
        gh.failNext('repos/create-deployment-status', 500, 'Server Error');
    });
    expect(result.steps.deploy?.error).toMatch(/revision 1 exited with code 3 right after start/);
    expect(warnings.deploy?.[0]).toMatch(/could not report deploy\.failed .*GitHub answered 500/);
  });

  it('recordDeployment() (the library form) runs the deploy and keeps its outcome when GitHub fails', async () => {
    const target = { owner: 'acme', repo: 'vfw', ref: 'b'.repeat(40), environment: 'staging' };
    const client = await createGithubClient({ token: TOKEN, baseUrl: gh.url });
    const warnings: string[] = [];
    const onWarning = (message: string) => warnings.push(message);

    gh.failNext('repos/create-deployment', 503, 'Service Unavailable');
    const ran = await recordDeployment({ environment: 'staging', target, client, onWarning }, async (d) => ({
      deployment: d,
    }));
    expect(ran).toEqual({ deployment: undefined });
    expect(warnings).toEqual([
      expect.stringMatching(/^GitHub deployment: could not start the deployment .*503/),
    ]);

    const boom = new Error('container exited');
    const fail = (d: unknown) => {
      if (d) gh.failNext('repos/create-deployment-status', 500, 'Server Error');
      return Promise.reject(boom);
    };
    await expect(recordDeployment({ environment: 'staging', target, client, onWarning }, fail)).rejects.toBe(
      boom,
    );
    expect(warnings[1]).toMatch(/could not mark it failure .*GitHub answered 500/);
    expect(warnings.join('\n')).not.toContain(TOKEN);
  });

  it('marks the deployment error (not failure) when verify cannot run its probes, and rolls nothing back', async () => {
    // No compiled probe tool and no compiler: verify's own tooling fails before any probe runs.
    rmSync(join(dir, '.vnfpipe', 'tools'), { recursive: true, force: true });
    const compiler = process.env.CC;
    process.env.CC = join(dir, 'no-such-cc');
    try {
      const { result } = await observed(
        pipeline('good', [probe.interface({ name: 'eth0', attempts: 1 })]),
        envOf(),
      );
      expect(result.steps.verify?.error).toMatch(/cannot compile the probe tool/);
      expect(result.steps.rollback?.status).toBe('skipped');
    } finally {
      if (compiler === undefined) delete process.env.CC;
      else process.env.CC = compiler;
    }
    expect(gh.repo('acme/vfw').deployments.at(-1)?.statuses).toEqual(['in_progress', 'error']);
    expect(gh.invalid).toEqual([]);
  });
});
