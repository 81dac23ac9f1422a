/**
 * What the step cache of `attest` needs to know of where a build comes from, cheaply (it asks on every
 * check): the builder id and the source revision a provenance would name. Loads no child process module
 * unless git must be asked; reads git's few small files synchronously (faster than the thread pool).
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_BUILDER_ID = 'https://github.com/vnfpipe/vnfpipe/builders/local@v1';

/** The builder id for the CI that runs us (its workflow), or vnfpipe's local builder. */
export function builderIdOf(env: Env): string {
  if (env.GITHUB_WORKFLOW_REF)
    return `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_WORKFLOW_REF}`;
  if (env.CI_PROJECT_URL && env.CI_CONFIG_PATH)
    return `${env.CI_PROJECT_URL}/-/blob/HEAD/${env.CI_CONFIG_PATH}`;
  return DEFAULT_BUILDER_ID;
}

/**
 * The source revision a provenance would name, cheaply (the step cache asks on every check): CI variables,
 * else the git checkout's HEAD read from its files (loose ref or packed-refs), else `git rev-parse HEAD`
 * when the repository is one those files do not describe (reftable, GIT_DIR). Undefined outside git.
 */
export async function sourceRevision(cwd: string, env: Env): Promise<string | undefined> {
  if (env.GITHUB_REPOSITORY && env.GITHUB_SHA) return `${env.GITHUB_REPOSITORY}@${env.GITHUB_SHA}`;
  if (env.CI_PROJECT_URL && env.CI_COMMIT_SHA) return `${env.CI_PROJECT_URL}@${env.CI_COMMIT_SHA}`;
  if (!env.GIT_DIR && !env.GIT_WORK_TREE) {
    let fromFiles: string | null | 'unknown';
    try {
      fromFiles = headFromFiles(cwd);
    } catch {
      fromFiles = 'unknown';
    }
    if (fromFiles !== 'unknown') return fromFiles ?? undefined;
  }
  const { execFile } = await import('node:child_process');
  return new Promise((done) => {
    execFile('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8' }, (error, stdout) =>
      done(error ? undefined : stdout.trim() || undefined),
    );
  });
}

const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** HEAD's commit from the repository's files; null outside git or on an unborn branch; 'unknown': ask git. */
function headFromFiles(cwd: string): string | null | 'unknown' {
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  };
  let dir = resolve(cwd);
  let gitDir: string | undefined;
  for (;;) {
    const dotGit = join(dir, '.git');
    const info = statSync(dotGit, { throwIfNoEntry: false });
    if (info?.isDirectory()) {
      gitDir = dotGit;
      break;
    }
    if (info?.isFile()) {
      const match = /^gitdir: (.+)$/m.exec(read(dotGit) ?? '');
      if (!match) return 'unknown';
      gitDir = resolve(dir, match[1]!.trim());
      break;
    }
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
  const commondir = read(join(gitDir, 'commondir'));
  const common = commondir === undefined ? gitDir : resolve(gitDir, commondir.trim());
  const head = read(join(gitDir, 'HEAD'))?.trim();
  if (head === undefined) return 'unknown';
  if (OBJECT_ID.test(head)) return head;
  const ref = /^ref: (refs\/\S+)$/.exec(head)?.[1];
  if (!ref || ref.includes('..')) return 'unknown';
  if (statSync(join(common, 'reftable'), { throwIfNoEntry: false })) return 'unknown';
  for (const base of [gitDir, common]) {
    const loose = read(join(base, ref));
    if (loose !== undefined) return OBJECT_ID.test(loose.trim()) ? loose.trim() : 'unknown';
  }
  const packed = read(join(common, 'packed-refs')) ?? '';
  for (const line of packed.split('\n')) {
    const [id, name] = line.trim().split(' ');
    if (name === ref && id && OBJECT_ID.test(id)) return id;
  }
  return null;
}
