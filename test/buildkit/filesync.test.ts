/** The STAT sequence FileSync sends: order, Go mode bits, dockerignore exclusion with re-inclusion. */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listEntries } from '../../src/buildkit/filesync.js';

function tree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-bk-fs-'));
  for (const path of [
    'a/x.txt',
    'a/y.log',
    'a.txt',
    'B',
    'logs/keep.log',
    'logs/drop.log',
    'node_modules/m/i.js',
  ]) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), path);
  }
  symlinkSync('a.txt', join(dir, 'link'));
  return dir;
}

describe('FileSync listing', () => {
  it('walks byte-sorted per directory, directories before their children, with Go mode bits', async () => {
    const entries = await listEntries(tree());
    expect(entries.map((e) => e.stat.path)).toEqual([
      'B',
      'a',
      'a/x.txt',
      'a/y.log',
      'a.txt',
      'link',
      'logs',
      'logs/drop.log',
      'logs/keep.log',
      'node_modules',
      'node_modules/m',
      'node_modules/m/i.js',
    ]);
    const byPath = new Map(entries.map((e) => [e.stat.path, e.stat]));
    expect(byPath.get('a')!.mode >>> 31).toBe(1);
    expect((byPath.get('link')!.mode & 0x08000000) !== 0).toBe(true);
    expect(byPath.get('link')!.linkname).toBe('a.txt');
    expect(byPath.get('a.txt')!.size).toBe(5);
    expect(byPath.get('a.txt')!.modTime > 1_000_000_000_000_000_000n).toBe(true);
  });

  it('applies exclude patterns with ! re-inclusion, and include patterns', async () => {
    const dir = tree();
    const excluded = await listEntries(dir, { exclude: ['node_modules', '**/*.log', '!logs/keep.log'] });
    expect(excluded.map((e) => e.stat.path)).toEqual([
      'B',
      'a',
      'a/x.txt',
      'a.txt',
      'link',
      'logs',
      'logs/keep.log',
    ]);
    const included = await listEntries(dir, { include: ['Dockerfile', 'a/x.txt'] });
    expect(included.map((e) => e.stat.path)).toEqual(['a', 'a/x.txt']);
  });

  it('finds include patterns with globs at any depth while skipping directories they cannot reach', async () => {
    const dir = tree();
    const globbed = await listEntries(dir, { include: ['logs/k*.log', '**/i.js'] });
    expect(globbed.map((e) => e.stat.path)).toEqual([
      'logs',
      'logs/keep.log',
      'node_modules',
      'node_modules/m',
      'node_modules/m/i.js',
    ]);
    const whole = await listEntries(dir, { followPaths: ['node_modules'] });
    expect(whole.map((e) => e.stat.path)).toEqual(['node_modules', 'node_modules/m', 'node_modules/m/i.js']);
  });
});
