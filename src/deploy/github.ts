/**
 * GitHub Deployments for releases: inside GitHub Actions (or when a step is given `github: { … }`) a deploy
 * creates a GitHub Deployment marked in_progress, verify marks it success or failure, and a rollback marks
 * the rolled-back one inactive. The deployment travels in the release output, so the verify and rollback
 * steps — possibly later CI jobs — find it.
 */
import type { Release } from '../pipeline/kinds.js';
import type { StepContext } from '../pipeline/model.js';

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
export async function startReleaseDeployment(
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
export async function setReleaseDeployment(
  ctx: StepContext,
  release: Release,
  state: 'success' | 'failure' | 'inactive',
  description: string,
): Promise<void> {
  const recorded = release.github;
  if (!recorded) return;
  const { GithubDeployment } = await import('../ci/github/deployments.js');
  const { id, ...target } = recorded;
  await new GithubDeployment(await clientFor(ctx), target, id).setStatus(state, { description });
  ctx.log(`GitHub deployment ${id}: ${state}`);
}
