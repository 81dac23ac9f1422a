/**
 * The source revision the step cache of `attest` keys on, read from git's files: it must be what
 * `git rev-parse HEAD` says, for loose refs, packed refs, a detached HEAD and a linked worktree.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sourceRevision } from '../../src/trust/revision.js';

const tmp = mkdtempSync(join(tmpdir(), 'vnfpipe-revision-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const git = (repo: string, ...args: string[]) =>
  execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.test', ...args], {
    encoding: 'utf8',
    stdio: 'pipe',
  }).trim();

describe('sourceRevision', () => {
  it('is what git says, however the checkout keeps its refs', async () => {
    const repo = join(tmp, 'repo');
    execFileSync('git', ['init', '-q', repo]);
    writeFileSync(join(repo, 'a.txt'), 'one\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'one');
    // A sub-folder of the checkout, as a project inside a repository.
    execFileSync('mkdir', ['-p', join(repo, 'sub', 'dir')]);
    expect(await sourceRevision(join(repo, 'sub', 'dir'), {})).toBe(git(repo, 'rev-parse', 'HEAD'));

    writeFileSync(join(repo, 'a.txt'), 'two\n');
    git(repo, 'commit', '-qam', 'two');
    git(repo, 'pack-refs', '--all');
    expect(await sourceRevision(repo, {})).toBe(git(repo, 'rev-parse', 'HEAD'));

    const worktree = join(tmp, 'worktree');
    git(repo, 'worktree', 'add', '-q', '-b', 'side', worktree);
    writeFileSync(join(worktree, 'a.txt'), 'three\n');
    git(worktree, 'commit', '-qam', 'three');
    expect(await sourceRevision(worktree, {})).toBe(git(worktree, 'rev-parse', 'HEAD'));
    expect(await sourceRevision(worktree, {})).not.toBe(git(repo, 'rev-parse', 'HEAD'));

    git(repo, 'checkout', '-q', '--detach', 'HEAD~1');
    expect(await sourceRevision(repo, {})).toBe(git(repo, 'rev-parse', 'HEAD'));
  });

  it('takes CI variables first, and is undefined outside git', async () => {
    expect(await sourceRevision(tmp, { GITHUB_REPOSITORY: 'acme/vfw', GITHUB_SHA: 'b'.repeat(40) })).toBe(
      `acme/vfw@${'b'.repeat(40)}`,
    );
    const outside = mkdtempSync(join(tmpdir(), 'vnfpipe-no-git-'));
    try {
      expect(await sourceRevision(outside, {})).toBeUndefined();
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
