/**
 * GitHub Deployments for the deploy and rollback steps: a deployment per rollout, with statuses
 * in_progress → success | failure, and `inactive` for a rolled-back one, so the repository's environment
 * page shows what runs where. Active inside GitHub Actions (from its environment) or when asked explicitly.
 */
import { messageOf, VnfpipeError } from '../../errors.js';
import { createGithubClient, type GithubClient, parseRepo } from './client.js';

export type DeploymentState =
  | 'in_progress'
  | 'success'
  | 'failure'
  | 'error'
  | 'inactive'
  | 'queued'
  | 'pending';

export interface DeploymentTarget {
  owner: string;
  repo: string;
  /** The commit deployed. */
  ref: string;
  environment: string;
  description?: string;
  /** Where the run's log is (the Actions run page). */
  logUrl?: string;
  production?: boolean;
}

/** What GitHub Actions tells a job about itself, as a deployment target; undefined outside Actions. */
export function deploymentTargetFromEnv(
  environment: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): DeploymentTarget | undefined {
  if (env.GITHUB_ACTIONS !== 'true') return undefined;
  const { owner, repo } = parseRepo(env.GITHUB_REPOSITORY, 'GITHUB_REPOSITORY');
  const ref = env.GITHUB_SHA;
  if (!ref) throw new VnfpipeError('USAGE', 'GITHUB_SHA is not set', { hint: 'run inside GitHub Actions' });
  const server = env.GITHUB_SERVER_URL ?? 'https://github.com';
  const logUrl = env.GITHUB_RUN_ID
    ? `${server}/${owner}/${repo}/actions/runs/${env.GITHUB_RUN_ID}`
    : undefined;
  return { owner, repo, ref, environment, ...(logUrl ? { logUrl } : {}) };
}

export class GithubDeployment {
  constructor(
    private readonly client: GithubClient,
    readonly target: DeploymentTarget,
    /** GitHub's deployment id; keep it in the step output to mark the deployment inactive on rollback. */
    readonly id: number,
  ) {}

  async setStatus(state: DeploymentState, details: { description?: string; environmentUrl?: string } = {}) {
    const { owner, repo, environment, logUrl } = this.target;
    await this.client.call(`setting deployment ${this.id} to ${state}`, () =>
      this.client.octokit.rest.repos.createDeploymentStatus({
        owner,
        repo,
        deployment_id: this.id,
        state,
        environment,
        ...(logUrl ? { log_url: logUrl } : {}),
        ...(details.description ? { description: details.description.slice(0, 140) } : {}),
        ...(details.environmentUrl ? { environment_url: details.environmentUrl } : {}),
      }),
    );
  }
}

/** Creates the deployment and marks it in progress. */
export async function startDeployment(
  client: GithubClient,
  target: DeploymentTarget,
): Promise<GithubDeployment> {
  const { owner, repo } = target;
  const created = await client.call(`creating a deployment of ${target.ref} to ${target.environment}`, () =>
    client.octokit.rest.repos.createDeployment({
      owner,
      repo,
      ref: target.ref,
      environment: target.environment,
      // The deploy runs inside the pipeline that is checking this commit: its own checks are still pending.
      required_contexts: [],
      auto_merge: false,
      ...(target.description ? { description: target.description } : {}),
      ...(target.production !== undefined ? { production_environment: target.production } : {}),
    }),
  );
  const data = created.data as { id?: number; message?: string };
  if (typeof data.id !== 'number') {
    throw new VnfpipeError('STEP_FAILED', `GitHub did not create a deployment: ${data.message ?? 'no id'}`, {
      where: `${owner}/${repo} ${target.environment}`,
    });
  }
  const deployment = new GithubDeployment(client, target, data.id);
  await deployment.setStatus('in_progress', { description: target.description ?? 'vnfpipe deploy started' });
  return deployment;
}

export interface RecordDeploymentOptions {
  environment: string;
  /** Record even outside GitHub Actions (then `target` must be given). */
  target?: DeploymentTarget;
  client?: GithubClient;
  env?: Readonly<Record<string, string | undefined>>;
  /** A URL where the deployed service answers. */
  environmentUrl?: string;
  /** Where GitHub API failures are reported (default: a process warning); they never change the outcome. */
  onWarning?: (message: string) => void;
}

/**
 * Runs `deploy` inside a GitHub deployment: in_progress, then success or failure (the error is rethrown).
 * Outside GitHub Actions and without an explicit target it just runs `deploy`. Recording is best-effort: a
 * GitHub API failure is passed to `onWarning`, and `deploy` runs and decides the outcome all the same.
 */
export async function recordDeployment<T>(
  options: RecordDeploymentOptions,
  deploy: (deployment: GithubDeployment | undefined) => Promise<T>,
): Promise<T> {
  const env = options.env ?? process.env;
  const target = options.target ?? deploymentTargetFromEnv(options.environment, env);
  if (!target) return deploy(undefined);
  const warn = options.onWarning ?? ((message: string) => process.emitWarning(message, 'VnfpipeWarning'));
  const report = async <R>(what: string, call: () => Promise<R>): Promise<R | undefined> => {
    try {
      return await call();
    } catch (error) {
      warn(`GitHub deployment: could not ${what} (the deploy's outcome is unchanged): ${messageOf(error)}`);
      return undefined;
    }
  };
  const deployment = await report('start the deployment', async () =>
    startDeployment(options.client ?? (await createGithubClient({ env })), target),
  );
  let result: T;
  try {
    result = await deploy(deployment);
  } catch (error) {
    if (deployment)
      await report('mark it failure', () =>
        deployment.setStatus('failure', { description: 'vnfpipe deploy failed' }),
      );
    throw error;
  }
  if (deployment)
    await report('mark it success', () =>
      deployment.setStatus('success', {
        description: 'vnfpipe deploy succeeded',
        ...(options.environmentUrl ? { environmentUrl: options.environmentUrl } : {}),
      }),
    );
  return result;
}

/** Marks a deployment that was rolled back as inactive. */
export async function markRolledBack(
  client: GithubClient,
  target: DeploymentTarget,
  deploymentId: number,
  description = 'rolled back by vnfpipe',
): Promise<void> {
  await new GithubDeployment(client, target, deploymentId).setStatus('inactive', { description });
}
