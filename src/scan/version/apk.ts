/**
 * Alpine (apk) version ordering, following apk-tools' rules: dotted numbers, an optional letter, suffixes
 * (`_alpha` < `_beta` < `_pre` < `_rc` < none < `_cvs` < `_svn` < `_git` < `_hg` < `_p`), then `-rN`.
 * No apk oracle runs on Debian, so this one is tested on written cases only.
 */
const SUFFIX_ORDER: Record<string, number> = {
  alpha: -4,
  beta: -3,
  pre: -2,
  rc: -1,
  cvs: 1,
  svn: 2,
  git: 3,
  hg: 4,
  p: 5,
};

interface ApkVersion {
  numbers: string[];
  letter: string;
  suffixes: Array<[number, number]>;
  revision: number;
}

function parse(text: string): ApkVersion | undefined {
  const m =
    /^(\d+(?:\.\d+)*)([a-z]?)((?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*)(?:~[0-9a-f]+)?(?:-r(\d+))?$/.exec(
      text.trim(),
    );
  if (!m) return undefined;
  const suffixes: Array<[number, number]> = [];
  for (const s of (m[3] ?? '').split('_').filter(Boolean)) {
    const sm = /^([a-z]+)(\d*)$/.exec(s)!;
    suffixes.push([SUFFIX_ORDER[sm[1]!]!, sm[2] ? Number(sm[2]) : 0]);
  }
  return { numbers: m[1]!.split('.'), letter: m[2] ?? '', suffixes, revision: m[4] ? Number(m[4]) : 0 };
}

function cmpNum(a: string, b: string, fractional: boolean): number {
  // apk compares later components with leading zeros as fractions ("1.01" < "1.1").
  if (fractional && (a.startsWith('0') || b.startsWith('0'))) return a < b ? -1 : a > b ? 1 : 0;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function compareApkVersions(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return x ? 1 : y ? -1 : a < b ? -1 : a > b ? 1 : 0;
  const n = Math.max(x.numbers.length, y.numbers.length);
  for (let i = 0; i < n; i++) {
    const p = x.numbers[i];
    const q = y.numbers[i];
    if (p === undefined || q === undefined) return p === undefined ? -1 : 1;
    const d = cmpNum(p, q, i > 0);
    if (d) return d;
  }
  if (x.letter !== y.letter) return x.letter < y.letter ? -1 : 1;
  const m = Math.max(x.suffixes.length, y.suffixes.length);
  for (let i = 0; i < m; i++) {
    const [ka, na] = x.suffixes[i] ?? [0, 0];
    const [kb, nb] = y.suffixes[i] ?? [0, 0];
    if (ka !== kb) return ka < kb ? -1 : 1;
    if (na !== nb) return na < nb ? -1 : 1;
  }
  return x.revision < y.revision ? -1 : x.revision > y.revision ? 1 : 0;
}
