/** The scanner's data model: packages found in an image, vulnerability findings, check findings. */

export type PackageType = 'deb' | 'apk' | 'rpm' | 'npm' | 'pypi' | 'golang';

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Rank for thresholds: higher is worse. */
export const SEVERITY_RANK: Record<Severity, number> = {
  critical: 4,
  high: 3,
  medium: 2,
  low: 1,
  unknown: 0,
};

export interface OsRelease {
  /** `debian`, `alpine`, `ubuntu`, … */
  id: string;
  /** `12`, `3.19.1` */
  versionId: string | undefined;
  versionCodename: string | undefined;
  prettyName: string | undefined;
}

export interface Package {
  type: PackageType;
  name: string;
  version: string;
  /** Package URL (purl spec). */
  purl: string;
  arch?: string;
  /** The source package (dpkg Source, apk origin, rpm source rpm) when it differs or is known. */
  source?: { name: string; version: string };
  licenses?: string[];
  /** Where the cataloger found it (the database file or manifest). */
  foundIn: string;
  /** Index and digest of the layer that added it. */
  layer: number;
  layerDigest: string;
}

export type FindingStatus = 'fixed' | 'unfixed';

export interface VulnFinding {
  id: string;
  aliases: string[];
  summary: string;
  severity: Severity;
  /** `fixed`: a fixed version exists (upgrade to it); `unfixed`: the distro has no fix yet. */
  status: FindingStatus;
  fixedVersion?: string;
  package: { name: string; version: string; type: PackageType; purl: string; source?: string };
  /** The OSV ecosystem the record came from (`Debian:12`, `npm`). */
  ecosystem: string;
  layer: number;
  layerDigest: string;
  /** Set when a policy rule or VEX statement suppressed it (it no longer counts for the gate). */
  suppressed?: { by: 'ignore' | 'vex'; reason: string };
}

export type CheckId =
  | 'root-user'
  | 'setuid'
  | 'setgid'
  | 'world-writable'
  | 'private-key'
  | 'secret-token'
  | 'no-healthcheck'
  | 'latest-tag'
  | 'oversized';

export interface CheckFinding {
  id: CheckId;
  severity: Severity;
  message: string;
  path?: string;
  layer?: number;
  layerDigest?: string;
  /** For secrets: true when a later layer deleted the file (it is still in the image's blobs). */
  deleted?: boolean;
  suppressed?: { by: 'ignore'; reason: string };
}

/** Something the scan could not cover. Any notice makes the scan partial (exit 2, never 0). */
export interface ScanGap {
  what: string;
  where?: string;
}
