/**
 * Temporary git repositories that run emitted CI files for real: `node_modules/vnfpipe` (and its `.bin`
 * entry) link to this repository, so a job's `npx vnfpipe` runs this checkout without network, and
 * gitlab-ci-local runs `.gitlab-ci.yml` with the shell executor, each job in its own copy of the project.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../support/project.js';

const run = promisify(execFile);

export interface CiProject {
  dir: string;
  write(path: string, content: string): void;
  /** Commits everything (gitlab-ci-local needs a repository with a commit). */
  commit(): Promise<void>;
}

export async function makeCiProject(files: Record<string, string>): Promise<CiProject> {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-ci-'));
  mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(REPO_ROOT, join(dir, 'node_modules', 'vnfpipe'), 'dir');
  symlinkSync('../vnfpipe/bin/vnfpipe.js', join(dir, 'node_modules', '.bin', 'vnfpipe'));
  // npm hoists vnfpipe's dependency on Node's types, which `vnfpipe check` (the first CI job) needs.
  mkdirSync(join(dir, 'node_modules', '@types'));
  symlinkSync(
    join(REPO_ROOT, 'node_modules', '@types', 'node'),
    join(dir, 'node_modules', '@types', 'node'),
    'dir',
  );
  const write = (path: string, content: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  };
  write('package.json', `${JSON.stringify({ name: 'ci-project', private: true, type: 'module' })}\n`);
  write('.gitignore', 'node_modules/\n.vnfpipe/\n.gitlab-ci-local/\n.npm/\nout/\n');
  for (const [path, content] of Object.entries(files)) write(path, content);
  await run('git', ['init', '-q', '-b', 'main'], { cwd: dir });
  const commit = async () => {
    await run('git', ['add', '-A'], { cwd: dir });
    await run(
      'git',
      [
        '-c',
        'user.email=ci@vnfpipe.test',
        '-c',
        'user.name=vnfpipe tests',
        'commit',
        '-q',
        '-m',
        'ci',
        '--allow-empty',
      ],
      {
        cwd: dir,
      },
    );
  };
  return { dir, write, commit };
}

export interface GitlabRun {
  code: number | null;
  output: string;
}

/** Runs the project's `.gitlab-ci.yml` in gitlab-ci-local 4.73 (shell executor, isolated job folders). */
export async function runGitlabCiLocal(dir: string, args: string[] = []): Promise<GitlabRun> {
  const bin = join(REPO_ROOT, 'node_modules', 'gitlab-ci-local', 'dist', 'index.js');
  const home = mkdtempSync(join(tmpdir(), 'vnfpipe-glci-home-'));
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [
        bin,
        '--home',
        home,
        '--force-shell-executor',
        '--shell-isolation',
        '--no-artifacts-to-source',
        '--no-color',
        '--concurrency',
        '2',
        ...args,
      ],
      {
        cwd: dir,
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...process.env, NO_COLOR: '1', GITHUB_ACTIONS: '', GITLAB_CI: '', CI: '' },
      },
    );
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : null, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}
