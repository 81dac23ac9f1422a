/**
 * The vnfpipe library API: the pipeline SDK and every step factory. Re-exports only, and only of modules that
 * are cheap to import, because every pipeline file and `vnfpipe plan` load this entry. The engines behind the
 * steps have entries of their own: `vnfpipe/oci`, `vnfpipe/image`, `vnfpipe/registry`, `vnfpipe/scan`,
 * `vnfpipe/deploy`, `vnfpipe/ci`, `vnfpipe/trust`.
 */

export type {
  ConfigFileSpec,
  HealthSpec,
  HugepagesSpec,
  NetworkAttachment,
  NetworkDriver,
  PortSpec,
  ResourceSpec,
  SecuritySpec,
  Workload,
} from './deploy/model.js';
export { validateWorkload } from './deploy/model.js';
export type {
  DeployStepSpec,
  DeployTrust,
  DockerDeployStepOptions,
  KubernetesDeployStepOptions,
  RegistryAuth,
  RollbackOutput,
  RollbackStepOptions,
  SwarmDeployStepOptions,
} from './deploy/step.js';
export { deploy, pinnedImage, rollback } from './deploy/step.js';
export type { RollingUpdate } from './deploy/swarm/target.js';
export type { ErrorCode, ErrorDetails } from './errors.js';
export { EXIT, isVnfpipeError, VnfpipeError } from './errors.js';
export type { FleetHandles, FleetSiteHandles } from './fleet/expand.js';
export { fleet } from './fleet/expand.js';
export type {
  FleetOptions,
  FleetWorkload,
  Site,
  SiteOverrides,
  WaveFailurePolicy,
} from './fleet/model.js';
export type { HaltOutput, PauseOutput, SiteRollbackOutput } from './fleet/steps.js';
export type { DockerfileStepOptions } from './image/dockerfile-step.js';
// Step factories (their engines load when a step runs).
export type { BaseInput, ImageBuildOptions, ImagePlatformInput, LayerInput } from './image/step.js';
export { image } from './image/step.js';
// The pipeline SDK.
export type { Pipeline, PipelineBuilder, StepFunction, StepGroup } from './pipeline/define.js';
export { custom, definePipeline, isPipeline } from './pipeline/define.js';
export type { RunEvent, RunStatus, StepStatus } from './pipeline/events.js';
export type { ExecOptions, ExecOutput } from './pipeline/exec.js';
export { exec } from './pipeline/exec.js';
export type { PlanExplanation, StepExplanation } from './pipeline/explain.js';
export { explainPlan } from './pipeline/explain.js';
export type { RunRecord, StepRecord } from './pipeline/journal.js';
export { listRuns, readRun } from './pipeline/journal.js';
export type { ImageRef, Release, ScanReport, VerifyResult } from './pipeline/kinds.js';
export { BUILTIN_KINDS } from './pipeline/kinds.js';
export type { LoadedPipeline } from './pipeline/loader.js';
export { DEFAULT_PIPELINE_FILE, loadPipeline } from './pipeline/loader.js';
export type {
  CacheInputContext,
  CacheInputs,
  CacheValidContext,
  Duration,
  Input,
  LogStream,
  Output,
  OutputRef,
  ProgressUpdate,
  Resolved,
  StepContext,
  StepHandle,
  StepOptions,
  StepSpec,
  WhenContext,
} from './pipeline/model.js';
export { isOutputRef, outputRef } from './pipeline/output.js';
export type { Plan, PlannedStep } from './pipeline/plan.js';
export { planPipeline, STAGE_ORDER } from './pipeline/plan.js';
export { runPipeline } from './pipeline/run.js';
export type { RunOptions, RunResult } from './pipeline/scheduler.js';
export type { SecretRef } from './pipeline/secret.js';
export { secret } from './pipeline/secret.js';
export type { PushedImage, PushOptions } from './registry/step.js';
export { push } from './registry/step.js';
export { importOsv, runScan, scanImage } from './scan/api.js';
export type { ScanStepOptions } from './scan/step.js';
export { scan } from './scan/step.js';
export type {
  AttestedImage,
  AttestStepOptions,
  SignedImageRef,
  SignStepOptions,
  TrustStepKey,
} from './trust/step.js';
export { attest, sign } from './trust/step.js';
export { createRenderer } from './ui/index.js';
export type { CnfCheck, ProbeSpec, ProbeTiming } from './verify/probes.js';
export { cnf, probe } from './verify/probes.js';
export type { VerifyOutput, VerifyStepOptions } from './verify/step.js';
export { verify } from './verify/step.js';
export type {
  ExportableWorkload,
  UnexportedField,
  UnmappedElement,
  VnfdExport,
  VnfdImport,
  VnfdImportOptions,
} from './vnfd/index.js';
export { exportVnfd, importVnfdFile, VNFD_LABEL, vnfd } from './vnfd/index.js';
