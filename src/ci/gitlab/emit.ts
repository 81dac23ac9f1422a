/**
 * Plan → `.gitlab-ci.yml`. One job per stage (per stage and platform when platforms are given: GitLab's
 * `parallel:matrix` cannot make `build [amd64]` need only `verify [amd64]`, so platforms are spelled out).
 * `needs` follows the DAG; each job's artifacts carry the journal, the OCI layout and declared outputs on.
 * Secrets are masked CI/CD variables, which GitLab puts in the job environment under their own names.
 */
import type { Plan } from '../../pipeline/plan.js';
import {
  checkCommand,
  environmentOf,
  handedOn,
  jobTimeoutMinutes,
  projectDirOf,
  registryLoginScript,
  runCommand,
  stepCacheDir,
} from '../jobs.js';
import { type CiOptions, platformSlug, type ResolvedCiOptions, resolveCiOptions } from '../options.js';
import { analyseStages, type CiStage } from '../stages.js';
import type { GitlabCi, Job, Rule, WorkflowRules } from './model.js';

export interface GitlabEmission {
  config: GitlabCi;
  /** CI/CD variables the project must define, masked (never values). */
  variables: string[];
}

const MERGE_REQUEST = '$CI_PIPELINE_SOURCE == "merge_request_event"';

export function emitGitlabCi(plan: Plan, options: CiOptions = {}): GitlabEmission {
  const opts = resolveCiOptions(options);
  const stages = analyseStages(plan, projectDirOf(opts));
  const platforms: Array<string | undefined> = opts.platforms.length ? opts.platforms : [undefined];
  const jobs: Record<string, Job> = {};
  for (const stage of stages) {
    for (const platform of platforms) jobs[jobName(stage.name, platform)] = stageJob(stage, platform, opts);
  }
  const variables = [...new Set(stages.flatMap((stage) => stage.secrets))];
  if (opts.registry) {
    for (const name of [opts.registry.passwordSecret, opts.registry.usernameSecret]) {
      if (name && !name.startsWith('CI_') && !variables.includes(name)) variables.push(name);
    }
  }
  const config: GitlabCi = {
    workflow: workflowRules(plan.pipeline, opts),
    stages: stages.map((stage) => stage.name),
    variables: { npm_config_cache: '$CI_PROJECT_DIR/.npm' },
    jobs,
  };
  return { config, variables: variables.sort() };
}

/** Top-level keys GitLab reads as configuration, not as jobs. */
const RESERVED = new Set([
  'default',
  'include',
  'stages',
  'variables',
  'workflow',
  'image',
  'services',
  'cache',
  'before_script',
  'after_script',
  'types',
  'spec',
  'pages',
]);

function jobName(stage: string, platform: string | undefined): string {
  const base = RESERVED.has(stage) ? `vnfpipe-${stage}` : stage;
  return platform ? `${base}:${platformSlug(platform)}` : base;
}

function workflowRules(pipeline: string, opts: ResolvedCiOptions): WorkflowRules {
  const rules: Rule[] = [];
  if (opts.pullRequests) {
    rules.push({ if: MERGE_REQUEST });
    // A branch with an open merge request runs once, as the merge request pipeline.
    rules.push({ if: '$CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS', when: 'never' });
  }
  for (const branch of opts.branches) rules.push({ if: `$CI_COMMIT_BRANCH == ${quote(branch)}` });
  for (const tag of opts.tags) rules.push({ if: `$CI_COMMIT_TAG =~ ${globRegex(tag)}` });
  rules.push({ if: '$CI_PIPELINE_SOURCE == "web"' });
  return {
    name: opts.name ?? `vnfpipe ${pipeline}`,
    rules,
    auto_cancel: { on_new_commit: 'interruptible' },
  };
}

function stageJob(stage: CiStage, platform: string | undefined, opts: ResolvedCiOptions): Job {
  const gatedWave = opts.manualWaves && stage.wave !== undefined && stage.wave > 1;
  const manual = (opts.manual.includes(stage.name) || gatedWave) && !stage.onFailureOf;
  const when = stage.onFailureOf ? 'on_failure' : manual ? 'manual' : undefined;
  const variables: Record<string, string> = {};
  if (platform) variables.VNFPIPE_PLATFORM = platform;
  // A Docker-in-Docker service for container runners; a shell runner (no image) uses its host's engine.
  const dind = stage.uses.docker && opts.image !== null;
  if (dind) {
    variables.DOCKER_HOST = 'tcp://docker:2375';
    variables.DOCKER_TLS_CERTDIR = '';
  }
  const before: string[] = [];
  if (opts.install) before.push(opts.install);
  if (stage.uses.push) {
    const registry = opts.registry ?? {
      host: '$CI_REGISTRY',
      usernameSecret: 'CI_REGISTRY_USER',
      passwordSecret: 'CI_REGISTRY_PASSWORD',
    };
    variables.VNFPIPE_REGISTRY = registry.host;
    variables.VNFPIPE_REGISTRY_USER = `$${registry.usernameSecret ?? 'CI_REGISTRY_USER'}`;
    before.push(registryLoginScript('VNFPIPE_REGISTRY', 'VNFPIPE_REGISTRY_USER', registry.passwordSecret));
  }
  const slug = platform ? `-${platformSlug(platform)}` : '';
  const job: Job = {
    stage: stage.name,
    ...(opts.image ? { image: opts.image } : {}),
    ...(dind ? { services: [{ name: 'docker:27-dind', alias: 'docker' }] } : {}),
    // Direct dependencies only: each job's artifacts already include what its own needs handed it.
    needs: stage.needs.map((need) => ({ job: jobName(need, platform), artifacts: true })),
    ...(stage.uses.deploy
      ? {
          rules: [
            { if: MERGE_REQUEST, when: 'never' as const },
            when ? { when } : { when: 'on_success' as const },
          ],
        }
      : when
        ? { when }
        : {}),
    ...(manual ? { allow_failure: false } : {}),
    // Deploys are never cancelled half-way; everything else gives way to a newer commit.
    interruptible: !stage.uses.deploy,
    ...(stage.uses.deploy
      ? { resource_group: environmentOf(stage, opts), environment: { name: environmentOf(stage, opts) } }
      : {}),
    ...(Object.keys(variables).length ? { variables } : {}),
    cache: [
      { key: `vnfpipe-${stage.name}${slug}`, paths: [stepCacheDir(opts)] },
      { key: { files: ['package-lock.json'], prefix: 'npm' }, paths: ['.npm/'], policy: 'pull-push' },
    ],
    ...(before.length ? { before_script: before } : {}),
    script: [...(stage.needs.length === 0 ? [checkCommand(opts)] : []), runCommand(stage.name, opts)],
    artifacts: {
      name: `vnfpipe-${stage.name}${slug}`,
      paths: handedOn(stage, opts),
      when: 'always',
      expire_in: '1 week',
    },
    timeout: `${jobTimeoutMinutes(stage, opts)} minutes`,
  };
  return job;
}

function quote(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** A tag glob (`v*`) as a GitLab regular expression (`/^v.*$/`). */
function globRegex(glob: string): string {
  const body = glob
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return `/^${body}$/`;
}
