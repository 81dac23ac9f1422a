/**
 * PEP 440 version ordering: epoch, release segments (zero-padded), pre-releases (a < b < rc), post- and
 * dev-releases, local versions. Versions that do not parse sort by plain string, after valid ones.
 */
interface Pep440 {
  epoch: number;
  release: number[];
  pre: [number, number] | undefined; // [0 a | 1 b | 2 rc, n]
  post: number | undefined;
  dev: number | undefined;
  local: string[];
}

const RE =
  /^v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d*))?(?:[-_.]?(dev)[-_.]?(\d*))?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$/;

export function parsePep440(text: string): Pep440 | undefined {
  const m = RE.exec(text.trim().toLowerCase());
  if (!m) return undefined;
  const preKind = m[3];
  return {
    epoch: m[1] ? Number(m[1]) : 0,
    release: m[2]!.split('.').map(Number),
    pre: preKind
      ? [preKind.startsWith('a') ? 0 : preKind.startsWith('b') ? 1 : 2, m[4] ? Number(m[4]) : 0]
      : undefined,
    post: m[5] !== undefined ? Number(m[5]) : m[6] ? (m[7] ? Number(m[7]) : 0) : undefined,
    dev: m[8] ? (m[9] ? Number(m[9]) : 0) : undefined,
    local: m[10] ? m[10].split(/[-_.]/) : [],
  };
}

function cmp(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function comparePep440(a: string, b: string): number {
  const x = parsePep440(a);
  const y = parsePep440(b);
  if (!x || !y) return x ? -1 : y ? 1 : a < b ? -1 : a > b ? 1 : 0;
  if (x.epoch !== y.epoch) return cmp(x.epoch, y.epoch);
  const n = Math.max(x.release.length, y.release.length);
  for (let i = 0; i < n; i++) {
    const d = cmp(x.release[i] ?? 0, y.release[i] ?? 0);
    if (d) return d;
  }
  // Pre-release key: a dev-only release (1.0.dev1) sorts before its pre-releases; a final release after them.
  const preKey = (v: Pep440): [number, number] =>
    v.pre ? [v.pre[0], v.pre[1]] : v.dev !== undefined && v.post === undefined ? [-1, 0] : [3, 0];
  const [pa, pn] = preKey(x);
  const [qa, qn] = preKey(y);
  if (pa !== qa) return cmp(pa, qa);
  if (pn !== qn) return cmp(pn, qn);
  const postA = x.post ?? -1;
  const postB = y.post ?? -1;
  if (postA !== postB) return cmp(postA, postB);
  const devA = x.dev ?? Number.POSITIVE_INFINITY;
  const devB = y.dev ?? Number.POSITIVE_INFINITY;
  if (devA !== devB) return cmp(devA, devB);
  const m = Math.max(x.local.length, y.local.length);
  for (let i = 0; i < m; i++) {
    const la = x.local[i];
    const lb = y.local[i];
    if (la === undefined || lb === undefined) return la === undefined ? -1 : 1;
    const na = /^\d+$/.test(la);
    const nb = /^\d+$/.test(lb);
    if (na && nb) {
      const d = cmp(Number(la), Number(lb));
      if (d) return d;
    } else if (na !== nb) return na ? 1 : -1;
    else if (la !== lb) return la < lb ? -1 : 1;
  }
  return 0;
}
