/**
 * Options shared by the GitHub and GitLab emitters, with their defaults. Everything a generated file depends
 * on is here, so `vnfpipe ci … --check` regenerates exactly what was committed.
 */
import { VnfpipeError } from '../errors.js';

export interface CiOptions {
  /** The pipeline file relative to the repository root (`-f` is added to `vnfpipe run` unless it is the default). */
  file?: string;
  /** Target platforms (`linux/amd64`): every stage runs once per platform, with `VNFPIPE_PLATFORM` set. */
  platforms?: string[];
  /** The dependency install command each job runs first; `null` installs nothing (runners with a warm tree). */
  install?: string | null;
  /** The command that starts vnfpipe (default `npx vnfpipe`). */
  vnfpipe?: string;
  /** Node.js major version for GitHub's setup-node (default `20`). */
  nodeVersion?: string;
  /** GitHub runner label (default `ubuntu-24.04`). */
  runsOn?: string;
  /** GitLab job image (default `node:20-bookworm`); `null` for shell runners. */
  image?: string | null;
  /** Branches whose pushes run the pipeline (default `['main']`). */
  branches?: string[];
  /** Tag patterns whose pushes run the pipeline (default `['v*']`). */
  tags?: string[];
  /** Run on pull/merge requests (default true); deploy stages never run there. */
  pullRequests?: boolean;
  /** Stages that run only when started by hand (GitHub `workflow_dispatch`, GitLab `when: manual`). */
  manual?: string[];
  /**
   * The environment deploy and rollback jobs are bound to (default `production`). A fleet's wave gets its
   * own, `<environment>-wave-<n>`, so the environment's protection rules (GitHub required reviewers) gate
   * each wave.
   */
  environment?: string;
  /** GitLab: every fleet wave after the first starts only by hand (`when: manual`). GitHub gates waves by environment. */
  manualWaves?: boolean;
  /** The registry push jobs log in to (default GitHub's or GitLab's own registry). */
  registry?: RegistryLogin;
  /** Extra paths (relative to the repository root) handed from each job to later ones. */
  artifacts?: string[];
  /** Minutes a job may run (default 30). */
  timeoutMinutes?: number;
  /** The workflow's name (default `vnfpipe <pipeline>`). */
  name?: string;
}

export interface RegistryLogin {
  host: string;
  /** Secret (GitHub) or CI/CD variable (GitLab) holding the user name; GitHub defaults to the actor. */
  usernameSecret?: string;
  /** Secret or CI/CD variable holding the password or token. */
  passwordSecret: string;
}

export type ResolvedCiOptions = Required<Omit<CiOptions, 'registry' | 'file' | 'name'>> & {
  file: string | undefined;
  name: string | undefined;
  registry: RegistryLogin | undefined;
};

const PLATFORM = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;
const STAGE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function resolveCiOptions(options: CiOptions = {}): ResolvedCiOptions {
  const platforms = options.platforms ?? [];
  for (const platform of platforms) {
    if (!PLATFORM.test(platform)) {
      throw new VnfpipeError('USAGE', `platform '${platform}' is not os/arch[/variant]`, {
        hint: 'e.g. linux/amd64, linux/arm64, linux/arm/v7',
      });
    }
  }
  if (new Set(platforms).size !== platforms.length) {
    throw new VnfpipeError('USAGE', `platforms are listed twice: ${platforms.join(', ')}`);
  }
  for (const stage of options.manual ?? []) {
    if (!STAGE.test(stage)) throw new VnfpipeError('USAGE', `manual stage '${stage}' is not a stage name`);
  }
  const timeout = options.timeoutMinutes ?? 30;
  if (!Number.isInteger(timeout) || timeout < 1) {
    throw new VnfpipeError('USAGE', `timeoutMinutes must be a whole number ≥ 1, got ${String(timeout)}`);
  }
  return {
    file: options.file,
    name: options.name,
    platforms,
    install: options.install === undefined ? 'npm ci' : options.install,
    vnfpipe: options.vnfpipe ?? 'npx vnfpipe',
    nodeVersion: options.nodeVersion ?? '20',
    runsOn: options.runsOn ?? 'ubuntu-24.04',
    image: options.image === undefined ? 'node:20-bookworm' : options.image,
    branches: options.branches ?? ['main'],
    tags: options.tags ?? ['v*'],
    pullRequests: options.pullRequests ?? true,
    manual: options.manual ?? [],
    environment: options.environment ?? 'production',
    manualWaves: options.manualWaves ?? false,
    registry: options.registry,
    artifacts: options.artifacts ?? [],
    timeoutMinutes: timeout,
  };
}

/** `linux/arm/v7` → `linux-arm-v7`: usable in job and artifact names. */
export function platformSlug(platform: string): string {
  return platform.replaceAll('/', '-');
}
