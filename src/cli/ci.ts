/**
 * `vnfpipe ci github|gitlab`: writes the CI file generated from the pipeline, checks it for drift
 * (`--check`: exit 1 with a unified diff), or proposes it as a GitHub pull request (`--open-pr`).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { type CiTarget, DEFAULT_CI_OUTPUT, generateCi, regenerateCommand } from '../ci/generate.js';
import type { CiOptions } from '../ci/options.js';
import { EXIT, VnfpipeError } from '../errors.js';
import { DEFAULT_PIPELINE_FILE, loadPipeline } from '../pipeline/loader.js';
import { planPipeline } from '../pipeline/plan.js';

export interface CiCommandOptions {
  file?: string;
  output?: string;
  check?: boolean;
  /** GitHub only: commit the file on a branch and open (or update) a pull request. */
  openPr?: boolean;
  /** owner/name (default GITHUB_REPOSITORY). */
  repo?: string;
  branch?: string;
  base?: string;
  /** GitHub Enterprise REST API root, e.g. https://ghe.example.com/api/v3. */
  apiUrl?: string;
  /** The environment variable holding the token (default GITHUB_TOKEN); tokens never go on a command line. */
  tokenEnv?: string;
  platform?: string[];
  manual?: string[];
  environment?: string;
  /** GitLab: waves after the first start by hand. */
  manualWaves?: boolean;
  /** The install command; `false` (from --no-install) installs nothing. */
  install?: string | boolean;
  /** How jobs start vnfpipe (default `npx vnfpipe`). */
  vnfpipe?: string;
}

export interface CiCommandIo {
  cwd?: string;
  env?: Readonly<Record<string, string | undefined>>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

export async function ciCommand(
  target: CiTarget,
  opts: CiCommandOptions,
  io: CiCommandIo = {},
): Promise<number> {
  if (target !== 'github' && target !== 'gitlab') {
    throw new VnfpipeError('USAGE', `unknown CI target '${String(target)}'`, {
      hint: 'use github or gitlab',
    });
  }
  if (opts.check && opts.openPr) {
    throw new VnfpipeError('USAGE', '--check and --open-pr cannot be combined');
  }
  if (opts.openPr && target !== 'github') {
    throw new VnfpipeError('USAGE', '--open-pr is for GitHub only');
  }
  const cwd = io.cwd ?? process.cwd();
  const env = io.env ?? process.env;
  const out = io.stdout ?? ((text: string) => process.stdout.write(text));
  const err = io.stderr ?? ((text: string) => process.stderr.write(text));
  const fileArg = opts.file ?? DEFAULT_PIPELINE_FILE;
  const { pipeline, file } = await loadPipeline(fileArg, cwd);
  const relativeFile = relative(cwd, file).split('\\').join('/');
  const options: CiOptions = {
    ...(relativeFile !== DEFAULT_PIPELINE_FILE ? { file: relativeFile } : {}),
    ...(opts.platform?.length ? { platforms: opts.platform } : {}),
    ...(opts.manual?.length ? { manual: opts.manual } : {}),
    ...(opts.environment ? { environment: opts.environment } : {}),
    ...(opts.manualWaves ? { manualWaves: true } : {}),
    ...(opts.install === false
      ? { install: null }
      : typeof opts.install === 'string'
        ? { install: opts.install }
        : {}),
    ...(opts.vnfpipe ? { vnfpipe: opts.vnfpipe } : {}),
  };
  const output = opts.output ?? DEFAULT_CI_OUTPUT[target];
  const text = await generateCi(target, planPipeline(pipeline), options, opts.output);
  const outputPath = resolve(cwd, output);

  if (opts.check) {
    const committed = await readFile(outputPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw new VnfpipeError('IO', `cannot read ${output}: ${error.message}`, { where: outputPath });
    });
    const { checkDrift } = await import('../ci/drift.js');
    const drift = await checkDrift(output, committed, text);
    if (drift.upToDate) {
      out(`${output} is up to date with ${relativeFile}\n`);
      return EXIT.ok;
    }
    out(drift.diff);
    err(
      `vnfpipe: ${output} ${committed === undefined ? 'does not exist' : 'differs from what the pipeline generates'}; run \`${regenerateCommand(target, options, opts.output)}\`\n`,
    );
    return EXIT.failed;
  }

  if (opts.openPr) {
    const [{ createGithubClient, parseRepo }, { openWorkflowPullRequest }] = await Promise.all([
      import('../ci/github/client.js'),
      import('../ci/github/pull-request.js'),
    ]);
    const tokenEnv = opts.tokenEnv ?? 'GITHUB_TOKEN';
    const token = env[tokenEnv];
    if (!token) {
      throw new VnfpipeError('USAGE', `no GitHub token: ${tokenEnv} is not set`, {
        hint: `export ${tokenEnv}=<token with contents, pull requests and workflows write access>`,
      });
    }
    const { owner, repo } = parseRepo(
      opts.repo ?? env.GITHUB_REPOSITORY,
      opts.repo ? '--repo' : 'GITHUB_REPOSITORY',
    );
    const client = await createGithubClient({ token, env, ...(opts.apiUrl ? { baseUrl: opts.apiUrl } : {}) });
    const pr = await openWorkflowPullRequest(client, {
      owner,
      repo,
      path: output,
      content: text,
      ...(opts.branch ? { branch: opts.branch } : {}),
      ...(opts.base ? { base: opts.base } : {}),
    });
    out(
      `${pr.opened ? 'opened' : 'updated'} pull request #${pr.number} (${pr.url})${pr.committed ? '' : '; the branch already had this content'}\n`,
    );
    return EXIT.ok;
  }

  await mkdir(dirname(outputPath), { recursive: true });
  await writeFile(outputPath, text);
  out(`wrote ${output} from ${relativeFile}\n`);
  return EXIT.ok;
}
