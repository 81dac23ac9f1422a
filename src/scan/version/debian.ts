/**
 * Debian version comparison, as Debian Policy §5.6.12 defines it and dpkg implements it:
 * `[epoch:]upstream[-revision]`, compared part by part, each part as alternating runs of non-digits
 * (compared character by character, `~` before everything, letters before other characters) and digits
 * (compared as numbers of any length).
 */

export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/** Splits a version; lenient like dpkg's comparison (which warns but still compares odd versions). */
export function parseDebianVersion(text: string): DebianVersion {
  const version = text.trim();
  let epoch = 0;
  let rest = version;
  const colon = version.indexOf(':');
  if (colon !== -1 && /^\d+$/.test(version.slice(0, colon))) {
    epoch = Number(version.slice(0, colon));
    rest = version.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  return dash === -1
    ? { epoch, upstream: rest, revision: '' }
    : { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** Sort weight of one character in a non-digit run (0 stands for the end of the run). */
function weight(code: number | undefined): number {
  if (code === undefined || isDigit(code)) return 0;
  if (code === 126) return -1; // '~' sorts before anything, even the end
  if (isLetter(code)) return code;
  return code + 256;
}

function comparePart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit run.
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const wa = weight(i < a.length ? a.charCodeAt(i) : undefined);
      const wb = weight(j < b.length ? b.charCodeAt(j) : undefined);
      if (wa !== wb) return wa < wb ? -1 : 1;
      i++;
      j++;
    }
    // Digit run, compared as numbers without overflow: skip leading zeros, then length, then digits.
    while (a.charCodeAt(i) === 48) i++;
    while (b.charCodeAt(j) === 48) j++;
    const si = i;
    const sj = j;
    while (i < a.length && isDigit(a.charCodeAt(i))) i++;
    while (j < b.length && isDigit(b.charCodeAt(j))) j++;
    const la = i - si;
    const lb = j - sj;
    if (la !== lb) return la < lb ? -1 : 1;
    for (let k = 0; k < la; k++) {
      const d = a.charCodeAt(si + k) - b.charCodeAt(sj + k);
      if (d !== 0) return d < 0 ? -1 : 1;
    }
  }
  return 0;
}

/** Three-way comparison of two Debian versions: -1, 0 or 1. */
export function compareDebianVersions(a: string, b: string): number {
  if (a === b) return 0;
  const va = parseDebianVersion(a);
  const vb = parseDebianVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  return comparePart(va.upstream, vb.upstream) || comparePart(va.revision, vb.revision);
}
