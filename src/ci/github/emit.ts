/**
 * Plan → GitHub Actions workflow. One job per stage: `vnfpipe run --stage X` already runs a stage's
 * parallel branches concurrently, so splitting a stage into jobs would only repeat checkout and install.
 * Jobs hand the journal, the OCI layout and declared output files on as one tar artifact per stage (tar keeps
 * file modes, which artifacts drop).
 */
import type { Plan } from '../../pipeline/plan.js';
import {
  checkCommand,
  environmentOf,
  githubJobId,
  handedOn,
  jobTimeoutMinutes,
  projectDirOf,
  registryLoginScript,
  runCommand,
  stepCacheDir,
} from '../jobs.js';
import { type CiOptions, platformSlug, type ResolvedCiOptions, resolveCiOptions } from '../options.js';
import { analyseStages, type CiStage } from '../stages.js';
import type { Job, Permissions, Step, Workflow } from './model.js';

export const ACTIONS = {
  checkout: 'actions/checkout@v4',
  setupNode: 'actions/setup-node@v4',
  cache: 'actions/cache@v4',
  upload: 'actions/upload-artifact@v4',
  download: 'actions/download-artifact@v4',
} as const;

export interface GithubEmission {
  workflow: Workflow;
  /** Secret names the repository must define (never values). */
  secrets: string[];
}

export function emitGithubWorkflow(plan: Plan, options: CiOptions = {}): GithubEmission {
  const opts = resolveCiOptions(options);
  const stages = analyseStages(plan, projectDirOf(opts));
  const jobs: Record<string, Job> = {};
  for (const stage of stages) jobs[githubJobId(stage.name)] = stageJob(stage, opts);
  const secrets = [...new Set(stages.flatMap((stage) => stage.secrets))].sort();
  if (opts.registry) {
    for (const name of [opts.registry.passwordSecret, opts.registry.usernameSecret]) {
      if (name && name !== 'GITHUB_TOKEN' && !secrets.includes(name)) secrets.push(name);
    }
  }
  const workflow: Workflow = {
    name: opts.name ?? `vnfpipe ${plan.pipeline}`,
    on: {
      push: {
        ...(opts.branches.length ? { branches: opts.branches } : {}),
        ...(opts.tags.length ? { tags: opts.tags } : {}),
      },
      ...(opts.pullRequests ? { pull_request: {} } : {}),
      workflow_dispatch: {},
    },
    permissions: { contents: 'read' },
    concurrency: {
      group: `vnfpipe-${expr('github.workflow')}-${expr('github.ref')}`,
      // Superseded pull request runs are cancelled; a run that may deploy is never cut short.
      'cancel-in-progress': expr("github.event_name == 'pull_request'"),
    },
    jobs,
  };
  return { workflow, secrets: secrets.sort() };
}

