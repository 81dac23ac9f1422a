/**
 * Matches packages against the vulnerability store. Distro packages are matched by *source* package and
 * source version in the distro release's ecosystem (`Debian:12`), since that is what distro advisories
 * name; language packages by their own name and version. Ranges follow the OSV evaluation rules.
 */
import { VnfpipeError } from '../errors.js';
import { normalizePythonName } from './catalog/lang.js';
import type { OsvRange, StoredAdvisory } from './db/osv.js';
import type { VulnDb } from './db/store.js';
import type { OsRelease, Package, ScanGap, VulnFinding } from './model.js';
import { type Compare, comparatorFor } from './version/index.js';

export interface MatchQuery {
  ecosystem: string;
  name: string;
  version: string;
}

/** The OSV ecosystem, name and version to look a package up by; undefined when the ecosystem is unknown. */
export function queryFor(pkg: Package, os: OsRelease | undefined): MatchQuery | { gap: string } {
  switch (pkg.type) {
    case 'deb': {
      const source = pkg.source ?? { name: pkg.name, version: pkg.version };
      if (os?.id === 'debian' && os.versionId) {
        return {
          ecosystem: `Debian:${os.versionId.split('.')[0]}`,
          name: source.name,
          version: source.version,
        };
      }
      return {
        gap: `no vulnerability matching for deb packages on ${os?.prettyName ?? os?.id ?? 'an unknown distribution'} yet`,
      };
    }
    case 'apk': {
      const source = pkg.source ?? { name: pkg.name, version: pkg.version };
      const release = /^(\d+)\.(\d+)/.exec(os?.versionId ?? '');
      if (os?.id === 'alpine' && release) {
        return {
          ecosystem: `Alpine:v${release[1]}.${release[2]}`,
          name: source.name,
          version: source.version,
        };
      }
      return {
        gap: `no vulnerability matching for apk packages on ${os?.id ?? 'an unknown distribution'} yet`,
      };
    }
    case 'rpm':
      return { gap: 'no vulnerability matching for rpm packages yet' };
    case 'npm':
      return { ecosystem: 'npm', name: pkg.name, version: pkg.version };
    case 'pypi':
      return { ecosystem: 'PyPI', name: normalizePythonName(pkg.name), version: pkg.version };
    case 'golang':
      return { ecosystem: 'Go', name: pkg.name, version: pkg.version };
  }
}

export interface RangeVerdict {
  affected: boolean;
  /** The lowest fixed version above the package's version, when the range has one. */
  fixed?: string;
}

function eventVersion(e: OsvRange['events'][number]): string {
  return 'introduced' in e
    ? e.introduced
    : 'fixed' in e
      ? e.fixed
      : 'last_affected' in e
        ? e.last_affected
        : e.limit;
}

/** Evaluates one range: walk the events in version order, toggling "affected" at each boundary ≤ version. */
export function evaluateRange(range: OsvRange, version: string, compare: Compare): RangeVerdict {
  const events = [...range.events].sort((a, b) => {
    const va = eventVersion(a);
    const vb = eventVersion(b);
    if ('introduced' in a && va === '0') return 'introduced' in b && vb === '0' ? 0 : -1;
    if ('introduced' in b && vb === '0') return 1;
    return compare(va, vb);
  });
  let affected = false;
  let fixed: string | undefined;
  for (const e of events) {
    if ('introduced' in e) {
      if (e.introduced === '0' || compare(version, e.introduced) >= 0) affected = true;
    } else if ('fixed' in e) {
      if (compare(version, e.fixed) >= 0) affected = false;
      else if (affected && fixed === undefined) fixed = e.fixed;
    } else if ('last_affected' in e) {
      if (compare(version, e.last_affected) > 0) affected = false;
    } else if (compare(version, e.limit) >= 0) affected = false;
    // Once the version lies below a boundary nothing later can turn it on again before the next introduced.
  }
  return affected ? (fixed === undefined ? { affected } : { affected, fixed }) : { affected: false };
}

export function isAffected(advisory: StoredAdvisory, version: string, compare: Compare): RangeVerdict {
  if (advisory.versions?.includes(version)) return { affected: true };
  let best: RangeVerdict = { affected: false };
  for (const range of advisory.ranges) {
    const verdict = evaluateRange(range, version, compare);
    if (!verdict.affected) continue;
    if (!best.affected || (verdict.fixed && (!best.fixed || compare(verdict.fixed, best.fixed) < 0)))
      best = verdict;
  }
  return best;
}

export interface MatchResult {
  findings: VulnFinding[];
  gaps: ScanGap[];
}

/** Matches every package; a package whose ecosystem the database lacks is a gap (the scan is partial). */
export async function matchPackages(
  packages: Package[],
  os: OsRelease | undefined,
  db: VulnDb,
): Promise<MatchResult> {
  const findings: VulnFinding[] = [];
  const gaps = new Map<string, ScanGap>();
  for (const pkg of packages) {
    const query = queryFor(pkg, os);
    if ('gap' in query) {
      gaps.set(query.gap, { what: query.gap, where: pkg.foundIn });
      continue;
    }
    const compare = comparatorFor(query.ecosystem);
    if (!compare) throw new VnfpipeError('USAGE', `no version comparator for ${query.ecosystem}`);
    if (!db.has(query.ecosystem)) {
      const what = `the vulnerability database has no ${query.ecosystem} advisories`;
      gaps.set(what, { what, where: db.dir });
      continue;
    }
    const seen: VulnFinding[] = [];
    for (const advisory of await db.lookup(query.ecosystem, query.name)) {
      const verdict = isAffected(advisory, query.version, compare);
      if (!verdict.affected) continue;
      // One advisory per vulnerability: a record whose id or aliases overlap an earlier one is merged.
      const keys = new Set([advisory.id, ...advisory.aliases]);
      const twin = seen.find((f) => keys.has(f.id) || f.aliases.some((a) => keys.has(a)));
      if (twin) {
        for (const k of keys) if (k !== twin.id && !twin.aliases.includes(k)) twin.aliases.push(k);
        continue;
      }
      const finding: VulnFinding = {
        id: advisory.id,
        aliases: [...advisory.aliases],
        summary: advisory.summary,
        severity: advisory.severity,
        status: verdict.fixed ? 'fixed' : 'unfixed',
        package: { name: pkg.name, version: pkg.version, type: pkg.type, purl: pkg.purl },
        ecosystem: query.ecosystem,
        layer: pkg.layer,
        layerDigest: pkg.layerDigest,
      };
      if (verdict.fixed) finding.fixedVersion = verdict.fixed;
      if (pkg.source && (pkg.source.name !== pkg.name || pkg.source.version !== pkg.version)) {
        finding.package.source = `${pkg.source.name}@${pkg.source.version}`;
      }
      seen.push(finding);
    }
    findings.push(...seen);
  }
  return { findings, gaps: [...gaps.values()] };
}
