/** CI emitters and GitHub integration (re-exports). */
export { checkDrift, type Drift } from './drift.js';
export { CI_TARGETS, type CiTarget, DEFAULT_CI_OUTPUT, generateCi, regenerateCommand } from './generate.js';
export {
  createGithubClient,
  DEFAULT_GITHUB_API,
  type GithubClient,
  type GithubClientOptions,
  parseRepo,
} from './github/client.js';
export {
  type DeploymentState,
  type DeploymentTarget,
  deploymentTargetFromEnv,
  GithubDeployment,
  markRolledBack,
  type RecordDeploymentOptions,
  recordDeployment,
  startDeployment,
} from './github/deployments.js';
export { emitGithubWorkflow, type GithubEmission } from './github/emit.js';
export type * as GithubModel from './github/model.js';
export {
  openWorkflowPullRequest,
  type WorkflowPullRequest,
  type WorkflowPullRequestOptions,
} from './github/pull-request.js';
export { emitGitlabCi, type GitlabEmission } from './gitlab/emit.js';
export type * as GitlabModel from './gitlab/model.js';
export { type CiOptions, type RegistryLogin, resolveCiOptions } from './options.js';
export { renderYaml } from './render.js';
export { analyseStages, type CiStage, type StageNeeds } from './stages.js';
