/**
 * Path matching with `.dockerignore` semantics: patterns are relative to a root (a leading `/` is dropped),
 * `*` and `?` stay within one path segment, `[...]` is a character class (`[!...]`/`[^...]` negate), `**`
 * spans any number of segments, `\` escapes, and `!pattern` re-includes. A pattern also matches everything
 * under a directory it matches. The last pattern that matches a path decides.
 */

interface CompiledPattern {
  source: string;
  negated: boolean;
  regex: RegExp;
}

export interface PathMatcher {
  /** True when the last matching pattern (checked against the path and its parents) is not negated. */
  matches(relativePath: string): boolean;
  /** True when some `!` pattern might re-include a path below an excluded directory. */
  readonly hasNegations: boolean;
  readonly patterns: readonly string[];
}

/** Splits a .dockerignore file into patterns (comments and blank lines dropped). */
export function parseIgnoreFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function cleanPath(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

function escapeRegex(ch: string): string {
  return /[\\^$.*+?()[\]{}|-]/.test(ch) ? `\\${ch}` : ch;
}

/** Translates one glob (already cleaned) to an anchored regular expression. */
function globToRegex(glob: string): RegExp {
  let re = '';
  let i = 0;
  while (i < glob.length) {
    const ch = glob[i]!;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        const atStart = i === 0 || glob[i - 1] === '/';
        const atEnd = i + 2 === glob.length;
        const beforeSlash = glob[i + 2] === '/';
        if (atStart && beforeSlash) {
          re += '(?:.*/)?'; // `**/`: zero or more whole directories
          i += 3;
          continue;
        }
        if (atStart && atEnd) {
          re += '.*';
          i += 2;
          continue;
        }
        re += '.*';
        i += 2;
        continue;
      }
      re += '[^/]*';
      i++;
    } else if (ch === '?') {
      re += '[^/]';
      i++;
    } else if (ch === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close === -1) {
        re += '\\[';
        i++;
        continue;
      }
      let body = glob.slice(i + 1, close);
      let negate = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        negate = true;
        body = body.slice(1);
      }
      const cls = body.replace(/\\(.)/g, '$1').replace(/[\\\]^]/g, (c) => `\\${c}`);
      re += negate ? `[^/${cls}]` : `(?!/)[${cls}]`;
      i = close + 1;
    } else if (ch === '\\' && i + 1 < glob.length) {
      re += escapeRegex(glob[i + 1]!);
      i += 2;
    } else {
      re += escapeRegex(ch);
      i++;
    }
  }
  // `dir/**` also matches `dir` itself, as in docker.
  if (re.endsWith('/.*')) re = `${re.slice(0, -3)}(?:/.*)?`;
  return new RegExp(`^${re}$`);
}

function compile(pattern: string): CompiledPattern | undefined {
  let text = pattern.trim();
  let negated = false;
  if (text.startsWith('!')) {
    negated = true;
    text = text.slice(1).trim();
  }
  const cleaned = cleanPath(text);
  if (cleaned === '') return undefined;
  return { source: pattern, negated, regex: globToRegex(cleaned) };
}

/** Every prefix of `a/b/c`: `a`, `a/b`, `a/b/c`. */
function pathAndParents(path: string): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 1; i <= parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

export function createMatcher(patterns: readonly string[]): PathMatcher {
  const compiled = patterns.map(compile).filter((p): p is CompiledPattern => p !== undefined);
  return {
    patterns,
    hasNegations: compiled.some((p) => p.negated),
    matches(relativePath: string): boolean {
      const path = cleanPath(relativePath);
      if (path === '') return false;
      const candidates = pathAndParents(path);
      let matched = false;
      for (const pattern of compiled) {
        if (matched === !pattern.negated) continue; // this pattern cannot change the outcome
        if (candidates.some((candidate) => pattern.regex.test(candidate))) matched = !pattern.negated;
      }
      return matched;
    },
  };
}
