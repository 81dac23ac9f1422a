/**
 * GitHub Deployments for releases, an observer of release events: inside GitHub Actions (or when a deploy
 * step is given `github: { … }`) a deploy creates a GitHub Deployment marked in_progress, verify marks it
 * success or failure, and a rollback marks the rolled-back one inactive. The deployment travels in the
 * release output, so the verify and rollback steps — possibly later CI jobs — find it. Reporting is
 * best-effort: the emitter turns a failure here into a warning.
 */
import type { Release } from '../pipeline/kinds.js';
import type { StepContext } from '../pipeline/model.js';
import type { ReleaseObserver } from './release-events.js';

export interface GithubDeploymentOptions {
  /** The environment shown on GitHub (default $VNFPIPE_ENVIRONMENT or `production`). */
  environment?: string;
  /** `owner/name` (default $GITHUB_REPOSITORY). */
  repository?: string;
  /** The commit deployed (default $GITHUB_SHA). */
  ref?: string;
}

/** The option on deploy steps: `false` turns recording off even in GitHub Actions. */
export type GithubOption = boolean | GithubDeploymentOptions | undefined;

export interface ReleaseDeployment {
  id: number;
  owner: string;
  repo: string;
  ref: string;
  environment: string;
  logUrl?: string;
}

async function clientFor(ctx: StepContext) {
  const { createGithubClient } = await import('../ci/github/client.js');
  if (ctx.env.GITHUB_TOKEN) ctx.addSecret(ctx.env.GITHUB_TOKEN);
  return createGithubClient({ env: ctx.env });
}

/** Starts a GitHub Deployment for a deploy step, or returns undefined when not recording. */
async function startReleaseDeployment(
  ctx: StepContext,
  option: GithubOption,
  name: string,
): Promise<ReleaseDeployment | undefined> {
  if (option === false) return undefined;
  const explicit = typeof option === 'object' ? option : option === true ? {} : undefined;
  if (!explicit && ctx.env.GITHUB_ACTIONS !== 'true') return undefined;
  const { deploymentTargetFromEnv, startDeployment } = await import('../ci/github/deployments.js');
  const { parseRepo } = await import('../ci/github/client.js');
  const environment = explicit?.environment ?? ctx.env.VNFPIPE_ENVIRONMENT ?? 'production';
  const fromEnv =
    ctx.env.GITHUB_ACTIONS === 'true' ? deploymentTargetFromEnv(environment, ctx.env) : undefined;
  const repository = explicit?.repository ? parseRepo(explicit.repository, 'github.repository') : fromEnv;
  const ref = explicit?.ref ?? fromEnv?.ref ?? ctx.env.GITHUB_SHA;
  if (!repository || !ref) return undefined;
  const target = {
    owner: repository.owner,
    repo: repository.repo,
    ref,
    environment,
    description: `vnfpipe deploy of ${name}`,
    ...(fromEnv?.logUrl ? { logUrl: fromEnv.logUrl } : {}),
  };
  const deployment = await startDeployment(await clientFor(ctx), target);
  ctx.log(`GitHub deployment ${deployment.id} to ${environment}: in_progress`);
  return {
    id: deployment.id,
    owner: target.owner,
    repo: target.repo,
    ref,
    environment,
    ...(target.logUrl ? { logUrl: target.logUrl } : {}),
  };
}

/** Sets the state of a release's GitHub Deployment, if it has one. */
async function setReleaseDeployment(
  ctx: StepContext,
  release: Partial<Release>,
  state: 'success' | 'failure' | 'error' | 'inactive',
  description: string,
): Promise<void> {
  const recorded = release.github;
  if (!recorded) return;
  const { GithubDeployment } = await import('../ci/github/deployments.js');
  const { id, ...target } = recorded;
  await new GithubDeployment(await clientFor(ctx), target, id).setStatus(state, { description });
  ctx.log(`GitHub deployment ${id}: ${state}`);
}

export const githubDeployments: ReleaseObserver = {
  name: 'GitHub deployment',
  async notify(ctx, event) {
    switch (event.type) {
      case 'deploy.start': {
        const github = await startReleaseDeployment(ctx, event.github, event.name);
        return github ? { github } : undefined;
      }
      case 'deploy.failed':
        await setReleaseDeployment(ctx, event.release, 'failure', 'vnfpipe deploy failed');
        return undefined;
      case 'verify.passed':
        await setReleaseDeployment(ctx, event.release, 'success', 'verified by vnfpipe');
        return undefined;
      case 'verify.failed':
        await setReleaseDeployment(ctx, event.release, 'failure', 'vnfpipe verify failed');
        return undefined;
      case 'verify.error':
        await setReleaseDeployment(ctx, event.release, 'error', 'vnfpipe verify could not run its probes');
        return undefined;
      case 'rolled-back':
        await setReleaseDeployment(
          ctx,
          event.release,
          'inactive',
          `rolled back to revision ${event.restored}`,
        );
        return undefined;
    }
  },
};
