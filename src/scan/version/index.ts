/** The version comparator for each OSV ecosystem family. */
import semver from 'semver';
import { compareApkVersions } from './apk.js';
import { compareDebianVersions } from './debian.js';
import { comparePep440 } from './pep440.js';
import { compareRpmVersions } from './rpm.js';

export type Compare = (a: string, b: string) => number;

function compareSemver(a: string, b: string): number {
  const x = semver.valid(a.replace(/^v/, ''), { loose: true });
  const y = semver.valid(b.replace(/^v/, ''), { loose: true });
  if (x && y) return semver.compare(x, y, { loose: true });
  // Go pseudo-versions and odd npm versions: compare what can be coerced, else as strings.
  const cx = semver.coerce(a, { includePrerelease: true });
  const cy = semver.coerce(b, { includePrerelease: true });
  if (cx && cy && semver.compare(cx, cy) !== 0) return semver.compare(cx, cy);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The comparator for an OSV ecosystem (`Debian:12` → Debian rules), or undefined when unsupported. */
export function comparatorFor(ecosystem: string): Compare | undefined {
  const family = ecosystem.split(':')[0];
  switch (family) {
    case 'Debian':
    case 'Ubuntu':
      return compareDebianVersions;
    case 'Alpine':
      return compareApkVersions;
    case 'Red Hat':
    case 'AlmaLinux':
    case 'Rocky Linux':
    case 'openSUSE':
    case 'SUSE':
      return compareRpmVersions;
    case 'npm':
    case 'Go':
      return compareSemver;
    case 'PyPI':
      return comparePep440;
    default:
      return undefined;
  }
}
