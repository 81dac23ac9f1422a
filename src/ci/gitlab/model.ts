/**
 * A typed model of the part of GitLab CI's `.gitlab-ci.yml` syntax vnfpipe emits. Property names are the
 * YAML keys, so rendering is a plain serialisation; nothing here knows about pipelines.
 */

export type When = 'on_success' | 'on_failure' | 'always' | 'manual' | 'never';

export interface Rule {
  if?: string;
  when?: When;
  allow_failure?: boolean;
}

export interface CacheEntry {
  key: string | { files: string[]; prefix?: string };
  paths: string[];
  /** `pull-push` (default), `pull` or `push`. */
  policy?: 'pull' | 'push' | 'pull-push';
  when?: 'on_success' | 'on_failure' | 'always';
}

export interface Artifacts {
  paths: string[];
  when?: 'on_success' | 'on_failure' | 'always';
  expire_in?: string;
  name?: string;
}

export interface Need {
  job: string;
  artifacts?: boolean;
  optional?: boolean;
}

export interface Service {
  name: string;
  alias?: string;
  command?: string[];
}

export interface Environment {
  name: string;
  action?: 'start' | 'prepare' | 'stop' | 'verify' | 'access';
  url?: string;
}

export interface Job {
  stage: string;
  image?: string;
  services?: Service[];
  needs?: Array<string | Need>;
  rules?: Rule[];
  when?: When;
  allow_failure?: boolean;
  interruptible?: boolean;
  resource_group?: string;
  environment?: Environment;
  variables?: Record<string, string>;
  cache?: CacheEntry[];
  before_script?: string[];
  script: string[];
  after_script?: string[];
  artifacts?: Artifacts;
  timeout?: string;
}

export interface WorkflowRules {
  name?: string;
  rules: Rule[];
  auto_cancel?: { on_new_commit?: 'conservative' | 'interruptible' | 'none' };
}

export interface GitlabCi {
  workflow?: WorkflowRules;
  stages: string[];
  variables?: Record<string, string>;
  /** Jobs by name; rendered after the keys above. */
  jobs: Record<string, Job>;
}
