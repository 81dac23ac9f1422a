import { describe, expect, it } from 'vitest';
import { createMatcher, parseIgnoreFile } from '../../src/image/dockerignore.js';

describe('dockerignore matcher', () => {
  const cases: Array<[string[], string, boolean]> = [
    [['*.md'], 'README.md', true],
    [['*.md'], 'docs/a.md', false],
    [['**/*.md'], 'docs/a.md', true],
    [['**/*.md'], 'a.md', true],
    [['docs'], 'docs/x/y', true],
    [['/docs'], 'docs/y', true],
    [['./docs/'], 'docs/y', true],
    [['docs/**'], 'docs', true],
    [['docs/**'], 'docsx', false],
    [['a', '!a/keep'], 'a/keep', false],
    [['a', '!a/keep'], 'a/keep/deeper', false],
    [['a', '!a/keep'], 'a/drop', true],
    [['a', '!a/keep', 'a/keep/no'], 'a/keep/no', true],
    [['f?le'], 'file', true],
    [['f?le'], 'f/le', false],
    [['[a-c]x'], 'bx', true],
    [['[!a-c]x'], 'bx', false],
    [['[^a-c]x'], 'dx', true],
    [['[!a-c]x'], '/x', false],
    [['a/**/b'], 'a/b', true],
    [['a/**/b'], 'a/x/y/b', true],
    [['a/**/b'], 'a/x/y/c', false],
    [['\\*x'], '*x', true],
    [['\\*x'], 'ax', false],
    [['*'], 'a/b', true],
    [['*/x'], 'a/x', true],
    [['*/x'], 'a/b/x', false],
    [['**'], 'anything/at/all', true],
    [['a.b'], 'axb', false],
    [['!x'], 'x', false],
    [[], 'x', false],
  ];
  for (const [patterns, path, expected] of cases) {
    it(`${JSON.stringify(patterns)} ${expected ? 'matches' : 'does not match'} ${path}`, () => {
      expect(createMatcher(patterns).matches(path)).toBe(expected);
    });
  }

  it('parses ignore files: comments, blanks, whitespace', () => {
    expect(parseIgnoreFile('# c\n\n  node_modules \r\n!keep\n')).toEqual(['node_modules', '!keep']);
  });

  it('reports negations so walkers know when an excluded dir must still be entered', () => {
    expect(createMatcher(['a']).hasNegations).toBe(false);
    expect(createMatcher(['a', '!a/b']).hasNegations).toBe(true);
  });
});
