/**
 * The scanner's library API. Every function loads its implementation on first call, so re-exporting these
 * from the package index costs nothing at start-up (`vnfpipe plan` stays fast).
 */
import type { DbMeta, ImportResult } from './db/store.js';
import type { RunScanOptions, ScanOutcome } from './run.js';
import type { ScanOptions, ScanResult } from './scanner.js';

export type { DbMeta, ImportResult } from './db/store.js';
export type {
  CheckFinding,
  CheckId,
  OsRelease,
  Package,
  PackageType,
  ScanGap,
  Severity,
  VulnFinding,
} from './model.js';
export type { FailOn, IgnoreRule, PolicyResult, VexStatement } from './policy.js';
export type { ReportFormat, ReportTarget, RunScanOptions, ScanOutcome } from './run.js';
export type { ScanOptions, ScanResult } from './scanner.js';
export type { ScanStepOptions } from './step.js';
export { scan } from './step.js';

/** Scans an image, applies the policy, writes reports; `exitCode` is 0 clean, 1 policy failed, 2 incomplete. */
export async function runScan(options: RunScanOptions): Promise<ScanOutcome> {
  return (await import('./run.js')).runScan(options);
}

/** Catalogue, checks and (with a database) vulnerabilities of `oci:<dir>[:ref]`, without a policy. */
export async function scanImage(ref: string, options: ScanOptions = {}): Promise<ScanResult> {
  return (await import('./scanner.js')).scanImage(ref, options);
}

/** Imports OSV records (directories, `all.zip` exports, JSON files) into the database at `dir`. */
export async function importOsv(dir: string, sources: string[]): Promise<ImportResult> {
  return (await import('./db/store.js')).importOsv(dir, sources);
}

export async function readVulnDbMeta(dir: string): Promise<DbMeta | undefined> {
  return (await import('./db/store.js')).readDbMeta(dir);
}
