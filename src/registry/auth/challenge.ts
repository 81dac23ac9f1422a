/**
 * `WWW-Authenticate` challenges (RFC 7235): `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
 * A header may hold several challenges; parameter values are tokens or quoted strings with `\` escapes.
 */
export interface Challenge {
  /** Lower-case scheme: `basic`, `bearer`, … */
  scheme: string;
  /** Parameters with lower-case names. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

export function parseChallenges(header: string | undefined): Challenge[] {
  if (!header) return [];
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const readToken = () => {
    const start = i;
    while (i < n && TOKEN.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  const readQuoted = () => {
    let value = '';
    i++; // opening quote
    while (i < n && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < n) i++;
      value += header[i];
      i++;
    }
    i++; // closing quote
    return value;
  };
  while (i < n) {
    skipSpace();
    while (i < n && header[i] === ',') i++;
    skipSpace();
    const scheme = readToken();
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      skipSpace();
      const mark = i;
      const name = readToken();
      skipSpace();
      if (!name || header[i] !== '=') {
        // Not a parameter: the start of the next challenge (or token68 data, which we do not use).
        i = mark;
        if (name && header[i] !== ',') {
          i += name.length;
          skipSpace();
        }
        break;
      }
      i++;
      skipSpace();
      challenge.params[name.toLowerCase()] = header[i] === '"' ? readQuoted() : readToken();
      skipSpace();
      if (header[i] !== ',') break;
      i++;
      // A comma may end this challenge's parameters: peek whether a `name=` follows.
      const save = i;
      skipSpace();
      readToken();
      skipSpace();
      const isParam = header[i] === '=';
      i = save;
      if (!isParam) break;
    }
  }
  return out;
}