function stageJob(stage: CiStage, opts: ResolvedCiOptions): Job {
  const matrix = opts.platforms.length > 0;
  const suffix = matrix ? `-${expr('matrix.slug')}` : '';
  const artifact = (name: string) => `vnfpipe-${githubJobId(name)}${suffix}`;
  const tarOf = (name: string) => `${expr('runner.temp')}/vnfpipe-in/${artifact(name)}.tar`;
  const manual = opts.manual.includes(stage.name) && !stage.onFailureOf;

  const steps: Step[] = [
    { uses: ACTIONS.checkout, with: { 'persist-credentials': false } },
    { uses: ACTIONS.setupNode, with: { 'node-version': opts.nodeVersion, cache: 'npm' } },
  ];
  if (opts.install) steps.push({ name: 'Install dependencies', run: opts.install });
  if (stage.needs.length === 0) steps.push({ name: 'Type-check the pipeline', run: checkCommand(opts) });
  for (const need of stage.needs) {
    steps.push({
      name: `Download the ${need} stage's state`,
      uses: ACTIONS.download,
      with: { name: artifact(need), path: `${expr('runner.temp')}/vnfpipe-in` },
    });
  }
  if (stage.needs.length > 0) {
    // In stage order, so a later stage's copy of a shared file (the OCI index) wins.
    steps.push({
      name: 'Unpack earlier stages',
      run: stage.needs.map((need) => `tar -xf "${tarOf(need)}"`).join('\n'),
    });
  }
  const cacheKey = `vnfpipe-${expr('runner.os')}-${githubJobId(stage.name)}${suffix}`;
  steps.push({
    name: 'Step cache',
    uses: ACTIONS.cache,
    with: {
      path: stepCacheDir(opts),
      key: `${cacheKey}-${expr('github.sha')}`,
      'restore-keys': `${cacheKey}-`,
    },
  });
  if (stage.uses.push) {
    const registry = opts.registry ?? { host: 'ghcr.io', passwordSecret: 'GITHUB_TOKEN' };
    steps.push({
      name: `Log in to ${registry.host}`,
      run: registryLoginScript('REGISTRY', 'REGISTRY_USER', 'REGISTRY_PASSWORD'),
      env: {
        REGISTRY: registry.host,
        REGISTRY_USER: registry.usernameSecret
          ? expr(`secrets.${registry.usernameSecret}`)
          : expr('github.actor'),
        REGISTRY_PASSWORD: expr(`secrets.${registry.passwordSecret}`),
      },
    });
  }
  if (stage.uses.docker) steps.push({ name: 'Check the Docker engine', run: 'docker version' });

  const env: Record<string, string> = {};
  if (matrix) env.VNFPIPE_PLATFORM = expr('matrix.platform');
  // Secrets reach only the step that needs them, by name.
  for (const name of stage.secrets) env[name] = expr(`secrets.${name}`);
  if (stage.uses.deploy) {
    env.GITHUB_TOKEN = expr('secrets.GITHUB_TOKEN');
    // The GitHub Deployments vnfpipe records name the job's environment.
    env.VNFPIPE_ENVIRONMENT = environmentOf(stage, opts);
  }
  steps.push({
    name: `vnfpipe run --stage ${stage.name}`,
    run: runCommand(stage.name, opts),
    ...(Object.keys(env).length ? { env } : {}),
  });
  steps.push({
    name: 'Pack this stage for later jobs',
    if: 'always()',
    run: packScript(handedOn(stage, opts), `${expr('runner.temp')}/${artifact(stage.name)}.tar`),
  });
  steps.push({
    name: 'Upload the stage state',
    if: 'always()',
    uses: ACTIONS.upload,
    with: {
      name: artifact(stage.name),
      path: `${expr('runner.temp')}/${artifact(stage.name)}.tar`,
      'retention-days': 7,
    },
  });

  const conditions: string[] = [];
  if (stage.onFailureOf) {
    conditions.push('failure()');
    const failed = stage.onFailureOf.map((trigger) => `needs.${githubJobId(trigger)}.result == 'failure'`);
    conditions.push(failed.length > 1 ? `(${failed.join(' || ')})` : failed[0]!);
  }
  if (manual) conditions.push("github.event_name == 'workflow_dispatch'");
  else if (stage.uses.deploy) conditions.push("github.event_name != 'pull_request'");

  const job: Job = {
    name: matrix ? `${stage.name} (${expr('matrix.platform')})` : stage.name,
    ...(stage.needs.length ? { needs: stage.needs.map(githubJobId) } : {}),
    ...(conditions.length ? { if: conditionExpression(conditions) } : {}),
    'runs-on': opts.runsOn,
    'timeout-minutes': jobTimeoutMinutes(stage, opts),
    permissions: permissionsFor(stage),
    ...(stage.uses.deploy
      ? {
          // A wave's environment: its required reviewers approve the wave before its job starts.
          environment: { name: environmentOf(stage, opts) },
          concurrency: { group: `vnfpipe-deploy-${environmentOf(stage, opts)}`, 'cancel-in-progress': false },
        }
      : {}),
    ...(matrix
      ? {
          strategy: {
            'fail-fast': false,
            matrix: {
              include: opts.platforms.map((platform) => ({ platform, slug: platformSlug(platform) })),
            },
          },
        }
      : {}),
    steps,
  };
  return job;
}

/** `contents: read` always; write scopes only where the stage's steps need them. */
export function permissionsFor(stage: CiStage): Permissions {
  return {
    contents: 'read',
    ...(stage.uses.push ? { packages: 'write' } : {}),
    ...(stage.uses.sign ? { 'id-token': 'write' } : {}),
    ...(stage.uses.deploy ? { deployments: 'write' } : {}),
  };
}

/** `${{ expression }}`: a GitHub Actions expression (kept out of template literals' own syntax). */
export function expr(expression: string): string {
  return `$${'{{'} ${expression} }}`;
}

function conditionExpression(conditions: string[]): string {
  // A status function keeps its meaning only when the whole `if` is one expression.
  return expr(conditions.join(' && '));
}

/** bash: tar the paths that exist (globs allowed) into one file. */
function packScript(paths: string[], tarFile: string): string {
  return [
    'shopt -s globstar nullglob',
    'paths=()',
    `for p in ${paths.map(globWord).join(' ')}; do if [ -e "$p" ]; then paths+=("$p"); fi; done`,
    `tar -cf "${tarFile}" --files-from /dev/null "\${paths[@]}"`,
  ].join('\n');
}

/** A path for a shell word list: glob characters stay active, anything unusual is quoted. */
function globWord(path: string): string {
  return path
    .split(/([*?[\]{},])/)
    .map((part) =>
      /^[*?[\]{},]?$/.test(part) || /^[A-Za-z0-9_./@%+:=-]+$/.test(part)
        ? part
        : `'${part.replaceAll("'", `'\\''`)}'`,
    )
    .join('');
}
