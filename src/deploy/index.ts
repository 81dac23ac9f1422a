/** Deploy targets and the engine client, for scripts that drive deployments without a pipeline. */

export type { ExecResult, ProbeHandle, ProbeRuntime } from '../verify/runtime.js';
export type { DockerDeployOptions, UpdateStrategy } from './docker/target.js';
export { DockerTarget, defaultStrategy } from './docker/target.js';
export type { EngineOption, EngineSpec, EngineSshOptions, EngineTlsFiles } from './engine/address.js';
export type { EngineChoice, EngineEndpoint } from './engine/client.js';
export { DockerEngine, engineEndpoint } from './engine/client.js';
export { resolveEngine } from './engine/endpoint.js';
export type { ReleaseHistory, Revision, RevisionStatus } from './history.js';
export { lastVerified, lastVerifiedOf, ReleaseStore, rollbackTargetOf, specHash } from './history.js';
export {
  type CnfCheckId,
  type CnfCheckOptions,
  type CnfFinding,
  type CnfWaivers,
  checkCnf,
  cnfFindingsToSarif,
  type KubeObject,
  type KubernetesRenderOptions,
  renderKubernetes,
  toYaml,
  unwaived,
} from './kubernetes/index.js';
export type { KubernetesDeployOptions } from './kubernetes/target.js';
export { KubernetesTarget } from './kubernetes/target.js';
export * from './model.js';
export type { RollingUpdate, SwarmDeployOptions } from './swarm/target.js';
export { SwarmTarget } from './swarm/target.js';
export type {
  CommonDeployOptions,
  DeployTarget,
  HistoryRow,
  KubernetesAddress,
  RollbackOptions,
  TargetAddress,
  TargetStatus,
} from './target.js';
export { addressOf, openTarget, targetOf } from './targets.js';
