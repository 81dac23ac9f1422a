/**
 * Glob expansion for cache inputs. Each pattern is walked from its static prefix (`/bin/busybox` does not
 * crawl the file system from the root, `src/**` starts in `src`), and the project's state and dependency
 * folders are skipped unless a pattern names them explicitly.
 */
import { type Dirent, type Stats, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { VnfpipeError } from '../errors.js';

const GLOB_CHARS = /[*?[\]{}()!]/;
const SKIPPED_UNLESS_NAMED = ['.vnfpipe/**', 'node_modules/**'];

/** A stat, or undefined when there is nothing to stat (missing, a file as a folder, no permission). */
function statQuietly(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** The leading path segments without glob characters, and the rest of the pattern. */
function split(pattern: string): { base: string; rest: string } {
  const parts = pattern.split('/');
  let i = 0;
  while (i < parts.length - 1 && !GLOB_CHARS.test(parts[i]!)) i++;
  const base = parts.slice(0, i).join('/') || (pattern.startsWith('/') ? '/' : '.');
  return { base, rest: parts.slice(i).join('/') };
}

/**
 * Every file under `dir` when the walk has nothing to skip and no symbolic link to follow, else undefined
 * (the caller asks tinyglobby). `src/**` is by far the commonest input pattern, and loading tinyglobby and
 * compiling its matchers costs more than the walk itself on the start-up path of `vnfpipe plan`.
 */
async function listPlainTree(dir: string): Promise<string[] | undefined> {
  // `/bin/busybox/**` when busybox is a file (an image step's inputs): nothing to walk, known from a stat.
  const info = statQuietly(dir);
  if (info && !info.isDirectory()) return [];
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (error) {
    // Nothing to walk (`/bin/busybox/**` when busybox is a file): nothing matches, as with tinyglobby.
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? [] : undefined;
  }
  if (entries.some((entry) => entry.isSymbolicLink())) return undefined;
  return entries.filter((entry) => !entry.isDirectory()).map((entry) => join(entry.parentPath, entry.name));
}

/** Files matching the patterns (`!` excludes), as paths relative to `cwd`, sorted. */
export async function expandGlobs(patterns: string[], cwd: string): Promise<string[]> {
  if (patterns.length === 0) return [];
  const includes = patterns.filter((p) => !p.startsWith('!'));
  const excludes = patterns.filter((p) => p.startsWith('!')).map((p) => resolve(cwd, p.slice(1)));
  const groups = new Map<string, string[]>();
  const found = new Set<string>();
  for (const pattern of includes) {
    // A plain path is looked at, not searched for: a file is taken, a directory walked.
    if (!GLOB_CHARS.test(pattern)) {
      const path = resolve(cwd, pattern);
      // Synchronous: one stat, cheaper than a turn in libuv's thread pool (the step cache asks often).
      const stats = statQuietly(path);
      if (stats?.isFile() && !excludes.includes(path)) found.add(relative(cwd, path));
      if (stats?.isDirectory()) groups.set(path, [...(groups.get(path) ?? []), '**']);
      continue;
    }
    const { base, rest } = split(pattern);
    const dir = resolve(cwd, base);
    if (dir === resolve('/')) {
      throw new VnfpipeError(
        'PIPELINE_INVALID',
        `input pattern '${pattern}' would search the whole file system`,
        {
          hint: 'name files and folders under a directory, e.g. /opt/tool/** or src/**',
        },
      );
    }
    groups.set(dir, [...(groups.get(dir) ?? []), rest]);
  }
  for (const [dir, rests] of groups) {
    const ignore = [
      // Excludes that fall under this walk, relative to it.
      ...excludes.filter((e) => e === dir || e.startsWith(dir + sep)).map((e) => relative(dir, e)),
      ...(dir === resolve(cwd) ? SKIPPED_UNLESS_NAMED : []),
    ];
    const plain = rests.includes('**') && ignore.length === 0 ? await listPlainTree(dir) : undefined;
    if (plain) {
      for (const file of plain) found.add(relative(cwd, file));
      continue;
    }
    const { glob } = await import('tinyglobby');
    const files = await glob(rests, {
      cwd: dir,
      dot: true,
      onlyFiles: true,
      ignore,
      expandDirectories: false,
    });
    for (const file of files) {
      const absolute = isAbsolute(file) ? file : join(dir, file);
      found.add(relative(cwd, absolute));
    }
  }
  return [...found].sort();
}
