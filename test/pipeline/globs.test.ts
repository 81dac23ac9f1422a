import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandGlobs } from '../../src/pipeline/globs.js';

function tree(files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'vnfpipe-globs-'));
  for (const file of files) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), file);
  }
  return dir;
}

describe('expandGlobs', () => {
  it('matches, excludes, and skips state folders unless a pattern names them', async () => {
    const dir = tree([
      'src/a.c',
      'src/b.h',
      'src/docs/x.md',
      '.vnfpipe/out/bin',
      'node_modules/m/i.js',
      'top.txt',
    ]);
    expect(await expandGlobs(['src/**', '!src/docs/**'], dir)).toEqual(['src/a.c', 'src/b.h']);
    expect(await expandGlobs(['**'], dir)).toEqual(['src/a.c', 'src/b.h', 'src/docs/x.md', 'top.txt']);
    expect(await expandGlobs(['.vnfpipe/out/bin'], dir)).toEqual(['.vnfpipe/out/bin']);
    expect(await expandGlobs(['src/*.c', 'top.txt'], dir)).toEqual(['src/a.c', 'top.txt']);
  });

  it('takes absolute paths outside the project without walking the file system', async () => {
    const outside = tree(['tool/bin']);
    const project = tree(['a']);
    expect(await expandGlobs([join(outside, 'tool/bin')], project)).toEqual([
      join('..', outside.split('/').pop()!, 'tool/bin'),
    ]);
  });
});

describe('expandGlobs limits', () => {
  it('refuses a pattern that would search the whole file system', async () => {
    await expect(expandGlobs(['/**/*.conf'], tree(['a']))).rejects.toThrow(
      /would search the whole file system/,
    );
  });
});
