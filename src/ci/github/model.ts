/**
 * A typed model of the part of GitHub Actions' workflow syntax vnfpipe emits. Property names are the YAML
 * keys, so rendering is a plain serialisation; nothing here knows about pipelines.
 */

export type PermissionLevel = 'read' | 'write' | 'none';

export type PermissionScope =
  | 'actions'
  | 'checks'
  | 'contents'
  | 'deployments'
  | 'id-token'
  | 'issues'
  | 'packages'
  | 'pull-requests'
  | 'security-events'
  | 'statuses';

export type Permissions = Partial<Record<PermissionScope, PermissionLevel>>;

export interface BranchFilter {
  branches?: string[];
  tags?: string[];
  paths?: string[];
}

export interface WorkflowDispatchInput {
  description: string;
  type: 'string' | 'boolean' | 'choice' | 'environment';
  required?: boolean;
  default?: string | boolean;
  options?: string[];
}

export interface Triggers {
  push?: BranchFilter;
  pull_request?: Omit<BranchFilter, 'tags'>;
  workflow_dispatch?: { inputs?: Record<string, WorkflowDispatchInput> } | null;
}

export interface Concurrency {
  group: string;
  /** A boolean or an expression (`${{ … }}`). */
  'cancel-in-progress': boolean | string;
}

export interface Environment {
  name: string;
  url?: string;
}

export interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  with?: Record<string, string | number | boolean>;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
  'working-directory'?: string;
  'continue-on-error'?: boolean;
  'timeout-minutes'?: number;
}

export interface Matrix {
  include?: Array<Record<string, string>>;
  [axis: string]: string[] | Array<Record<string, string>> | undefined;
}

export interface Strategy {
  matrix: Matrix;
  'fail-fast'?: boolean;
  'max-parallel'?: number;
}

export interface Job {
  name?: string;
  needs?: string[];
  if?: string;
  'runs-on': string;
  permissions?: Permissions;
  environment?: Environment;
  concurrency?: Concurrency;
  strategy?: Strategy;
  'timeout-minutes'?: number;
  env?: Record<string, string>;
  steps: Step[];
}

export interface Workflow {
  name: string;
  on: Triggers;
  permissions: Permissions;
  concurrency?: Concurrency;
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}
